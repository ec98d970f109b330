"""POS-tagging configs: ``get_config(variant)``, big_vision style.

    python -m rnnjax.data prepare --corpus=pos_oanc; python -m rnnjax.data prepare --corpus=pos_wsj
    python -m experiments.tagging --config=experiments/tagging/configs.py:bilstm --workdir=DIR

Each variant is one row of the table in experiments/tagging/README.md: trained on the OANC
sample's fixed train split, early-stopped on its valid split, tested on its test split and on the
WSJ sample, over ``seeds`` seeds (mean ± std). Any field can be overridden on the command line,
e.g. ``--config.model.hidden_size=200``; a tagged file of your own: ``--config.data.corpus=FILE``
(``word/TAG`` lines or CoNLL columns, see rnnjax/data/tagged.py) and ``--config.data.ood_test=``.
Measured numbers are from a 2-core x86_64 CPU shared with other jobs.
"""

from __future__ import annotations

import ml_collections
from ml_collections import config_dict

from rnnjax.train.config import (
    optim_config,
    run_config,
    smoke_test,
    tagger_model_config,
    with_char_features,
)
from rnnjax.validation import check_choice

VARIANTS = ("bilstm", "lstm", "bilstm2", "bigru", "bilstm_glove", "bilstm_char", "bilstm_charcnn",
            "small_data", "quick")


def base() -> ml_collections.ConfigDict:
    """Fields shared by every variant: a 1 x 100 bidirectional LSTM over 50-d random embeddings;
    an epoch is a pass over the training sentences, patience counts on the valid accuracy."""
    c = run_config("bilstm", seeds=3, num_epochs=8, patience=3, log_every_steps=100,
                   checkpoint_every_steps=500)

    c.data = ml_collections.ConfigDict()
    c.data.corpus = "pos_oanc"  # a prepared corpus (pos_oanc, pos_wsj) or a tagged file
    c.data.valid = config_dict.placeholder(str)  # valid file (None: cut from corpus)
    c.data.test = config_dict.placeholder(str)  # test file (None: cut from corpus)
    c.data.ood_test = "pos_wsj"  # out-of-domain test set, a corpus or file ("": none)
    c.data.data_dir = config_dict.placeholder(str)  # prepared corpora (default ~/.cache/rnnjax)
    c.data.format = "auto"  # file format: auto | word_tag | conll
    c.data.word_column = 0  # conll: 0-based column of the word
    c.data.tag_column = 1  # conll: 0-based column of the tag (CoNLL-U: 3 UPOS, 4 XPOS)
    c.data.min_count = 2  # training words seen fewer times map to <unk>
    c.data.word_dropout = 0.0  # alpha: a training word becomes <unk> w.p. alpha/(alpha+count)
    c.data.vectors = ""  # pretrained embeddings: "glove_6b_50d" or a vectors file ("": random)
    c.data.vectors_vocab = 0  # add the vectors' first N words to the vocabulary (see train.py)
    c.data.batch_size = 32  # sentences per training batch
    c.data.eval_batch_size = 128  # sentences per evaluation batch

    c.model = tagger_model_config(dropout=0.25)

    c.optim = optim_config(learning_rate=2e-3, clip_norm=5.0)
    return c


def bilstm() -> ml_collections.ConfigDict:
    """1 x 100 bidirectional LSTM, random 50-d embeddings; the default.

    python -m experiments.tagging --workdir=results/tagging/bilstm
    Measured: results/tagging/bilstm (see results/tagging/REPORT.md).
    """
    return base()


def lstm() -> ml_collections.ConfigDict:
    """The default, unidirectional: each tag sees only the words to its left.

    python -m experiments.tagging --config=experiments/tagging/configs.py:lstm \
        --workdir=results/tagging/lstm
    Measured: results/tagging/lstm (see results/tagging/REPORT.md).
    """
    c = base()
    c.name = "lstm"
    c.model.bidirectional = False
    return c


def bilstm2() -> ml_collections.ConfigDict:
    """The default with 2 stacked bidirectional layers.

    python -m experiments.tagging --config=experiments/tagging/configs.py:bilstm2 \
        --workdir=results/tagging/bilstm2
    Measured: results/tagging/bilstm2 (see results/tagging/REPORT.md).
    """
    c = base()
    c.name = "bilstm2"
    c.model.num_layers = 2
    return c


def bigru() -> ml_collections.ConfigDict:
    """The default with GRU cells.

    python -m experiments.tagging --config=experiments/tagging/configs.py:bigru \
        --workdir=results/tagging/bigru
    Measured: results/tagging/bigru (see results/tagging/REPORT.md).
    """
    c = base()
    c.name = "bigru"
    c.model.cell = "gru"
    return c


def bilstm_glove() -> ml_collections.ConfigDict:
    """The default with GloVe 6B 50d embeddings, fine-tuned; the vocabulary also holds GloVe's
    100,000 most frequent words, so that words unseen in training keep their GloVe vectors.

    python -m rnnjax.data prepare --corpus=glove_6b_50d
    python -m experiments.tagging --config=experiments/tagging/configs.py:bilstm_glove \
        --workdir=results/tagging/bilstm_glove
    Measured: results/tagging/bilstm_glove (see results/tagging/REPORT.md).
    """
    c = base()
    c.name = "bilstm_glove"
    c.data.vectors = "glove_6b_50d"
    c.data.vectors_vocab = 100_000
    return c


def bilstm_char() -> ml_collections.ConfigDict:
    """The default with Lample et al. (2016)'s character BiLSTM (25-d characters, 25 + 25 units)
    concatenated with each word's embedding, so an unknown word is read letter by letter.

    python -m experiments.tagging --config=experiments/tagging/configs.py:bilstm_char \
        --workdir=results/tagging/bilstm_char
    Measured: results/tagging/bilstm_char (see results/tagging/REPORT.md).
    """
    c = with_char_features(base(), "bilstm", 25)
    c.name = "bilstm_char"
    return c


def bilstm_charcnn() -> ml_collections.ConfigDict:
    """The default with Ma & Hovy (2016)'s character CNN (30-d characters, 30 filters of width 3,
    max over the word's characters) concatenated with each word's embedding.

    python -m experiments.tagging --config=experiments/tagging/configs.py:bilstm_charcnn \
        --workdir=results/tagging/bilstm_charcnn
    Measured: results/tagging/bilstm_charcnn (see results/tagging/REPORT.md).
    """
    c = with_char_features(base(), "cnn", 30)
    c.name = "bilstm_charcnn"
    return c


def small_data() -> ml_collections.ConfigDict:
    """For a tagged file of a few thousand sentences: ``bilstm_charcnn`` trained up to 40 epochs
    (the best valid epoch is tested, patience 8), every training word in the vocabulary
    (``min_count`` 1) and Kiperwasser & Goldberg (2016)'s word dropout (alpha 0.25), so that
    ``<unk>`` is still trained. On 800 sentences an epoch is 25 steps: the default's 8 epochs end
    while the valid accuracy still climbs, and its ``min_count`` 2 hides the words seen once,
    which the most-frequent-tag baseline knows.

    python -m experiments.tagging --config=experiments/tagging/configs.py:small_data \
        --workdir=DIR --config.data.corpus=FILE --config.data.ood_test=
    Measured: results/tagging/user_nl_twnc_conll_small_data, user_it_wacky_small_data.
    """
    c = bilstm_charcnn()
    c.name = "small_data"
    c.num_epochs, c.patience = 40, 8
    c.data.min_count, c.data.word_dropout = 1, 0.25
    return c


def quick() -> ml_collections.ConfigDict:
    """Smoke test (runlocal): a tiny BiLSTM, 1 seed, 1 epoch of 3 steps; seconds on a CPU.

    python -m experiments.tagging --config=experiments/tagging/configs.py:quick \
        --workdir=/tmp/tagging_quick
    """
    c = smoke_test(base())
    c.data.batch_size = 8
    c.model.embed_size = c.model.hidden_size = 8
    return c


def get_config(variant: str | None = None) -> ml_collections.ConfigDict:
    """The config of ``variant`` (default ``bilstm``)."""
    return globals()[check_choice("get_config", "variant", variant or "bilstm", VARIANTS)]()
