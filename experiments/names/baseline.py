"""The names baseline: logistic regression on character n-grams, on the classifier's split.

    python -m experiments.names.baseline --workdir=results/names/ngram_logreg \
        [--config=experiments/names/configs.py:lstm] [--ngrams=1,4]

The model is experiments/names/ngram.py's (character 1- to 4-grams by default, C chosen from
``--c_grid`` on the valid split). The data, split and categories are those of ``--config``'s data
section (the same as the RNN rows). Writes workdir/results.json in the report's format.
"""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path
from typing import Any

from absl import flags

from experiments import launch
from experiments.names.ngram import fit
from experiments.names.train import NameClassifierTask
from rnnjax.train.metrics import machine
from rnnjax.train.run import RESULTS_FILE
from rnnjax.train.workdir import write_json

CONFIG = launch.define_config(__file__)
_NGRAMS = flags.DEFINE_list("ngrams", ["1", "4"], "Smallest and largest n of the n-grams.")
_C_GRID = flags.DEFINE_list("c_grid", ["1", "3", "10", "30"],
                            "Inverse regularisation strengths tried on the valid split.")


def baseline(config: Any, workdir: str | Path, allow_changes: Any = ()) -> dict[str, Any]:
    """Fit and score the baseline on ``config``'s data; write workdir/results.json."""
    del allow_changes  # nothing to resume: the baseline is refitted from scratch
    started = time.perf_counter()
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    task = NameClassifierTask(config)
    task.load(workdir)
    low, high = (int(n) for n in _NGRAMS.value)
    fitted = fit(task, (low, high), [float(c) for c in _C_GRID.value])
    results = {"status": "complete", "experiment": task.experiment, "name": "ngram_logreg",
               **task.summary(), "fingerprint": task.fingerprint(), **fitted,
               "wall_time_s": round(time.perf_counter() - started, 1), "machine": machine(),
               "command": shlex.join(["python", *sys.orig_argv[1:]]),
               "config": {"data": config.data.to_dict()}}
    write_json(workdir / RESULTS_FILE, results)
    print(f"char {low}-{high}-gram logistic regression (C={fitted['C']:g}, "
          f"{fitted['features']} features): valid accuracy "
          f"{100 * fitted['valid_accuracy']:.2f}%, test accuracy "
          f"{100 * fitted['test_accuracy']:.2f}% (balanced "
          f"{100 * fitted['test_balanced_accuracy']:.2f}%)")
    return results

if __name__ == "__main__":
    launch.main(baseline, CONFIG)
