"""Parity configs (Graves 2016, section 3.1): ``get_config(variant)``, big_vision style.

    python -m experiments.act --config=experiments/act/configs.py:act_1e-3 --workdir=DIR
    python -m experiments.act --config=experiments/act/configs.py:act_1e-1 --workdir=DIR
    python -m experiments.act --config=experiments/act/configs.py:act_1e-2 --workdir=DIR
    python -m experiments.act --config=experiments/act/configs.py:act_1e-4 --workdir=DIR
    python -m experiments.act --config=experiments/act/configs.py:rnn --workdir=DIR
    python -m experiments.act --config=experiments/act/configs.py:quick --workdir=DIR  # seconds

The paper's network: one layer of 128 tanh units reading one vector per sequence, a sigmoid
output, epsilon 0.01; ``act_<tau>`` sets the time penalty tau, ``rnn`` is the same network
without ACT (one step per input). To fit the default budget (``num_epochs`` x
``batches_per_epoch`` x ``batch_size`` = 128k sequences, about 10 minutes on a 2-core CPU,
far fewer than the paper's) the vectors have 16 elements instead of 64 and at most 20 ponder
steps instead of 100: ``--config.data.train.size=64 --config.model.max_ponder_steps=100`` for
the paper's task; ``--config.num_epochs=N`` resumes a run further.
"""

from __future__ import annotations

import ml_collections

from rnnjax.train.config import optim_config, run_config
from rnnjax.validation import check_choice

TAUS = ("1e-1", "1e-2", "1e-3", "1e-4")
VARIANTS = (*(f"act_{tau}" for tau in TAUS), "rnn", "quick")


def base() -> ml_collections.ConfigDict:
    """Fields shared by every variant: the ACT RNN at tau = 1e-3; an epoch is
    data.batches_per_epoch freshly drawn batches."""
    c = run_config("act_1e-3", num_epochs=10, log_every_steps=50, checkpoint_every_steps=1000)

    c.data = ml_collections.ConfigDict()
    c.data.task = "parity"  # rnnjax.data.algorithmic.TASKS
    c.data.train = {"size": 16}  # elements per input vector (the paper: 64)
    c.data.batch_size = 128  # sequences per training batch
    c.data.batches_per_epoch = 100  # training batches per epoch (each freshly drawn)
    c.data.eval_batch_size = 500  # sequences per evaluation batch
    c.data.eval_batches = 2  # evaluation batches (fixed, the same for every seed)

    c.model = ml_collections.ConfigDict()
    c.model.cell = "elman_tanh"  # any rnnjax.cells.CELLS kind
    c.model.hidden_size = 128  # units
    c.model.num_layers = 1  # one layer (ACT wraps one cell)
    c.model.cell_kwargs = {}  # the cell's own arguments
    c.model.act = True  # adaptive computation time around the cell
    c.model.time_penalty = 1e-3  # tau, the weight of the ponder cost
    c.model.max_ponder_steps = 20  # N, the most ponder steps per input (the paper: 100)
    c.model.epsilon = 0.01  # halting threshold 1 - epsilon
    c.model.impl = "scan"  # recurrence implementation (ACT runs under lax.scan)

    c.optim = optim_config(learning_rate=1e-3, clip_norm=1.0, weight_decay=None)  # constant rate
    return c


def get_config(variant: str = "act_1e-3") -> ml_collections.ConfigDict:
    check_choice("get_config", "variant", variant, VARIANTS)
    c = base()
    c.name = variant
    if variant.startswith("act_"):
        c.model.time_penalty = float(variant.removeprefix("act_"))
    elif variant == "rnn":
        c.model.act = False
        c.model.impl = "auto"
    else:  # quick
        c.num_epochs = 1
        c.data.train = {"size": 8}
        c.data.batch_size = 16
        c.data.batches_per_epoch = 3
        c.data.eval_batch_size = 16
        c.data.eval_batches = 1
        c.model.hidden_size = 8
        c.model.max_ponder_steps = 5
    return c
