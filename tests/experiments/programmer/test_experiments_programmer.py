"""The Neural Programmer experiment end to end on its quick config, and bad configs refused in
one line before any training."""

from __future__ import annotations

import pytest

from experiments.programmer.configs import VARIANTS, get_config
from experiments.programmer.train import train_and_evaluate


def test_quick_run_reports_accuracy_per_template(tmp_path):
    config = get_config("quick")
    results = train_and_evaluate(config, tmp_path / "quick")
    assert results["status"] == "complete" and results["task"] == "table_questions"
    for metric in ("test_accuracy", "test_soft_accuracy", "valid_accuracy"):
        assert 0.0 <= results[metric] <= 1.0
    assert {f"test_accuracy_{name}" for name in config.data.templates} <= set(results)


def test_every_variant_builds():
    for variant in VARIANTS:
        assert get_config(variant).name == variant


@pytest.mark.parametrize("field, value, message", [
    ("model.operations", ["sum", "median"], r"^programmer: config.model.operations must be one "
                                             r"of \("),
    ("model.operations", ["sum", "count"], r"^programmer: config.model.operations must be a "
                                           r"list holding \['and', 'difference'"),
    ("model.steps", 0, r"^programmer: config.model.steps must be a positive int, got 0$"),
    ("model.steps", 3, r"^programmer: config.model.steps must be >= 4 \(the longest program"),
    ("data.rows", 0, r"^programmer: config.data.rows must be a positive int, got 0$"),
    ("data.columns", 0, r"^programmer: config.data.columns must be a positive int, got 0$"),
    ("data.templates", ["sum", "mean"], r"^programmer: config.data.templates must be one of"),
])
def test_bad_config_fails_in_one_line_before_training(tmp_path, field, value, message):
    config = get_config("quick")
    section, name = field.split(".")
    with config.unlocked():
        config[section][name] = value
    with pytest.raises(ValueError, match=message):
        train_and_evaluate(config, tmp_path / "run")
    assert not (tmp_path / "run" / "checkpoints").exists()
