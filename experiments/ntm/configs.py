"""NTM task configs: ``get_config(variant)``, big_vision style.

    python -m experiments.ntm --config=experiments/ntm/configs.py:copy_ntm --workdir=DIR
    python -m experiments.ntm --config=experiments/ntm/configs.py:copy_lstm --workdir=DIR
    python -m experiments.ntm --config=experiments/ntm/configs.py:repeat_copy_ntm --workdir=DIR
    python -m experiments.ntm --config=experiments/ntm/configs.py:repeat_copy_lstm --workdir=DIR
    python -m experiments.ntm --config=experiments/ntm/configs.py:recall_ntm --workdir=DIR
    python -m experiments.ntm --config=experiments/ntm/configs.py:recall_lstm --workdir=DIR
    python -m experiments.ntm --config=experiments/ntm/configs.py:quick --workdir=DIR  # seconds

Each variant is one row of the table in experiments/ntm/README.md: the NTM of the paper (LSTM
controller of 100 units, a 128 x 20 memory, one read and one write head, shifts -1..1) or the
paper's baseline, 3 stacked LSTM layers of 256 units, on the paper's training distribution; the
test split adds the length (or item-count) generalisation sets of ``data.test_values``. The
default budgets (``num_epochs`` x ``batches_per_epoch`` x ``batch_size`` sequences) fit about 10
minutes on a 2-core CPU, far fewer sequences than the paper's figures; raise ``num_epochs`` to
continue a run (``--config.num_epochs=N`` resumes it).
"""

from __future__ import annotations

import ml_collections

from rnnjax.train.config import optim_config, run_config
from rnnjax.validation import check_choice

VARIANTS = ("copy_ntm", "copy_lstm", "repeat_copy_ntm", "repeat_copy_lstm", "recall_ntm",
            "recall_lstm", "quick")

NTM = {"memory_size": 128, "memory_width": 20, "num_read_heads": 1, "num_write_heads": 1,
       "shift_range": 3, "controller": "lstm"}


def base() -> ml_collections.ConfigDict:
    """Fields shared by every variant: the NTM on the copy task; an epoch is
    data.batches_per_epoch freshly drawn batches, the logged loss is in bits per sequence."""
    c = run_config("copy_ntm", num_epochs=10, log_every_steps=25, checkpoint_every_steps=500)

    c.data = ml_collections.ConfigDict()
    c.data.task = "copy"  # rnnjax.data.algorithmic.TASKS: copy | repeat_copy | associative_recall
    c.data.train = {"min_length": 1, "max_length": 20}  # the generator's training arguments
    c.data.test_field = "length"  # test sets fix min_<field> = max_<field> to each test value
    c.data.test_values = (10, 20, 40, 80, 120)  # the generalisation sets of the test split
    c.data.batch_size = 16  # sequences per training batch
    c.data.batches_per_epoch = 100  # training batches per epoch (each freshly drawn)
    c.data.eval_batch_size = 64  # sequences per evaluation batch
    c.data.eval_batches = 2  # evaluation batches per set (fixed, the same for every seed)

    c.model = ml_collections.ConfigDict()
    c.model.cell = "ntm"  # any rnnjax.cells.CELLS kind; ntm: the Neural Turing Machine
    c.model.hidden_size = 100  # controller (NTM) or layer (LSTM) width
    c.model.num_layers = 1  # stacked recurrent layers
    c.model.cell_kwargs = dict(NTM)  # the NTM's memory and heads (empty for other cells)
    c.model.impl = "auto"  # recurrence implementation, one of rnnjax.layers.IMPLS

    # a constant rate (the paper: RMSProp 1e-4 with batch 1)
    c.optim = optim_config(learning_rate=1e-3, clip_norm=10.0, weight_decay=None)
    return c


def lstm(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """The paper's baseline: 3 x 256 LSTM."""
    c.model.cell = "lstm"
    c.model.hidden_size = 256
    c.model.num_layers = 3
    c.model.cell_kwargs = {}
    return c


def repeat_copy(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """Repeat copy: lengths 1-10, repeats 1-10 (section 4.2); tests at lengths 10 and 20."""
    c.data.task = "repeat_copy"
    c.data.train = {"min_length": 1, "max_length": 10, "min_repeats": 1, "max_repeats": 10}
    c.data.test_values = (10, 20)
    c.data.batches_per_epoch = 50
    return c


def recall(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """Associative recall: 2-6 items of 3 x 6 bits (section 4.3); tests at 6-20 items."""
    c.data.task = "associative_recall"
    c.data.train = {"min_items": 2, "max_items": 6}
    c.data.test_field = "items"
    c.data.test_values = (6, 10, 15, 20)
    return c


def get_config(variant: str = "copy_ntm") -> ml_collections.ConfigDict:
    check_choice("get_config", "variant", variant, VARIANTS)
    c = base()
    c.name = variant
    task, _, model = variant.rpartition("_")
    if task == "repeat_copy":
        repeat_copy(c)
    elif task == "recall":
        recall(c)
    if model == "lstm":
        lstm(c)
    if variant == "quick":
        c.num_epochs = 1
        c.data.train = {"min_length": 1, "max_length": 3}
        c.data.test_values = (3,)
        c.data.batches_per_epoch = 3
        c.data.eval_batches = 1
        c.data.eval_batch_size = 8
        c.model.hidden_size = 16
        c.model.cell_kwargs = {**NTM, "memory_size": 8, "memory_width": 4}
    return c
