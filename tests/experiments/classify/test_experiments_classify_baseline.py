"""The classification baselines on a user's file: the classifier's folds and splits, learning the
adjectives, results.json in the run-of-replicates format, the rows of the report tables."""

from __future__ import annotations

import json

import pytest

from experiments.classify.baseline import run_baseline
from experiments.classify.configs import get_config
from experiments.classify.tables import BASELINE_LABELS, TABLE_A, TABLE_B, accuracy
from experiments.report.tables import load_run, render
from rnnjax.data.labelled import load_labelled, make_splits


@pytest.mark.parametrize("kind", ["tfidf_lr", "nbsvm"])
def test_baseline_learns_on_the_classifiers_folds(kind, tsv, tmp_path):
    config = get_config("quick")
    config.update_from_flattened_dict({"data.path": str(tsv)})
    results = run_baseline(kind, config, tmp_path)
    assert json.loads((tmp_path / "results.json").read_text()) == results
    assert [r["data.fold"] for r in results["replicates"]] == [0, 1]  # quick: 2 of 10 folds
    assert results["mean"]["test_accuracy"] == 1.0 and results["name"] == kind
    data = load_labelled("file", path=tsv)
    splits = make_splits(data, fold=1, num_folds=config.data.num_folds,
                         valid_fraction=config.data.valid_fraction)
    assert results["replicates"][1]["features"] > 0 and len(splits["test"]) == 8
    run = load_run(tmp_path / "results.json")
    assert accuracy(run) == "100.0 ± 0.0 (2×1)"
    label = BASELINE_LABELS[["tfidf_lr", "nbsvm"].index(kind)]
    assert f"| {label} | not run | not run | not run |" in render(TABLE_A, [run])
    assert f"| {label} | not run | not run | not run | n/a | n/a | n/a |" in render(
        TABLE_B, [run])
