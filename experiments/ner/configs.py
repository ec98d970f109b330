"""Named-entity recognition configs: ``get_config(variant)``, big_vision style.

    python -m rnnjax.data prepare --corpus=ner_conll2003
    python -m experiments.ner --config=experiments/ner/configs.py:bilstm_crf --workdir=DIR

Each row variant (``ROWS``) is one row of the table in experiments/ner/README.md: trained on the
CoNLL-2003 English training set, early-stopped on testa (valid), tested on testb (test), over
``seeds`` seeds (mean ± std of the entity-level F1). Without ``--config`` the ``default`` variant
runs: the BiLSTM-CRF, one seed, 3 epochs. Any field can be overridden, e.g.
``--config.model.hidden_size=200``; a CoNLL file of your own: ``--config.data.path=FILE`` with
``--config.data.tag_column=N`` (and optionally ``--config.data.valid`` / ``--config.data.test``).
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

ROWS = ("bilstm_softmax", "bilstm_crf", "bilstm_crf_charlstm", "bilstm_crf_charcnn",
        "bilstm_crf_charlstm_glove")
VARIANTS = ("default", *ROWS, "quick")


def base() -> ml_collections.ConfigDict:
    """Fields shared by every variant: a 1 x 100 BiLSTM-CRF over 50-d random word embeddings;
    an epoch is a pass over the training sentences, patience counts on the valid F1."""
    c = run_config("bilstm_crf", seeds=3, num_epochs=20, patience=4, log_every_steps=100,
                   checkpoint_every_steps=500)

    c.data = ml_collections.ConfigDict()
    c.data.corpus = "ner_conll2003"  # a prepared corpus (rnnjax.data.ner.NER_CORPORA)
    c.data.path = config_dict.placeholder(str)  # a CoNLL file of yours instead of the corpus
    c.data.valid = config_dict.placeholder(str)  # with data.path: valid file (None: cut)
    c.data.test = config_dict.placeholder(str)  # with data.path: test file (None: cut)
    c.data.data_dir = config_dict.placeholder(str)  # prepared corpora (default ~/.cache/rnnjax)
    c.data.word_column = 0  # data.path: 0-based column of the word
    c.data.tag_column = 1  # data.path: 0-based column of the entity tag (CoNLL-2003 files: 3)
    c.data.source_scheme = ""  # data.path: the file's tag scheme IOB1|IOB2|IOBES ("": detect)
    c.data.scheme = "IOBES"  # tags are rewritten in this scheme for training (IOB2 | IOBES)
    c.data.min_count = 2  # training words seen fewer times map to <unk>
    c.data.vectors = ""  # pretrained embeddings: "glove_6b_50d" or a vectors file ("": random)
    c.data.vectors_vocab = 0  # add the vectors' first N words to the vocabulary
    c.data.batch_size = 32  # sentences per training batch
    c.data.eval_batch_size = 128  # sentences per evaluation batch

    c.model = tagger_model_config(dropout=0.5)
    c.model.crf = True  # a linear-chain CRF over the tag scores (False: per-token softmax)
    c.model.crf_scheme = "IOBES"  # CRF transition constraints: none | IOB2 | IOBES
    with_char_features(c, "none", 25)  # Lample et al. 2016's sizes when switched on

    c.optim = optim_config(learning_rate=2e-3, clip_norm=5.0)  # clip: Lample et al. 2016's 5
    return c


def bilstm_softmax() -> ml_collections.ConfigDict:
    """BiLSTM with one softmax per token (no CRF): the first row.

    python -m experiments.ner --config=experiments/ner/configs.py:bilstm_softmax \
        --workdir=results/ner/bilstm_softmax
    """
    c = base()
    c.name = "bilstm_softmax"
    c.model.crf = False
    c.model.crf_scheme = "none"
    return c


def bilstm_crf() -> ml_collections.ConfigDict:
    """BiLSTM-CRF (Huang et al. 2015; Lample et al. 2016 without characters), IOBES tags with
    the scheme's transition constraints.

    python -m experiments.ner --config=experiments/ner/configs.py:bilstm_crf \
        --workdir=results/ner/bilstm_crf
    """
    return base()


def bilstm_crf_charlstm() -> ml_collections.ConfigDict:
    """BiLSTM-CRF with Lample et al. (2016)'s character BiLSTM (25 + 25 units).

    python -m experiments.ner --config=experiments/ner/configs.py:bilstm_crf_charlstm \
        --workdir=results/ner/bilstm_crf_charlstm
    """
    c = base()
    c.name = "bilstm_crf_charlstm"
    c.model.char_encoder = "bilstm"
    return c


def bilstm_crf_charcnn() -> ml_collections.ConfigDict:
    """BiLSTM-CRF with Ma & Hovy (2016)'s character CNN (30-d characters, 30 filters of width 3,
    dropout on the characters).

    python -m experiments.ner --config=experiments/ner/configs.py:bilstm_crf_charcnn \
        --workdir=results/ner/bilstm_crf_charcnn
    """
    c = base()
    c.name = "bilstm_crf_charcnn"
    c.model.char_encoder = "cnn"
    c.model.char_embed_size = c.model.char_size = 30
    return c


def bilstm_crf_charlstm_glove() -> ml_collections.ConfigDict:
    """The char BiLSTM row with GloVe 6B 50d word vectors (fine-tuned; a word takes the vector of
    its lowercase form) and GloVe's 100,000 most frequent words in the vocabulary.

    python -m rnnjax.data prepare --corpus=glove_6b_50d
    python -m experiments.ner --config=experiments/ner/configs.py:bilstm_crf_charlstm_glove \
        --workdir=results/ner/bilstm_crf_charlstm_glove
    """
    c = bilstm_crf_charlstm()
    c.name = "bilstm_crf_charlstm_glove"
    c.data.vectors = "glove_6b_50d"
    c.data.vectors_vocab = 100_000
    return c


def default() -> ml_collections.ConfigDict:
    """The command without --config: the BiLSTM-CRF, one seed, 3 epochs (1,317 steps of 32
    sentences) and no early stopping.

    python -m experiments.ner --workdir=/tmp/ner
    """
    c = base()
    c.name = "default"
    c.seeds = 1
    c.num_epochs = 3
    c.patience = 0
    return c


def quick() -> ml_collections.ConfigDict:
    """Smoke test (runlocal): a tiny BiLSTM-CRF with char CNN, 1 seed, 1 epoch of 3 steps.

    python -m experiments.ner --config=experiments/ner/configs.py:quick --workdir=/tmp/ner_quick
    """
    c = smoke_test(base())
    c.data.batch_size = 8
    c.model.embed_size = c.model.hidden_size = 8
    c.model.char_encoder = "cnn"
    c.model.char_embed_size = c.model.char_size = 4
    return c


def get_config(variant: str | None = None) -> ml_collections.ConfigDict:
    """The config of ``variant`` (default ``default``)."""
    return globals()[check_choice("get_config", "variant", variant or "default", VARIANTS)]()
