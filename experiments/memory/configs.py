"""Long-range memory configs: ``get_config(variant)``, one task and length per variant; the cell
is a field (rows of the table: ``--config.model.cell=KIND``, dilated stacks with
``--config.model.num_layers=L --config.model.dilations=1,2,4,...``).

    python -m experiments.memory --workdir=DIR          # adding T=100, GRU, 1 seed (default)
    python -m experiments.memory --config=experiments/memory/configs.py:adding400 \
        --config.model.cell=lstm --workdir=results/memory/adding400/lstm
    python -m experiments.memory --config=experiments/memory/configs.py:copy100 \
        --config.model.cell=gru --config.model.num_layers=4 --config.model.dilations=1,2,4,8 \
        --workdir=results/memory/copy100/dilated_gru
    python -m rnnjax.data prepare --corpus=fashion_mnist   # before the pixel variants
    python -m experiments.memory --config=experiments/memory/configs.py:pixel_permuted \
        --config.model.cell=irnn --workdir=results/memory/pixel_permuted/irnn

Protocol (the 2-core CPU budget): one layer of 64 units (dilated stacks: one layer of 64 units
per dilation, so the hidden-state budget grows with depth; the table says so), Adam at 1e-3 with
the gradient's global norm clipped to 1, batch 50; synthetic tasks validate every 100 steps on
1,000 sequences and test on 5,000 (drawn from ``data.seed``). The default, adding T = 100 with
a GRU for 2,000 steps and one seed, fits in 10 minutes on a loaded 2-core CPU.
"""

from __future__ import annotations

import ml_collections
from ml_collections import config_dict

from rnnjax.train.config import optim_config, run_config, smoke_test
from rnnjax.validation import check_choice

VARIANTS = ("adding100", "adding400", "adding1000", "copy100", "copy500", "pixel_sequential",
            "pixel_permuted", "quick")


def base() -> ml_collections.ConfigDict:
    """Fields shared by every variant: adding problem, T = 100, one 64-unit GRU layer; an epoch
    is data.steps_per_epoch batches (synthetic tasks) or all training images (pixel)."""
    c = run_config("adding100", num_epochs=20, log_every_steps=50, checkpoint_every_steps=1000,
                   divergence_factor=0)  # never stop on a rising loss: a failing cell is a result
    c.task = "adding"  # adding | copy | pixel (rnnjax.data.synthetic, rnnjax.data.images)
    c.mse_threshold = 0.01  # adding: report the first step whose validation MSE is below this

    c.data = ml_collections.ConfigDict()
    c.data.length = 100  # T: adding sequence length, copy-memory blanks (pixel: always 784)
    c.data.batch_size = 50  # sequences per training batch
    c.data.steps_per_epoch = 100  # synthetic tasks: training batches between validations
    c.data.seed = 0  # seed of the synthetic validation and test sequences (same for all runs)
    c.data.valid_size = 1000  # synthetic validation sequences
    c.data.test_size = 5000  # synthetic test sequences
    c.data.eval_batch_size = 500  # sequences per evaluation batch
    c.data.order = "sequential"  # pixel: sequential | permuted
    c.data.permutation_seed = 0  # pixel, permuted: seed of the fixed pixel permutation
    c.data.data_dir = config_dict.placeholder(str)  # prepared corpora (default ~/.cache/rnnjax)

    c.model = ml_collections.ConfigDict()
    c.model.cell = "gru"  # any rnnjax.cells.CELLS kind: elman_tanh, irnn, lstm, gru, ...
    c.model.hidden_size = 64  # units per layer
    c.model.num_layers = 1  # stacked recurrent layers
    c.model.dilations = ()  # one positive int per layer (e.g. 1,2,4,8): dilated stack; (): none
    c.model.impl = "auto"  # recurrence implementation, one of rnnjax.layers.IMPLS

    c.optim = optim_config(learning_rate=1e-3, clip_norm=1.0)  # a constant rate
    return c


def adding100() -> ml_collections.ConfigDict:
    """Adding problem, T = 100, 2,000 steps; the default.

    python -m experiments.memory --workdir=results/memory/adding100/gru
    """
    return base()


def _adding(length: int, epochs: int) -> ml_collections.ConfigDict:
    c = base()
    c.name = f"adding{length}"
    c.data.length = length
    c.num_epochs = epochs
    return c


def adding400() -> ml_collections.ConfigDict:
    """Adding problem, T = 400, 3,000 steps.

    python -m experiments.memory --config=experiments/memory/configs.py:adding400 \
        --config.model.cell=lstm --workdir=results/memory/adding400/lstm
    """
    return _adding(400, 30)


def adding1000() -> ml_collections.ConfigDict:
    """Adding problem, T = 1000, 3,000 steps.

    python -m experiments.memory --config=experiments/memory/configs.py:adding1000 \
        --config.model.cell=lstm --workdir=results/memory/adding1000/lstm
    """
    return _adding(1000, 30)


def _copy(blanks: int) -> ml_collections.ConfigDict:
    c = base()
    c.name = f"copy{blanks}"
    c.task = "copy"
    c.data.length = blanks
    c.num_epochs = 30
    return c


def copy100() -> ml_collections.ConfigDict:
    """Copy memory, T = 100 blanks (sequences of 120), 3,000 steps.

    python -m experiments.memory --config=experiments/memory/configs.py:copy100 \
        --config.model.cell=gru --workdir=results/memory/copy100/gru
    """
    return _copy(100)


def copy500() -> ml_collections.ConfigDict:
    """Copy memory, T = 500 blanks (sequences of 520), 3,000 steps.

    python -m experiments.memory --config=experiments/memory/configs.py:copy500 \
        --config.model.cell=gru --workdir=results/memory/copy500/gru
    """
    return _copy(500)


def _pixel(order: str) -> ml_collections.ConfigDict:
    c = base()
    c.name = f"pixel_{order}"
    c.task = "pixel"
    c.data.order = order
    c.data.batch_size = 100
    c.num_epochs = 5
    c.model.hidden_size = 128
    return c


def pixel_sequential() -> ml_collections.ConfigDict:
    """Fashion-MNIST pixel by pixel (T = 784), raster order, 5 epochs, 128 units.

    python -m experiments.memory --config=experiments/memory/configs.py:pixel_sequential \
        --config.model.cell=lstm --workdir=results/memory/pixel_sequential/lstm
    """
    return _pixel("sequential")


def pixel_permuted() -> ml_collections.ConfigDict:
    """Fashion-MNIST pixel by pixel in one fixed random order (data.permutation_seed).

    python -m experiments.memory --config=experiments/memory/configs.py:pixel_permuted \
        --config.model.cell=lstm --workdir=results/memory/pixel_permuted/lstm
    """
    return _pixel("permuted")


def quick() -> ml_collections.ConfigDict:
    """Smoke test: adding T = 20, 8 units, 1 epoch of 3 steps.

    python -m experiments.memory --config=experiments/memory/configs.py:quick \
        --workdir=/tmp/memory_quick
    """
    c = smoke_test(base(), steps_per_epoch=0)  # the epoch: data.steps_per_epoch batches
    c.data.length = 20
    c.data.steps_per_epoch = 3
    c.data.batch_size = 8
    c.data.valid_size = c.data.test_size = 40
    c.data.eval_batch_size = 20
    c.model.hidden_size = 8
    return c


def get_config(variant: str | None = None) -> ml_collections.ConfigDict:
    """The config of ``variant`` (default ``adding100``)."""
    return globals()[check_choice("get_config", "variant", variant or "adding100", VARIANTS)]()
