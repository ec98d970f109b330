"""The memory experiment end to end: a GRU learns a short adding problem (MSE far below the
trivial baseline, measured on the same test sequences), a dilated GRU runs copy memory, the
report renders its grid, and bad configs fail in one line naming the field before any file is
written."""

from __future__ import annotations

import shutil
import time

import numpy as np
import pytest

from experiments.memory.configs import get_config
from experiments.memory.tables import TABLES, cell
from experiments.memory.train import train_and_evaluate
from experiments.report.tables import load_run, render
from rnnjax.data.synthetic import adding_problem, copy_baseline_cross_entropy, rng_for


def adding_config():
    """A GRU on the adding problem at T = 6: 2 epochs of 100 steps."""
    config = get_config("quick")
    config.data.length = 6
    config.data.steps_per_epoch = 100
    config.num_epochs = 2
    config.data.test_size = 200
    config.model.hidden_size = 16
    config.model.cell = "gru"
    config.optim.learning_rate = 1e-2
    return config


@pytest.fixture(scope="module")
def adding_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("memory") / "adding"
    return train_and_evaluate(adding_config(), workdir), workdir


def test_gru_learns_the_adding_problem_below_the_trivial_baseline(adding_run, capsys):
    results, workdir = adding_run
    _, targets = adding_problem(rng_for(0, "test"), 200, 6)
    baseline = float(np.mean((targets.astype(np.float64) - 1.0) ** 2))
    assert results["status"] == "complete" and results["steps"] == 200
    assert results["test_baseline_mse"] == pytest.approx(baseline)
    assert results["test_mse"] < baseline / 4
    table = render(TABLES[0], [load_run(workdir / "results.json")])
    assert "| gru |" in table and "trivial baseline, by formula" in table


def test_dilated_gru_runs_copy_memory(tmp_path):
    config = get_config("quick")
    config.task, config.data.length = "copy", 5
    config.model.cell, config.model.dilations = "gru", (2,)
    results = train_and_evaluate(config, tmp_path / "copy")
    assert results["test_baseline_cross_entropy"] == pytest.approx(
        copy_baseline_cross_entropy(5))
    assert 0.0 <= results["test_recall_accuracy"] <= 1.0
    assert results["dilations"] == [2] and results["sequence_steps"] == 25


def test_a_resumed_run_records_the_wall_time_of_all_its_sessions(adding_run, tmp_path):
    """The duration in the report's commands list is the whole run's: resumed for a third
    epoch, the run's recorded wall time holds the first session's time beside the second's."""
    first, workdir = adding_run
    resumed = tmp_path / "resumed"
    shutil.copytree(workdir, resumed)
    config = adding_config()
    config.num_epochs = 3
    started = time.perf_counter()
    second = train_and_evaluate(config, resumed)
    session = time.perf_counter() - started
    assert second["steps"] == 300
    assert second["wall_time_s"] > session + first["wall_time_s"] / 2


@pytest.mark.parametrize(("overrides", "field"), [
    ({"task": "sort"}, "config.task"),
    ({"data.length": 0}, "config.data.length"),
    ({"data.length": 1}, "config.data.length"),
    ({"model.num_layers": 2, "model.dilations": (1, 0)}, "config.model.dilations"),
    ({"model.dilations": (1, 2)}, "config.model.dilations"),
    ({"model.cell": "gru", "model.impl": "parallel"}, "config.model.impl"),
    ({"model.cell": "nope"}, "config.model.cell"),
])
def test_bad_configs_fail_in_one_line_before_training(overrides, field, tmp_path):
    config = get_config("quick")
    config.update_from_flattened_dict(overrides)
    with pytest.raises(ValueError, match=field) as error:
        train_and_evaluate(config, tmp_path / "run")
    assert "\n" not in str(error.value) and not (tmp_path / "run").exists()


def test_fashion_mnist_entry_names_the_images_trained_on():
    """A pixel entry shows steps x batch size as images, so a cut protocol reads as such."""
    run = {"task": "pixel", "steps": 200, "status": "complete", "test_accuracy": 0.8125,
           "config": {"data": {"batch_size": 100}}}
    assert cell(run) == "81.2% (200 steps = 20,000 images, 1 seed)"
    run["config"]["data"]["batch_size"] = 32
    assert "(200 steps = 6,400 images, 1 seed)" in cell(run)
