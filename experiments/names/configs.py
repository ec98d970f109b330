"""Names-by-nationality configs: ``get_config(variant)``, big_vision style.

    python -m rnnjax.data prepare --corpus=nam_dict
    python -m experiments.names --config=experiments/names/configs.py:lstm --workdir=DIR
    python -m experiments.names.baseline --workdir=DIR   # char n-gram logistic regression
    (measured: results/names/ngram_logreg, see results/names/REPORT.md)
    python -m experiments.names --config=experiments/names/configs.py:generator --workdir=DIR
    python -m experiments.names.sample --workdir=DIR --country=Italy --start=Ma -n 10

The classifier variants are the rows of the accuracy table in experiments/names/README.md (mean ±
std over ``seeds`` seeds, early-stopped on the valid split). Your own names:
``--config.data.corpus=FILE`` (``name<TAB>category`` lines) with ``--config.data.min_names=N``.
Measured numbers are from a 2-core x86_64 CPU shared with other jobs.
"""

from __future__ import annotations

import ml_collections
from ml_collections import config_dict

from rnnjax.train.config import optim_config, run_config, smoke_test
from rnnjax.validation import check_choice

VARIANTS = ("lstm", "elman", "gru", "bilstm", "bilstm_large", "bilstm_ngrams", "generator",
            "quick", "quick_generator")


def base() -> ml_collections.ConfigDict:
    """Fields shared by every variant: a 1 x 128 char LSTM classifier; an epoch is a pass over
    the training names, patience counts on the valid accuracy."""
    c = run_config("lstm", seeds=3, num_epochs=10, patience=3, log_every_steps=100,
                   checkpoint_every_steps=1000)
    c.task = "classify"  # classify (name -> country) | generate (country -> name)

    c.data = ml_collections.ConfigDict()
    c.data.corpus = "nam_dict"  # "nam_dict" (prepared) or a name<TAB>category file
    c.data.min_names = 500  # keep the categories with at least this many names
    c.data.data_dir = config_dict.placeholder(str)  # prepared corpora (default ~/.cache/rnnjax)
    c.data.batch_size = 64  # names per training batch
    c.data.eval_batch_size = 512  # names per evaluation batch

    c.model = ml_collections.ConfigDict()
    c.model.kind = "rnn_classifier"  # rnnjax.models.RNNClassifier
    c.model.cell = "lstm"  # any rnnjax.cells.CELLS kind: lstm, gru, elman_tanh, ...
    c.model.embed_size = 32  # character embedding width
    c.model.hidden_size = 128  # units per direction per layer
    c.model.num_layers = 1  # stacked recurrent layers
    c.model.bidirectional = False  # forward and backward layers, concatenated
    c.model.pooling = "last"  # last | max | mean over the characters' outputs
    c.model.dropout = 0.1  # on embeddings, between layers and before the softmax
    c.model.impl = "auto"  # recurrence implementation, one of rnnjax.layers.IMPLS (auto: per cell)

    c.optim = optim_config(learning_rate=2e-3, clip_norm=5.0)
    return c


def lstm() -> ml_collections.ConfigDict:
    """1 x 128 char LSTM classifier; the default.

    python -m experiments.names --workdir=results/names/lstm
    Measured: results/names/lstm (see results/names/REPORT.md).
    """
    return base()


def elman() -> ml_collections.ConfigDict:
    """The default with an Elman (tanh) RNN.

    python -m experiments.names --config=experiments/names/configs.py:elman \
        --workdir=results/names/elman
    Measured: results/names/elman (see results/names/REPORT.md).
    """
    c = base()
    c.name = "elman"
    c.model.cell = "elman_tanh"
    return c


def gru() -> ml_collections.ConfigDict:
    """The default with a GRU.

    python -m experiments.names --config=experiments/names/configs.py:gru \
        --workdir=results/names/gru
    Measured: results/names/gru (see results/names/REPORT.md).
    """
    c = base()
    c.name = "gru"
    c.model.cell = "gru"
    return c


def bilstm() -> ml_collections.ConfigDict:
    """The default, bidirectional (forward end and backward start, concatenated).

    python -m experiments.names --config=experiments/names/configs.py:bilstm \
        --workdir=results/names/bilstm
    Measured: results/names/bilstm (see results/names/REPORT.md).
    """
    c = base()
    c.name = "bilstm"
    c.model.bidirectional = True
    return c


def bilstm_large() -> ml_collections.ConfigDict:
    """A wider bidirectional LSTM (1 x 256, character embedding 64, dropout 0.3), up to 25 epochs.

    python -m experiments.names --config=experiments/names/configs.py:bilstm_large \
        --workdir=results/names/bilstm_large
    Measured: results/names/bilstm_large (see results/names/REPORT.md).
    """
    c = bilstm()
    c.name = "bilstm_large"
    c.num_epochs = 25
    c.model.embed_size = 64
    c.model.hidden_size = 256
    c.model.dropout = 0.3
    return c


def bilstm_ngrams() -> ml_collections.ConfigDict:
    """``bilstm`` with a bag of hashed character 1-4-gram embeddings (the n-grams the baseline's
    features count), their mean concatenated with the BiLSTM's final states before the softmax.

    python -m experiments.names --config=experiments/names/configs.py:bilstm_ngrams \
        --workdir=results/names/bilstm_ngrams
    Measured: results/names/bilstm_ngrams (see results/names/REPORT.md).
    """
    c = bilstm()
    c.name = "bilstm_ngrams"
    c.model.ngram_order = 4  # n-grams of 1 .. 4 characters, name framed by a boundary mark
    c.model.ngram_buckets = 2**16  # hash buckets (rows of the n-gram embedding table)
    c.model.ngram_size = 32  # n-gram embedding width (their mean joins the pooled state)
    return c


def generator() -> ml_collections.ConfigDict:
    """Country-conditioned char LSTM (1 x 256) name generator, one seed.

    python -m experiments.names --config=experiments/names/configs.py:generator \
        --workdir=results/names/generator
    python -m experiments.names.sample --workdir=results/names/generator --country=Italy \
        --start=Ma --temperature=0.8 -n 10
    Measured: results/names/generator (see results/names/REPORT.md).
    """
    c = base()
    c.name = "generator"
    c.task = "generate"
    c.seeds = 1
    c.num_epochs = 15
    c.patience = 0
    c.model = ml_collections.ConfigDict()
    c.model.kind = "rnn"  # rnnjax.models.RNNLM, conditioned on the country
    c.model.cell = "lstm"  # any rnnjax.cells.CELLS kind
    c.model.embed_size = 32  # character embedding width
    c.model.condition_size = 16  # country embedding width, concatenated at every step
    c.model.hidden_size = 256  # units per layer
    c.model.num_layers = 1  # stacked recurrent layers
    c.model.dropout = 0.1  # on embeddings, between layers and before the softmax
    c.model.impl = "auto"  # recurrence implementation, one of rnnjax.layers.IMPLS (auto: per cell)

    c.sample = ml_collections.ConfigDict()
    c.sample.count = 200  # names sampled per country at test (novelty statistics)
    c.sample.temperature = 0.8  # softmax temperature (0: greedy)
    c.sample.max_length = 30  # characters after the start letters before a sample is cut
    return c


def quick() -> ml_collections.ConfigDict:
    """Smoke test (runlocal): a tiny char LSTM classifier, 1 seed, 1 epoch of 3 steps.

    python -m experiments.names --config=experiments/names/configs.py:quick \
        --workdir=/tmp/names_quick
    """
    c = smoke_test(base())
    c.data.batch_size = 8
    c.model.embed_size = c.model.hidden_size = 8
    return c


def quick_generator() -> ml_collections.ConfigDict:
    """Smoke test of the generator: tiny, 1 epoch of 3 steps, 5 samples per country.

    python -m experiments.names --config=experiments/names/configs.py:quick_generator \
        --workdir=/tmp/names_quick_generator
    """
    c = smoke_test(generator(), "quick_generator")
    c.data.batch_size = 8
    c.model.embed_size = c.model.hidden_size = 8
    c.model.condition_size = 4
    c.sample.count = 5
    return c


def get_config(variant: str | None = None) -> ml_collections.ConfigDict:
    """The config of ``variant`` (default ``lstm``)."""
    return globals()[check_choice("get_config", "variant", variant or "lstm", VARIANTS)]()
