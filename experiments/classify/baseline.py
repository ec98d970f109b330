"""The classification baselines on the classifier's own folds and held-out splits.

    python -m experiments.classify.baseline --baseline=tfidf_lr \
        --config.data.name=mr_subset --workdir=results/classify/mr_subset/tfidf_lr
    python -m experiments.classify.baseline --baseline=nbsvm \
        --config.data.name=mr_subset --workdir=results/classify/mr_subset/nbsvm

``--baseline``: ``tfidf_lr`` (TF-IDF of word uni+bigrams, logistic regression, liblinear:
one-vs-rest for more than two classes) or ``nbsvm`` (Wang & Manning 2012 on binarized
uni+bigrams), both from ``rnnjax.baselines``. The data, folds,
valid split and tokens (``clean_str``, truncated to ``data.max_len``) are those of ``--config``'s
data section, so the rows sit beside the RNN and CNN rows of the same dataset; C is chosen on
each fold's valid split from ``--c_grid``. The fits are deterministic, so one seed (0) per fold.
Writes workdir/results.json in the classifier's run-of-replicates format.
"""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ml_collections
from absl import flags, logging

from experiments import launch
from experiments.classify.train import dataset_name, replicates
from rnnjax.baselines import BASELINES, C_GRIDS, DESCRIPTIONS, fit_fold
from rnnjax.data.labelled import load_labelled, make_splits
from rnnjax.train.metrics import machine
from rnnjax.train.replicates import aggregate
from rnnjax.train.run import RESULTS_FILE
from rnnjax.train.workdir import write_json
from rnnjax.validation import check_choice, fail

CONFIG = launch.define_config(__file__)
_BASELINE = flags.DEFINE_enum("baseline", "tfidf_lr", BASELINES, "The baseline to fit.")
_C_GRID = flags.DEFINE_list("c_grid", None, "Inverse regularisation strengths tried on each "
                            "fold's valid split (default: the baseline's C_GRIDS entry).")
_MIN_DF = flags.DEFINE_integer("min_df", 1, "Only n-grams found in at least this many training "
                               "texts of a fold are features (1: all).")


def run_baseline(kind: str, config: ml_collections.ConfigDict, workdir: str | Path,
                 c_grid: Sequence[float] | None = None, min_df: int = 1) -> dict[str, Any]:
    """Fit baseline ``kind`` on every fold of ``config``'s data (the folds of its replicates),
    on the n-grams found in at least ``min_df`` training texts; write workdir/results.json and
    return it."""
    started = time.perf_counter()
    kind, data_config = check_choice("run_baseline", "kind", kind, BASELINES), config.data
    folds = sorted({r["data.fold"] for r in replicates(config)})
    data = load_labelled(dataset_name(data_config), data_dir=data_config.data_dir,
                         path=data_config.path)
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    rows = []
    for fold in folds:
        fold_started = time.perf_counter()
        splits = make_splits(data, fold=fold, num_folds=data_config.num_folds,
                             valid_fraction=data_config.valid_fraction)
        fitted = fit_fold(kind, data, splits, data_config.max_len, c_grid, log=logging.info,
                          min_df=min_df)
        rows.append({"replicate": f"fold{fold}", "seed": 0, "data.fold": fold,
                     "status": "complete", **fitted,
                     "wall_time_s": round(time.perf_counter() - fold_started, 1)})
        logging.info("fold %d: C=%g, valid accuracy %.4f, test accuracy %.4f", fold,
                     fitted["C"], fitted["valid_accuracy"], fitted["test_accuracy"])
    dataset = data_config.name if data_config.path is None else (
        f"file:{Path(data_config.path).name}")
    results = {"status": "complete", "experiment": "classify", "name": kind, "dataset": dataset,
               "max_len": data_config.max_len, "vectors": "none (bag of n-grams)",
               "replicates_done": len(rows), "replicates_total": len(rows),
               **aggregate(rows), "replicates": rows,
               "wall_time_s": round(time.perf_counter() - started, 1), "machine": machine(),
               "command": shlex.join(["python", *sys.orig_argv[1:]]),
               "model": {"kind": kind, "description": DESCRIPTIONS[kind],
                         "c_grid": list(c_grid or C_GRIDS[kind]), "min_df": min_df},
               "config": {"data": data_config.to_dict()}}
    write_json(workdir / RESULTS_FILE, results)
    print(f"{kind} on {dataset}: test accuracy {100 * results['mean']['test_accuracy']:.2f} ± "
          f"{100 * results['std']['test_accuracy']:.2f}% over {len(rows)} folds")
    return results


def baseline(config: ml_collections.ConfigDict, workdir: str | Path,
             allow_changes: Any = ()) -> dict[str, Any]:
    """The command line: ``--baseline``, ``--c_grid`` and ``--min_df`` on ``--config``'s
    data."""
    del allow_changes  # nothing to resume: the baseline is refitted from scratch
    try:
        c_grid = [float(c) for c in _C_GRID.value] if _C_GRID.value else None
    except ValueError:
        fail("classify.baseline", "--c_grid", "comma-separated numbers", _C_GRID.value)
    return run_baseline(_BASELINE.value, config, workdir, c_grid, _MIN_DF.value)


if __name__ == "__main__":
    launch.main(baseline, CONFIG)
