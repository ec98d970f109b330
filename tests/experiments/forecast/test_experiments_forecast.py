"""The forecasting experiment end to end on a small wide CSV: the quick config, the forecast CSV,
the plot, the seasonal-naive baseline beside the model, the predict command, and one-line errors
for bad files."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from experiments.forecast.configs import get_config
from experiments.forecast.train import train_and_evaluate

REPO = Path(__file__).resolve().parents[3]


def _cli(module: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "JAX_PLATFORMS": "cpu"}
    return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def wide_csv(tmp_path_factory) -> Path:
    """Two quarterly series of 60 points: seasonal with a trend, one with a missing cell."""
    folder = tmp_path_factory.mktemp("series")
    t = np.arange(60)
    a = 100 + t + 10 * np.sin(2 * np.pi * t / 4)
    b = 50 + 5 * np.cos(2 * np.pi * t / 4) + np.random.default_rng(0).normal(0, 1, t.size)
    stamps = [f"{1990 + i // 4}Q{i % 4 + 1}" for i in t]
    rows = [f"{s},{x:.3f},{'' if i == 20 else f'{y:.3f}'}"
            for i, (s, x, y) in enumerate(zip(stamps, a, b, strict=True))]
    path = folder / "wide.csv"
    path.write_text("timestamp,a,b\n" + "\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def trained(wide_csv, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("run") / "w"
    config = get_config("quick")
    config.data.path = str(wide_csv)
    return workdir, train_and_evaluate(config, workdir)


def test_quick_run_scores_model_and_baseline_and_writes_outputs(trained):
    workdir, results = trained
    assert results["status"] == "complete" and results["series"] == "wide.csv"
    for key in ("test_mase", "test_smape", "test_coverage", "test_msis",
                "test_seasonal_naive_mase", "valid_mase"):
        assert np.isfinite(results[key]), key
    with open(workdir / "forecasts.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    # 2 series x 2 test origins x horizon 4 (the quarterly period)
    assert len(rows) == 16 and {r["series"] for r in rows} == {"a", "b"}
    assert rows[0]["timestamp"] == "2003Q1" and rows[-1]["timestamp"] == "2004Q4"
    # the seasonal naive repeats the last season before the origin: a's values 4 points back
    first = [r for r in rows if r["series"] == "a" and r["origin"] == "2003Q1"]
    t = np.arange(52, 56)
    np.testing.assert_allclose([float(r["seasonal_naive"]) for r in first],
                               100 + (t - 4) + 10 * np.sin(2 * np.pi * t / 4), atol=2e-3)
    assert (workdir / "forecasts.png").stat().st_size > 1000


def test_predict_forecasts_past_the_new_data(trained, wide_csv, tmp_path):
    workdir, _ = trained
    out = tmp_path / "next.csv"
    result = _cli("experiments.forecast.predict", f"--workdir={workdir}",
                  f"--data={wide_csv}", f"--out={out}")
    assert result.returncode == 0, result.stderr[-2000:]
    with open(out, newline="") as file:
        rows = list(csv.DictReader(file))
    assert [r["timestamp"] for r in rows[:4]] == ["2005-01-01", "2005-04-01", "2005-07-01",
                                                  "2005-10-01"]
    assert all(float(r["lower"]) <= float(r["forecast"]) <= float(r["upper"]) for r in rows)


@pytest.mark.parametrize("body,message", [
    ("timestamp,value\n2000-01,1\n2000-02,x\n", "column 'value', row 3 must be a number"),
    ("timestamp,value\n" + "".join(f"2000-{m:02d},5\n" for m in range(1, 13)),
     "must be at least"),
])
def test_bad_files_are_refused_before_training(tmp_path, body, message):
    path = tmp_path / "bad.csv"
    path.write_text(body)
    config = get_config("quick")
    config.data.path = str(path)
    with pytest.raises(ValueError, match=message):
        train_and_evaluate(config, tmp_path / "w")
    assert not (tmp_path / "w" / "config.json").exists()
