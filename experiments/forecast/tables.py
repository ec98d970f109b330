"""The forecasting table: test MASE and sMAPE of each RNN (mean ± std over seeds) beside the
seasonal-naive, ETS and ARIMA forecasts from the same origins, and a figure of every series'
test forecasts against the truth.

The baselines are deterministic: each run reports the same numbers for its series, so a series'
rows share them. Peer rows (``"peer"`` in the record, e.g. neuralforecast's LSTM written by
``python -m benchmarks.forecast_neuralforecast``) follow the rnnjax rows of their series.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

from experiments.report import columns, plots
from experiments.report.tables import Column, RunTable, mean_std, run_workdirs

Run = dict[str, Any]
# the named series of configs.py in the order of the table; files of your own follow
ORDER = ("air_passengers", "wineind", "ausbeer", "taylor", "co2_weekly")
BASELINES = (("seasonal_naive", "seasonal naive"), ("ets", "ETS"), ("arima", "ARIMA"))
PLOT_FILE = "forecasts.png"


def _baseline(method: str):
    """'MASE / sMAPE' of a baseline (the same for every seed)."""
    def value(run: Run) -> str:
        mase, smape = (columns.metric(run, f"test_{method}_{name}") for name in ("mase", "smape"))
        return "-" if mase is None else f"{mase:.3f} / {smape:.2f}"
    return value


def _model(run: Run) -> str:
    model = run["model"]
    text = (f"{model['num_layers']} x {model['hidden_size']} {model['cell']}, "
            f"{model['decoder']}, {model['head']}")
    if "peer" in run:  # a peer library's run: its own training settings
        settings = run["settings"]
        text += (f", scaler {settings['scaler_type']}, <= {settings['max_steps']} steps of "
                 f"{settings['windows_batch_size']} windows")
    return text


def _sort(run: Run) -> tuple:
    series = run.get("series", "")
    return (ORDER.index(series) if series in ORDER else len(ORDER), series, "peer" in run,
            run["name"])


TABLES = (
    RunTable(
        title="Forecasting: test MASE and sMAPE % (RNN: mean ± std over seeds)",
        select=lambda run: True,
        sort=_sort,
        columns=(
            Column("series", lambda r: r.get("series", "-")),
            Column("run", lambda r: r["name"]),
            Column("model", _model),
            columns.SEEDS,
            Column("RNN MASE", lambda r: mean_std(r, "test_mase", digits=3)),
            Column("RNN sMAPE", lambda r: mean_std(r, "test_smape", digits=2)),
            *(Column(f"{label} MASE / sMAPE", _baseline(method))
              for method, label in BASELINES),
            Column("RNN coverage", lambda r: mean_std(r, "test_coverage", digits=2)),
            Column("ETS coverage", lambda r: mean_std(r, "test_ets_coverage", digits=2)),
            columns.WALL_TIME,
            columns.STATUS,
        ),
        note=("MASE (Hyndman & Koehler 2006) scales the absolute error by the training part's "
              "in-sample seasonal-naive error; sMAPE as in M4. Test part: the last 2 horizons "
              "(horizon = the seasonal period: 12 monthly, 4 quarterly, 48 half-hourly), "
              "forecast from 2 rolling origins with the true history; every model and baseline "
              "is fitted on the training part only (the 2 horizons before the test part select "
              "the RNN's epoch). Coverage: fraction of test points inside the 90% interval "
              "(statsmodels simulates some ETS models' intervals, so ETS coverage can differ "
              "slightly between the runs of one series; its point forecasts do not). "
              "neuralforecast rows: its LSTM on the same split, origins, loss (pinball at "
              "0.05, 0.5, 0.95) and season-phase covariates, scored by the same metric code; "
              "its window scaler and early stopping on the validation loss differ (settings in "
              "benchmarks/forecast_neuralforecast.py)."),
    ),
)


def _read_forecasts(run: Run) -> list[dict[str, str]]:
    path = run_workdirs(run)[0] / "forecasts.csv"
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def plot_forecasts(runs: list[Run], out_dir: Path) -> Path:
    """One panel per series: the test truth, each RNN's forecasts (first seed) with its
    interval, and the baselines' point forecasts."""
    by_series: dict[str, list[Run]] = {}
    for run in sorted((r for r in runs if r["status"] != "diverged"), key=_sort):
        by_series.setdefault(run.get("series", "?"), []).append(run)
    panels = max(len(by_series), 1)
    fig, axes = plots.pyplot().subplots(panels, 1, figsize=(10, 3 * panels), squeeze=False)
    for ax, (series, group) in zip(axes[:, 0], by_series.items(), strict=False):
        for k, run in enumerate(group):
            rows = _read_forecasts(run)
            if not rows:
                continue
            x = np.arange(len(rows))
            value = {c: np.asarray([float(r[c]) for r in rows]) for c in
                     ("actual", "forecast", "lower", "upper")}
            if k == 0:
                ax.plot(x, value["actual"], color="black", lw=1.2, label="truth")
                for j, (method, label) in enumerate(BASELINES):
                    if method in rows[0]:
                        ax.plot(x, [float(r[method]) for r in rows], ls="--", lw=1,
                                color=f"C{j + 3}", label=label)
            ax.fill_between(x, value["lower"], value["upper"], color=f"C{k}", alpha=0.2)
            ax.plot(x, value["forecast"], color=f"C{k}", lw=1.5,
                    label=f"{run['name']} (90% interval)")
        ax.set_title(f"{series}: test points (origins one horizon apart), first seed")
        ax.legend(fontsize=7, loc="upper left")
    return plots.save(fig, out_dir / PLOT_FILE, dpi=80)


PLOTS = (plot_forecasts,)
