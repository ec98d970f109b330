"""The ACT experiment end to end on its quick config, and a bad tau refused before training."""

from __future__ import annotations

import pytest

from experiments.act.configs import get_config
from experiments.act.train import train_and_evaluate


def test_quick_run_reports_error_and_ponder_time(tmp_path):
    results = train_and_evaluate(get_config("quick"), tmp_path / "quick")
    assert results["status"] == "complete" and results["task"] == "parity"
    assert 0.0 <= results["test_sequence_error"] <= 1.0
    assert 1.0 <= results["test_ponder"] <= 5.0  # at most max_ponder_steps


def test_negative_tau_fails_in_one_line_before_training(tmp_path):
    config = get_config("quick")
    config.model.time_penalty = -0.01
    with pytest.raises(ValueError, match=r"^make_act_cell: time_penalty must be a number >= 0"):
        train_and_evaluate(config, tmp_path / "run")
    assert not (tmp_path / "run" / "checkpoints").exists()
