"""The sections of an experiment's config that the harness reads, with one comment per field.

An experiment's ``get_config()`` (big_vision style) starts from ``run_config(...)`` (the fields
``rnnjax.train.run`` and ``rnnjax.train.replicates`` read at the top level) and sets
``c.optim = optim_config(...)`` (the fields ``rnnjax.train.optim.make_optimizer`` and
``learning_rate`` read), then adds its own ``data`` and ``model`` sections and overrides fields
per variant. A field given as ``None`` is left out of the config, so that the harness's default
applies (``seeds`` 1, ``patience`` 0, ``divergence_factor`` ``run.DIVERGENCE_FACTOR``, no
momentum, no decay, no weight decay, no max-norm): a config keeps exactly the fields its runs
were recorded with, and a resumed run sees no change.
"""

from __future__ import annotations

import ml_collections


def _without_unset(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """``c`` without its ``None`` fields (left to the harness's defaults)."""
    for key in [key for key, value in c.items() if value is None]:
        del c[key]
    return c


def run_config(name: str, *, num_epochs: int, log_every_steps: int, checkpoint_every_steps: int,
               seeds: int | None = 1, steps_per_epoch: int = 0, patience: int | None = None,
               divergence_factor: float | None = None) -> ml_collections.ConfigDict:
    """The run fields of a config (seed 0); ``None``: the field is left out."""
    c = ml_collections.ConfigDict()
    c.name = name  # the variant, shown in reports
    c.seed = 0  # PRNG seed of the first replicate (initialisation, dropout, data order)
    c.seeds = seeds  # replicates with seeds seed, seed+1, ... (mean ± std); 1: one plain run
    c.num_epochs = num_epochs  # epochs at most (what an epoch is: the task's data section)
    c.steps_per_epoch = steps_per_epoch  # cap on training batches per epoch (0: the whole epoch)
    c.patience = patience  # stop after this many epochs without a better valid score (0: never)
    c.log_every_steps = log_every_steps  # train loss to metrics.jsonl / TensorBoard this often
    c.checkpoint_every_steps = checkpoint_every_steps  # mid-epoch checkpoints (+ every epoch's)
    c.divergence_factor = divergence_factor  # stop at a running mean loss > this x the first
    return _without_unset(c)


def optim_config(name: str = "adam", *, learning_rate: float, clip_norm: float,
                 momentum: float | None = None, lr_decay: float | None = 1.0,
                 lr_decay_after: int | None = 0, weight_decay: float | None = 0.0,
                 max_norm: float | None = None,
                 max_norm_params: tuple[str, ...] | None = None) -> ml_collections.ConfigDict:
    """The ``optim`` section: lr(epoch) = learning_rate * lr_decay ** max(0, epoch + 1 -
    lr_decay_after) (Zaremba et al. 2014, see ``rnnjax.train.optim``); ``None``: left out."""
    c = ml_collections.ConfigDict()
    c.name = name  # sgd | adam | rmsprop | adadelta (rnnjax.train.optim.OPTIMIZERS)
    c.learning_rate = learning_rate  # rate of the first lr_decay_after epochs
    c.momentum = momentum  # SGD momentum (0: plain SGD; other optimisers ignore it)
    c.lr_decay = lr_decay  # multiply the rate by this every epoch after lr_decay_after
    c.lr_decay_after = lr_decay_after  # epochs at the initial rate
    c.clip_norm = clip_norm  # clip the gradient's global norm (0: off)
    c.weight_decay = weight_decay  # L2 coefficient added to the gradient
    c.max_norm = max_norm  # max L2 norm of each column of the max_norm_params (0: off)
    c.max_norm_params = max_norm_params  # the parameters max_norm applies to
    return _without_unset(c)


def smoke_test(c: ml_collections.ConfigDict, name: str = "quick", *, num_epochs: int = 1,
               steps_per_epoch: int = 3) -> ml_collections.ConfigDict:
    """``c`` (a ``run_config``) as a smoke test of seconds (runlocal): one seed, ``num_epochs``
    epochs of at most ``steps_per_epoch`` batches (0: the task's own epoch), the train loss
    logged at every step; the variant shrinks its data and model itself."""
    c.name = name
    if "seeds" in c:
        c.seeds = 1
    c.num_epochs = num_epochs
    c.steps_per_epoch = steps_per_epoch
    c.log_every_steps = 1
    return c


def tagger_model_config(dropout: float) -> ml_collections.ConfigDict:
    """The ``model`` section of an ``rnnjax.models.RNNTagger`` (the POS and NER experiments): a
    1 x 100 bidirectional LSTM over 50-d word embeddings (Huang et al. 2015)."""
    c = ml_collections.ConfigDict()
    c.kind = "rnn_tagger"  # rnnjax.models.RNNTagger
    c.cell = "lstm"  # any rnnjax.cells.CELLS kind: lstm, gru, elman_tanh, ...
    c.embed_size = 50  # word embedding width (the vectors' width when pretrained)
    c.hidden_size = 100  # units per direction per layer
    c.num_layers = 1  # stacked recurrent layers
    c.bidirectional = True  # forward and backward layers, concatenated
    c.dropout = dropout  # on the word features, between layers and before the output
    c.freeze_embeddings = False  # keep pretrained embeddings fixed
    c.impl = "auto"  # recurrence implementation, one of rnnjax.layers.IMPLS (auto: per cell)
    return c


def with_char_features(c: ml_collections.ConfigDict, encoder: str, size: int
                       ) -> ml_collections.ConfigDict:
    """``c`` (a tagger's config) with character-level word features: ``size``-d characters read
    by a BiLSTM of ``size`` units per direction (``"bilstm"``, Lample et al. 2016) or ``size``
    filters of width 3 (``"cnn"``, Ma & Hovy 2016); ``"none"``: the fields without features."""
    c.data.max_word_length = 16  # characters per word for the char features (longer: cut)
    c.model.char_encoder = encoder  # character features: none | bilstm | cnn
    c.model.char_embed_size = size  # character embedding width
    c.model.char_size = size  # char BiLSTM units per direction, or char CNN filters
    c.model.char_width = 3  # char CNN window (characters)
    return c
