"""neuralforecast's LSTM as a peer row of the forecasting table: a short run on a small monthly
series forecasts the table's test points, its record's MASE is the hand-computed one, and the
table and its figure read the record. Skipped where neuralforecast is not installed (it is an
optional peer: ``pip install -e ".[peers]"``). The module is looked up, not imported, at collection:
importing it (torch, lightning, ray) costs every pytest worker ~10 s of CPU, and only the worker
that runs these tests needs it."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import numpy as np
import pytest
from absl.testing import flagsaver

from benchmarks.forecast_neuralforecast import RUN_SUFFIX, run_series
from benchmarks.forecast_neuralforecast import main as peer_main
from experiments.forecast.tables import TABLES, plot_forecasts
from experiments.report.tables import find_results, load_run, render
from rnnjax.data.series import read_series

pytestmark = pytest.mark.skipif(importlib.util.find_spec("neuralforecast") is None,
                                reason="neuralforecast is not installed (the peers extra)")

HORIZON = 12  # monthly: the season, the default horizon; context 36, 2 test and 2 valid origins


@pytest.fixture(scope="module")
def peer_run(tmp_path_factory) -> tuple[np.ndarray, Path]:
    """(series values, record directory) of 1 seed and 20 steps on 120 seasonal months."""
    folder = tmp_path_factory.mktemp("peer")
    t = np.arange(120)
    values = 100 + 0.5 * t + 10 * np.sin(2 * np.pi * t / 12)
    values += np.random.default_rng(0).normal(0, 1, t.size)
    stamps = [f"{1990 + i // 12}-{i % 12 + 1:02d}" for i in t]
    path = folder / "months.csv"
    path.write_text("timestamp,value\n" + "".join(f"{s},{v:.4f}\n" for s, v in
                                                  zip(stamps, values, strict=True)))
    (series,) = read_series(path)
    run_series(series, seeds=1, max_steps=20, out=folder)
    return np.asarray(series.values), folder / f"{series.name}{RUN_SUFFIX}"


def test_peer_forecasts_the_test_points_and_scores_them(peer_run):
    values, workdir = peer_run
    with open(workdir / "forecasts.csv", newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    actual = np.asarray([float(r["actual"]) for r in rows])
    forecast = np.asarray([float(r["forecast"]) for r in rows])
    np.testing.assert_allclose(actual, values[-2 * HORIZON:], rtol=1e-5)
    assert [int(r["step"]) for r in rows] == list(range(1, HORIZON + 1)) * 2
    # MASE by hand: the training part ends 4 horizons before the end (2 valid, 2 test)
    train = values[:-4 * HORIZON]
    scale = np.mean(np.abs(train[HORIZON:] - train[:-HORIZON]))
    run = load_run(workdir / "results.json")
    assert run["mean"]["test_mase"] == pytest.approx(np.mean(np.abs(actual - forecast)) / scale,
                                                     rel=1e-4)
    assert np.all(np.asarray([float(r["lower"]) for r in rows]) <=
                  np.asarray([float(r["upper"]) for r in rows]))


def test_table_and_figure_read_the_peer_record(peer_run, tmp_path):
    _, workdir = peer_run
    (path,) = find_results([workdir])
    run = load_run(path)
    text = render(TABLES[0], [run])
    row = next(line for line in text.splitlines() if "neuralforecast" in line
               and line.startswith("|") and "LSTM" in line)
    assert f"{run['mean']['test_mase']:.3f}" in row
    assert "scaler standard" in row and "<= 20 steps" in row
    assert plot_forecasts([run], tmp_path).is_file()


def test_command_line_rejects_a_bad_seed_count(tmp_path):
    """The program's absl ``main`` with ``--seeds=0`` parsed (in-process: the check is main's,
    not the interpreter's) refuses it before any series is loaded or written."""
    with flagsaver.as_parsed(seeds="0", workdir=str(tmp_path / "unused")), pytest.raises(
            ValueError, match=r"forecast_neuralforecast: --seeds must be a positive int, got 0$"):
        peer_main([])
    assert not (tmp_path / "unused").exists()
