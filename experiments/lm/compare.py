"""Compare recurrent cells under one config: one training run per cell, then a table.

    python -m experiments.lm.compare --config=experiments/lm/configs.py:zaremba_small \
        --cells=elman_tanh,gru,lstm --workdir=results/lm/compare_ptb

Each cell trains in ``workdir/<cell>``; with ``--learning_rates=a,b,...`` (a grid) each cell
trains once per rate in ``workdir/<cell>/lr<rate>`` and the table lists every rate's validation
result. The runs are one grid (``rnnjax.train.replicates.run_grid``): resumable like any run,
a larger --config.num_epochs continues finished runs, a run whose results.json is complete for
as many epochs is read, not rerun, and a cell whose training diverges is logged and skipped.
Every cell runs with the config's ``model.impl`` (default "auto"). Writes
``workdir/compare.json`` and prints the markdown table.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import ml_collections
from absl import flags

from experiments import launch
from experiments.lm.tables import TABLES
from experiments.lm.train import LanguageModelTask
from experiments.report.tables import commands, load_run, render
from rnnjax.train.replicates import run_grid
from rnnjax.train.workdir import RESULTS_FILE
from rnnjax.validation import fail

CONFIG = launch.define_config(__file__, "zaremba_small")
_CELLS = flags.DEFINE_list("cells", ["elman_tanh", "gru", "lstm"], "Cell kinds to compare.")
_RATES = flags.DEFINE_list("learning_rates", [], "A grid of optim.learning_rate values per cell "
                           "(default: the config's own rate).")


def cell_config(config: ml_collections.ConfigDict, cell: str, rate: float | None = None
                ) -> ml_collections.ConfigDict:
    """``config`` with ``cell`` (and learning rate ``rate``), named ``<config name>/<cell>``
    (``/lr<rate>``)."""
    config = copy.deepcopy(config)
    config.name = f"{config.name}/{cell}" + ("" if rate is None else f"/lr{rate:g}")
    config.model.cell = cell
    if rate is not None:
        config.optim.learning_rate = rate
    return config


def grid() -> list[tuple[str, float | None]]:
    """(cell, learning rate or None) of every run, from --cells and --learning_rates."""
    try:
        rates = [float(rate) for rate in _RATES.value] or [None]
    except ValueError:
        fail("compare", "--learning_rates", "comma-separated numbers", _RATES.value)
    return [(cell, rate) for cell in _CELLS.value for rate in rates]


def compare(config: ml_collections.ConfigDict, workdir: str, allow_changes: list[str]) -> None:
    root = Path(workdir)
    rows = {cell if rate is None else f"{cell}/lr{rate:g}": cell_config(config, cell, rate)
            for cell, rate in grid()}
    run_grid(LanguageModelTask, rows, root, allow_changes)
    runs = [load_run(root / row / RESULTS_FILE) for row in rows
            if (root / row / RESULTS_FILE).is_file()]
    records = [{k: v for k, v in run.items() if k != "workdir"} for run in runs]
    (root / "compare.json").write_text(json.dumps(records, indent=2) + "\n")
    print("\n".join(render(table, runs) for table in TABLES) + "\n" + commands(runs))


if __name__ == "__main__":
    launch.main(compare, CONFIG)
