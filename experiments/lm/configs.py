"""Language-model configs: ``get_config(variant)``, big_vision style.

    python -m experiments.lm --config=experiments/lm/configs.py:zaremba_small --workdir=DIR

Any field can be overridden on the command line, e.g. ``--config.num_epochs=2``. Measured numbers
live in the run records under results/lm/ and their report, results/lm/REPORT.md
(``python -m experiments.report --experiments=lm``).
"""

from __future__ import annotations

import ml_collections
from ml_collections import config_dict

from rnnjax.train.config import optim_config, run_config, smoke_test
from rnnjax.validation import check_choice

VARIANTS = ("shakespeare_char", "shakespeare_char_converge", "zaremba_small", "zaremba_medium",
            "zaremba_large", "bengio", "quick")


def base() -> ml_collections.ConfigDict:
    """Fields shared by every variant (a char LSTM on the embedded Shakespeare corpus); an epoch
    is a pass over the training stream, the seed also draws the random bptt and the samples."""
    c = run_config("shakespeare_char", seeds=None, num_epochs=5, log_every_steps=50,
                   checkpoint_every_steps=500, divergence_factor=2.0)
    c.loss_sum_over_time = False  # optimise sum_t mean_b NLL (ptb_word_lm) instead of the mean

    c.data = ml_collections.ConfigDict()
    c.data.corpus = "shakespeare"  # a name in rnnjax.data.CORPORA ("text" reads data.path)
    c.data.path = config_dict.placeholder(str)  # text file or directory for corpus "text"
    c.data.data_dir = config_dict.placeholder(str)  # prepared corpora (default ~/.cache/rnnjax)
    c.data.level = config_dict.placeholder(str)  # "char" or "word" (default: the corpus's own)
    c.data.max_vocab = config_dict.placeholder(int)  # keep the most frequent tokens (None: all)
    c.data.batch_size = 32  # parallel streams per batch (divisible by the device count)
    c.data.bptt = 64  # truncated-BPTT chunk length
    c.data.random_bptt = False  # Merity et al. 2017's random chunk lengths around bptt
    c.data.eval_batch_size = 32  # streams for valid/test (state carried through each)
    c.data.eval_bptt = 64  # chunk length for valid/test

    c.model = ml_collections.ConfigDict()
    c.model.kind = "rnn"  # "rnn" (rnnjax.models.RNNLM) or "bengio" (BengioLM)
    c.model.cell = "lstm"  # any rnnjax.cells.CELLS kind: lstm, gru, elman_tanh, ...
    c.model.embed_size = 128  # input embedding width
    c.model.hidden_size = 256  # units per recurrent layer
    c.model.num_layers = 2  # stacked recurrent layers
    c.model.dropout = 0.0  # dropout on embedding, between layers and before the softmax
    c.model.variational = False  # share dropout masks over time (Gal & Ghahramani 2016)
    c.model.tie_embeddings = False  # softmax weights = embedding^T (needs hidden == embed)
    c.model.init_scale = config_dict.placeholder(float)  # U[-s, s] for all weights (None: defaults)
    c.model.impl = "auto"  # recurrence implementation, one of rnnjax.layers.IMPLS
    c.model.wavefront = config_dict.placeholder(bool)  # layers as one wavefront scan (None: auto)

    c.optim = optim_config(learning_rate=2e-3, momentum=0.0, clip_norm=5.0)

    c.sample = ml_collections.ConfigDict()
    c.sample.length = 300  # tokens sampled after every epoch (workdir/samples/)
    c.sample.temperature = 0.8  # softmax temperature (0: greedy)
    c.sample.top_k = 0  # sample among the k most likely tokens (0: all)
    c.sample.prime = "Romeo.\n"  # text the sample continues (a speaker line of the corpus)
    return c


def shakespeare_char() -> ml_collections.ConfigDict:
    """Char LSTM (2 x 256, Adam 2e-3) on the embedded Shakespeare tragedies; the default.

    python -m experiments.lm --workdir=/tmp/rnnjax_lm
    Measured: results/lm/default (see results/lm/REPORT.md).
    """
    return base()


def shakespeare_char_converge() -> ml_collections.ConfigDict:
    """The default char LM trained until the validation loss stops improving (early stopping).

    python -m experiments.lm.compare --config=experiments/lm/configs.py:shakespeare_char_converge \
        --cells=elman_tanh,gru,lstm --workdir=results/lm/char_converge
    The test split is scored with the parameters of the best validation epoch; measured numbers
    are in experiments/lm/README.md.
    """
    c = base()
    c.name = "shakespeare_char_converge"
    c.num_epochs = 40  # upper bound; early stopping ends the run first
    c.patience = 3  # stop after this many epochs without a lower validation loss
    return c


def zaremba(size: str) -> ml_collections.ConfigDict:
    """Zaremba, Sutskever & Vinyals 2014 on PTB: SGD lr 1, batch 20, per-epoch decay, clip."""
    units, epochs, dropout, scale, bptt, decay, after, clip = {
        "small": (200, 13, 0.0, 0.1, 20, 0.5, 4, 5.0),
        "medium": (650, 39, 0.5, 0.05, 35, 1 / 1.2, 6, 5.0),
        "large": (1500, 55, 0.65, 0.04, 35, 1 / 1.15, 14, 10.0),
    }[size]
    c = base()
    c.name = f"zaremba_{size}"
    c.num_epochs = epochs
    c.loss_sum_over_time = True
    c.log_every_steps = 100
    c.data.corpus = "ptb"
    c.data.batch_size = c.data.eval_batch_size = 20
    c.data.bptt = c.data.eval_bptt = bptt
    c.model.embed_size = c.model.hidden_size = units
    c.model.dropout = dropout
    c.model.init_scale = scale
    c.optim = optim_config("sgd", learning_rate=1.0, momentum=0.0, lr_decay=decay,
                           lr_decay_after=after, clip_norm=clip)
    c.sample.length = 50
    c.sample.prime = "the company said"
    return c


def zaremba_small() -> ml_collections.ConfigDict:
    """Zaremba 2014 small, non-regularised: 2 x 200 LSTM, 13 epochs, bptt 20, lr 1 halved after 4.

    python -m rnnjax.data prepare --corpus=ptb
    python -m experiments.lm --config=experiments/lm/configs.py:zaremba_small \
        --workdir=results/lm/zaremba_small
    Paper: valid 120.7 / test 114.5 perplexity. Measured: results/lm/zaremba_small (see
    results/lm/REPORT.md).
    """
    return zaremba("small")


def zaremba_medium() -> ml_collections.ConfigDict:
    """Zaremba 2014 medium: 2 x 650 LSTM, dropout 0.5, 39 epochs, bptt 35, lr /1.2 after 6.

    python -m experiments.lm --config=experiments/lm/configs.py:zaremba_medium --workdir=DIR
    Paper: valid 86.2 / test 82.7. Not run here; estimated at ~5 hours of a quiet 2-core CPU
    (experiments/lm/README.md).
    """
    return zaremba("medium")


def zaremba_large() -> ml_collections.ConfigDict:
    """Zaremba 2014 large: 2 x 1500 LSTM, dropout 0.65, 55 epochs, lr /1.15 after 14, clip 10.

    python -m experiments.lm --config=experiments/lm/configs.py:zaremba_large --workdir=DIR
    Paper: valid 82.2 / test 78.4. Not run here (a GPU config).
    """
    return zaremba("large")


def bengio() -> ml_collections.ConfigDict:
    """Bengio et al. 2003's fixed-window neural LM on PTB: 4 context words, direct connections.

    python -m experiments.lm --config=experiments/lm/configs.py:bengio --workdir=results/lm/bengio
    Measured: results/lm/bengio (see results/lm/REPORT.md).
    """
    c = zaremba("small")
    c.name = "bengio"
    c.num_epochs = 5
    c.loss_sum_over_time = False
    c.model = ml_collections.ConfigDict()
    c.model.kind = "bengio"  # Bengio et al. 2003
    c.model.context = 4  # n - 1 previous words
    c.model.embed_size = 60  # word feature vector size m
    c.model.hidden_size = 200  # tanh hidden units h
    c.model.direct = True  # direct connections W from the window to the softmax
    c.model.dropout = 0.0  # dropout on the window and hidden layer (not in the paper)
    c.model.init_scale = 0.1  # U[-s, s] for all weights
    c.optim = optim_config(learning_rate=1e-3, momentum=0.0, lr_decay=0.5, lr_decay_after=2,
                           clip_norm=5.0)
    return c


def quick() -> ml_collections.ConfigDict:
    """Smoke test (runlocal): a tiny char LSTM, 1 epoch of 2 steps; seconds on a CPU.

    python -m experiments.lm --config=experiments/lm/configs.py:quick --workdir=/tmp/lm_quick
    """
    c = smoke_test(base(), steps_per_epoch=2)
    c.data.batch_size = 4
    c.data.bptt = 8
    c.data.eval_batch_size = 4
    c.data.eval_bptt = 256
    c.model.embed_size = c.model.hidden_size = 16
    c.model.init_scale = 0.1
    c.sample.length = 20
    return c


def get_config(variant: str | None = None) -> ml_collections.ConfigDict:
    """The config of ``variant`` (default ``shakespeare_char``)."""
    variant = check_choice("get_config", "variant", variant or "shakespeare_char", VARIANTS)
    return globals()[variant]()
