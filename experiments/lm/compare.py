"""Compare recurrent cells under one config: one training run per cell, then a table.

    python -m experiments.lm.compare --config=experiments/lm/configs.py:zaremba_small \
        --cells=elman_tanh,gru,lstm --workdir=results/lm/compare_ptb

Each cell trains in ``workdir/<cell>`` (resumable like any run, and a larger
--config.num_epochs continues finished runs; a run whose results.json is complete for as many
epochs is read, not rerun; a cell whose loss diverges is logged and skipped). Non-LSTM
cells run with impl="scan", the only implementation they have. Writes ``workdir/compare.json``
and prints the markdown table.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import ml_collections
from absl import app, flags, logging
from ml_collections import config_flags

from experiments.report.report import RESULTS_FILE, commands, load_run, markdown_table
from rnnjax.train import train_and_evaluate

_CONFIG = config_flags.DEFINE_config_file(
    "config", f"{Path(__file__).with_name('configs.py')}:zaremba_small",
    "Config shared by every cell (any --config.* override applies to all).")
_CELLS = flags.DEFINE_list("cells", ["elman_tanh", "gru", "lstm"], "Cell kinds to compare.")
_WORKDIR = flags.DEFINE_string("workdir", None, "Root directory; one subdirectory per cell.",
                               required=True)


def cell_config(config: ml_collections.ConfigDict, cell: str) -> ml_collections.ConfigDict:
    """``config`` with ``cell``, named ``<config name>/<cell>``."""
    config = copy.deepcopy(config)
    config.name = f"{config.name}/{cell}"
    config.model.cell = cell
    if cell != "lstm":
        config.model.impl = "scan"
    return config


def _finished(results: Path, num_epochs: int) -> bool:
    """True when ``results`` records a completed run of at least ``num_epochs`` epochs."""
    if not results.is_file():
        return False
    recorded = json.loads(results.read_text())
    return recorded["status"] == "complete" and recorded["num_epochs"] >= num_epochs


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    root = Path(_WORKDIR.value)
    runs = []
    for cell in _CELLS.value:
        results = root / cell / RESULTS_FILE
        if not _finished(results, _CONFIG.value.num_epochs):
            try:
                train_and_evaluate(cell_config(_CONFIG.value, cell), root / cell)
            except FloatingPointError as err:  # a diverged cell is a result; go on to the next
                logging.error("%s", err)
        if results.is_file():
            runs.append(load_run(results))
    rows = [{k: v for k, v in run.items() if k != "workdir"} for run in runs]
    (root / "compare.json").write_text(json.dumps(rows, indent=2) + "\n")
    print(markdown_table(runs) + "\n" + commands(runs))


if __name__ == "__main__":
    app.run(main)
