"""Neural Programmer configs: ``get_config(variant)``, big_vision style.

    python -m experiments.programmer --config=experiments/programmer/configs.py:single --workdir=DIR
    python -m experiments.programmer --config=experiments/programmer/configs.py:multi --workdir=DIR
    python -m experiments.programmer --config=experiments/programmer/configs.py:sums --workdir=DIR
    python -m experiments.programmer --config=experiments/programmer/configs.py:quick --workdir=DIR

(``quick`` runs in seconds.)
Each variant is one row of the table in experiments/programmer/README.md: the Neural Programmer
(tanh question and history RNNs, T = 4 steps, the twelve operations of
``rnnjax.models.neural_programmer.OPERATIONS``) on random tables of ``data.rows`` rows and
``data.columns`` columns of integers in [-max_value, max_value], with questions of
``data.templates`` (``rnnjax.data.table_questions.TEMPLATES``): ``single`` every template on
one column, ``multi`` every template on three named columns, ``sums`` the sums and counts alone
(with and without one comparison). The default budgets (``num_epochs`` x
``batches_per_epoch`` x ``batch_size`` questions) fit about 10 minutes on a 2-core CPU, far
fewer than the paper's; raise ``num_epochs`` to continue a run.
"""

from __future__ import annotations

import ml_collections

from rnnjax.data.table_questions import TEMPLATES
from rnnjax.models.neural_programmer import OPERATIONS
from rnnjax.train.config import optim_config, run_config
from rnnjax.validation import check_choice

VARIANTS = ("single", "multi", "sums", "quick")
SUMS = ("sum", "count", "sum_greater", "count_greater", "sum_lesser", "count_lesser")


def base() -> ml_collections.ConfigDict:
    """Fields shared by every variant: every template on one column; an epoch is
    data.batches_per_epoch freshly drawn batches."""
    c = run_config("single", num_epochs=10, log_every_steps=50,
                   checkpoint_every_steps=1000)

    c.data = ml_collections.ConfigDict()
    c.data.rows = 30  # rows of every table
    c.data.columns = 1  # columns of every table (named by words drawn per table)
    c.data.max_value = 100  # entries (and pivot numbers) are integers in [-max_value, max_value]
    c.data.templates = list(TEMPLATES)  # question templates, drawn uniformly
    c.data.batch_size = 50  # questions per training batch
    c.data.batches_per_epoch = 300  # training batches per epoch (each freshly drawn)
    c.data.eval_batch_size = 500  # questions per evaluation batch
    c.data.eval_batches = 2  # evaluation batches (fixed, the same for every seed)

    c.model = ml_collections.ConfigDict()
    c.model.cell = "elman_tanh"  # question RNN: any rnnjax.cells.CELLS kind
    c.model.history_cell = "elman_tanh"  # history RNN: any rnnjax.cells.CELLS kind
    c.model.hidden_size = 64  # d: word, operation and column embeddings and RNN states
    c.model.steps = 4  # T, operations per question
    c.model.operations = list(OPERATIONS)  # the operations the selector may choose
    c.model.cell_kwargs = {}  # the cells' own arguments
    c.model.impl = "auto"  # recurrence implementation of the question RNN

    c.loss = ml_collections.ConfigDict()
    c.loss.huber_delta = 10.0  # delta of the Huber loss on scalar answers
    c.loss.lookup_weight = 50.0  # lambda, the weight of the log-loss on lookup answers

    c.optim = optim_config(learning_rate=1e-3, clip_norm=1.0, weight_decay=None)  # constant
    c.optim.gradient_noise = 1e-3  # eta: gradient noise of variance eta / (1 + t)^0.55
    return c


def get_config(variant: str = "single") -> ml_collections.ConfigDict:
    check_choice("get_config", "variant", variant, VARIANTS)
    c = base()
    c.name = variant
    if variant == "multi":
        c.data.columns = 3
    elif variant == "sums":
        c.data.templates = list(SUMS)
    elif variant == "quick":
        c.num_epochs = 1
        c.data.rows = 5
        c.data.batch_size = 8
        c.data.batches_per_epoch = 3
        c.data.eval_batch_size = 16
        c.data.eval_batches = 1
        c.model.hidden_size = 8
    return c
