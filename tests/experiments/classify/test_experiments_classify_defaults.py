"""The BiLSTM default follows its committed evidence (results/classify/defaults_sweep/, README
"Defaults"): its epoch cap lets patience end training, and its learning rate, pooling and dropout
are those of the sweep's best variant on the average of the two datasets; the sweep's runs are
reported in their own table."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from experiments.classify.configs import get_config
from experiments.classify.tables import RUNS, TABLE_A, accuracy
from experiments.classify.tables import SWEEP as SWEEP_TABLE
from experiments.report.tables import load_run, render
from rnnjax.baselines import BASELINES
from rnnjax.train.run import RESULTS_FILE

SWEEP = Path(__file__).resolve().parents[3] / "results" / "classify" / "defaults_sweep"
DATASETS = ("six_plays", "uncertainty")


def records(dataset: str) -> dict[str, dict]:
    """variant -> its complete BiLSTM run record on ``dataset`` (the baseline fits beside them,
    e.g. TF-IDF + LR at several min_df, are not variants of the default)."""
    found = {path.parent.name: json.loads(path.read_text())
             for path in sorted((SWEEP / dataset).glob("*/results.json"))}
    return {name: run for name, run in found.items()
            if run["status"] == "complete" and run["name"] not in BASELINES}


def hyperparameters(config: dict) -> tuple:
    return (config["num_epochs"], config["optim"]["learning_rate"], config["model"]["pooling"],
            config["model"]["dropout"])


def test_patience_not_the_cap_ends_the_default_on_both_datasets():
    default = get_config("bilstm")
    checked = 0
    for dataset in DATASETS:
        for name, run in records(dataset).items():
            if run["config"]["num_epochs"] != default.num_epochs:
                continue
            capped = [r["replicate"] for r in run["replicates"]
                      if r["epochs"] - r["best_epoch"] < default.patience]
            assert not capped, f"{dataset}/{name}: {capped} still improving at the cap"
            checked += 1
    assert checked >= 2 * 4, "the sweep has too few runs at the default's cap"


def test_the_default_is_the_sweeps_best_variant_on_average():
    runs = [records(dataset) for dataset in DATASETS]
    shared = sorted(set(runs[0]) & set(runs[1]))
    average = {name: np.mean([r[name]["mean"]["test_accuracy"] for r in runs]) for name in shared}
    best = max(average, key=average.get)
    assert len(shared) >= 5 and average[best] > min(average.values())
    default = get_config("bilstm").to_dict()
    assert hyperparameters(runs[0][best]["config"]) == hyperparameters(default), best


def test_sweep_runs_have_their_own_table_not_the_cells_of_the_dataset_tables():
    results = SWEEP.parent
    committed = load_run(results / "uncertainty" / "bilstm" / RESULTS_FILE)
    swept = load_run(SWEEP / "uncertainty" / "lr4e-3" / RESULTS_FILE)
    for runs in ([committed, swept], [swept, committed]):
        table_a = render(TABLE_A, runs)
        assert f"| BiLSTM | not run | {accuracy(committed)} |" in table_a
        assert accuracy(swept) not in table_a and accuracy(swept) not in render(RUNS, runs)
        assert f"| uncertainty | lr4e-3 | 30 | {accuracy(swept)} | 73.7 |" in render(
            SWEEP_TABLE, runs)
