"""The NTM experiment end to end on its quick config (results, generalisation metrics, the
addressing record and the report), and one-line errors before any training."""

from __future__ import annotations

import numpy as np
import pytest

from experiments.ntm import tables
from experiments.ntm.configs import get_config
from experiments.ntm.train import ADDRESSING_FILE, train_and_evaluate
from experiments.report.tables import load_run, render


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("ntm") / "quick"
    return workdir, train_and_evaluate(get_config("quick"), workdir)


def test_quick_run_records_costs_at_every_test_length(quick_run):
    workdir, results = quick_run
    assert results["status"] == "complete" and results["task"] == "copy"
    for key in ("test_loss", "test_sequence_error", "test_length3_loss", "valid_loss"):
        assert np.isfinite(results[key]), key
    # a random network costs about 1 bit per scored output bit: 8 bits x 3 steps at length 3
    assert 0.5 * 24 < results["test_length3_loss"] < 2.0 * 24
    record = np.load(workdir / ADDRESSING_FILE)
    np.testing.assert_allclose(record["read_weights"].sum(-1), 1.0, rtol=1e-5)
    assert record["memory"].shape[1:] == (8, 4)
    table = render(tables.TABLES[0], [load_run(workdir / "results.json")])
    assert "| quick | copy | NTM, lstm controller 16" in table


@pytest.mark.parametrize(("field", "value", "message"), [
    ("data.task", "sort", "ntm: config.data.task must be one of"),
    ("data.train", {"min_length": 1, "max_lenght": 3}, "ntm: config.data.train must be "
     "arguments of copy_task"),
    ("model.cell_kwargs", {"shift_range": 2}, "NTMCell: shift_range must be an odd int"),
])
def test_bad_config_fails_in_one_line_before_training(tmp_path, field, value, message):
    config = get_config("quick")
    section, name = field.split(".")
    config[section][name] = value
    with pytest.raises((ValueError, TypeError), match="^" + message):
        train_and_evaluate(config, tmp_path / "run")
    assert not (tmp_path / "run" / "checkpoints").exists()
