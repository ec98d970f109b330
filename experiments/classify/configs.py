"""Sentence-classification configs: ``get_config(variant)``, big_vision style.

    python -m experiments.classify --config=experiments/classify/configs.py:kim_static \
        --config.data.name=mr_subset --workdir=DIR

The data: ``--config.data.name=`` one of ``rnnjax.data.labelled.NAMES`` (``mr_subset``,
``uncertainty``, ``bbc_news``, ``polarity_reviews``, prepared on first use; Kim's ``mr sst1 sst2
subj trec cr mpqa`` from their files in ``<data_dir>/<name>/``), or ``--config.data.name=file
--config.data.path=FILE`` (``label<TAB>text`` lines, or a .csv with ``text`` and ``label``
columns). Pretrained vectors: ``glove_6b_50d``, prepared on first use like the datasets
(``RNNJAX_NO_AUTO_PREPARE=1``: run ``python -m rnnjax.data prepare --corpus=NAME`` instead), or
``--config.model.vectors=PATH`` to a word2vec text/binary or GloVe text file. One run = every
fold x seed; the measured results and times are in experiments/classify/README.md (a 2-core
x86_64 CPU).
"""

from __future__ import annotations

import ml_collections
from ml_collections import config_dict

from rnnjax.train.config import optim_config, run_config, smoke_test
from rnnjax.validation import check_choice

# Table A: the recurrent classifiers; Table B: Kim's CNN; plus the Keras-sized model and quick.
RNN_ROWS = ("lstm", "bilstm", "lstm_2layer", "bilstm_2layer", "gru", "bigru", "elman",
            "bilstm_max", "bilstm_mean")
KIM_ROWS = ("kim_rand", "kim_static", "kim_nonstatic", "kim_multichannel")
VARIANTS = (*RNN_ROWS, *KIM_ROWS, "keras_tiny", "quick")


def base() -> ml_collections.ConfigDict:
    """Fields shared by every variant (the BiLSTM of Table A; its name is the row of the tables).
    One run = every fold x every seed; patience counts on the valid accuracy. At most 30 epochs,
    so that patience, not the cap, ends training (README "Defaults": 10 capped a still-improving
    model on a 6-way file)."""
    c = run_config("bilstm", seeds=3, num_epochs=30, patience=3, log_every_steps=50,
                   checkpoint_every_steps=1000, divergence_factor=3.0)
    c.baseline = "tfidf_lr"  # fitted on each fold's splits, reported beside the model ("": none)

    c.data = ml_collections.ConfigDict()
    c.data.name = "mr_subset"  # a dataset of rnnjax.data.labelled.NAMES ("file" reads data.path)
    c.data.path = config_dict.placeholder(str)  # label<TAB>text or .csv file (given: read it)
    c.data.data_dir = config_dict.placeholder(str)  # prepared datasets / Kim's files
    c.data.num_folds = 10  # stratified CV folds where the data has no test split
    c.data.folds_to_run = 0  # run only the first k folds (0: all)
    c.data.fold = 0  # the test fold of one replicate (set per replicate)
    c.data.valid_fraction = 0.1  # of the training part, held out for early stopping
    c.data.max_len = 400  # truncate texts to this many tokens (0: never); in results.json
    c.data.batch_size = 50  # training sentences per batch
    c.data.eval_batch_size = 250  # sentences per evaluation batch

    c.model = ml_collections.ConfigDict()
    c.model.kind = "rnn_classifier"  # rnnjax.models.MODELS: rnn_classifier | kim_cnn
    c.model.vectors = "glove_6b_50d"  # pretrained vectors (None: random embeddings)
    c.model.embed_size = config_dict.placeholder(int)  # None: the vectors' dimension
    c.model.freeze_embeddings = False  # keep the pretrained vectors fixed
    c.model.cell = "lstm"  # any rnnjax.cells.CELLS kind
    c.model.hidden_size = 100  # units per direction and layer
    c.model.num_layers = 1  # stacked recurrent layers
    c.model.bidirectional = True  # a forward and a backward RNN per layer, concatenated
    c.model.pooling = "last"  # last (bidirectional: forward end + backward start) | max | mean
    c.model.dropout = 0.5  # on the embeddings, between layers and before the softmax
    c.model.impl = "auto"  # recurrence implementation, one of rnnjax.layers.IMPLS (auto: per cell)

    # a constant rate (4e-3: README "Defaults", better than 1e-3 and 2e-3 on two datasets);
    # max_norm (off here; Kim's CNN: 3) would constrain the softmax weights
    c.optim = optim_config(learning_rate=4e-3, clip_norm=5.0, lr_decay=None, lr_decay_after=None,
                           weight_decay=None, max_norm=0.0, max_norm_params=("out.kernel",))
    return c


def rnn_row(name: str) -> ml_collections.ConfigDict:
    """A row of Table A: the BiLSTM with one thing changed."""
    c = base()
    c.name = name
    m = c.model
    m.cell = {"gru": "gru", "bigru": "gru", "elman": "elman_tanh"}.get(name, "lstm")
    m.bidirectional = name.startswith("bi")
    m.num_layers = 2 if name.endswith("2layer") else 1
    m.pooling = {"bilstm_max": "max", "bilstm_mean": "mean"}.get(name, "last")
    return c


def kim(mode: str) -> ml_collections.ConfigDict:
    """Kim 2014: windows 3,4,5 x 100 maps, ReLU, max over time, dropout 0.5, max-norm 3 on the
    softmax columns, Adadelta (rho 0.95, eps 1e-6), batch 50, 25 epochs, best held-out epoch."""
    c = base()
    c.name = f"kim_{mode}"
    c.num_epochs = 25
    c.patience = 4  # Kim: no early stop, the best of 25 epochs; 4 bounds the CPU time
    c.model = ml_collections.ConfigDict()
    c.model.kind = "kim_cnn"
    # Kim: word2vec 300d; a placeholder (None) so that --config.model.vectors=FILE can set it
    c.model.vectors = config_dict.placeholder(str) if mode == "rand" else "glove_6b_50d"
    c.model.embed_size = 300 if mode == "rand" else config_dict.placeholder(int)  # Kim's k
    c.model.freeze_embeddings = mode == "static"  # CNN-static
    c.model.multichannel = mode == "multichannel"  # a frozen and a tuned channel
    c.model.windows = (3, 4, 5)  # filter widths h
    c.model.feature_maps = 100  # filters per width
    c.model.dropout = 0.5  # on the penultimate layer
    c.optim.name = "adadelta"
    c.optim.learning_rate = 1.0  # Adadelta's own step (Zeiler 2012 has no learning rate)
    c.optim.clip_norm = 0.0
    c.optim.max_norm = 3.0
    return c


def keras_tiny() -> ml_collections.ConfigDict:
    """The lectures' Keras model: Embedding(16) -> SimpleRNN(8) -> Dense(1, sigmoid), Adam."""
    c = base()
    c.name = "keras_tiny"
    c.data.batch_size = 32
    c.model.vectors = config_dict.placeholder(str)
    c.model.embed_size = 16
    c.model.cell = "elman_tanh"
    c.model.hidden_size = 8
    c.model.bidirectional = False
    c.model.dropout = 0.0
    c.model.output = "sigmoid"  # one logistic unit, binary cross-entropy (2 classes only)
    c.optim.learning_rate = 1e-3
    c.optim.clip_norm = 0.0
    return c


def quick() -> ml_collections.ConfigDict:
    """Smoke test (runlocal): a tiny BiLSTM, random embeddings, 2 folds x 1 seed, 2 epochs."""
    c = smoke_test(base(), num_epochs=2, steps_per_epoch=0)
    c.data.folds_to_run = 2
    c.data.batch_size = 8
    c.data.eval_batch_size = 16
    c.model.vectors = config_dict.placeholder(str)
    c.model.embed_size = 8
    c.model.hidden_size = 8
    return c


def get_config(variant: str | None = None) -> ml_collections.ConfigDict:
    """The config of ``variant`` (default ``bilstm``)."""
    variant = check_choice("get_config", "variant", variant or "bilstm", VARIANTS)
    if variant in RNN_ROWS:
        return rnn_row(variant)
    if variant in KIM_ROWS:
        return kim(variant.removeprefix("kim_"))
    return globals()[variant]()
