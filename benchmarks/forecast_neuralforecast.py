r"""neuralforecast's LSTM as a peer of the forecasting table: the same series, split, test origins
and metrics as ``experiments.forecast`` with its default config, 3 seeds.

    python -m pip install -e ".[peers]"
    python -m benchmarks.forecast_neuralforecast --series=air_passengers,wineind,ausbeer,taylor \
        --workdir=results/forecast

For each series, ``neuralforecast.models.LSTM`` (Nixtla; a peer only, never imported by rnnjax)
gets what the rnnjax default (``experiments/forecast/configs.py:lstm``) gets:

* the data before the test part (the test part: the last ``horizon x 2`` points, forecast from 2
  origins one horizon apart with the true history before each, ``NeuralForecast.cross_validation``
  with ``refit=False``); of it, the last ``horizon x 2`` points are neuralforecast's validation
  part (``val_size``) and the rest trains;
* the same horizon and context (``input_size``), 1 x 64 LSTM encoder, a direct multi-output
  decoder (neuralforecast's one-layer MLP, ``recurrent=False``), the season-phase
  (sin, cos) of every point as future covariates;
* the same loss: the pinball loss at 0.05, 0.5, 0.95 (``MQLoss(level=[90])``), the median as the
  point forecast and the 90% interval from the outer quantiles;
* scaling: neuralforecast's window scaler ``scaler_type="standard"`` (each window standardised by
  its context's mean and standard deviation), the closest equivalent of rnnjax's training-part
  z-scaling followed by the shift by each window's context mean;
* a comparable budget: Adam at 3e-3, at most 1000 steps (rnnjax: at most 20 epochs of 50 steps)
  of 64 windows (``windows_batch_size``), validation every 50 steps and early stopping after 6
  checks without improvement of the validation loss (rnnjax: patience 6 epochs on the valid
  MASE, and it keeps the best epoch's parameters; neuralforecast keeps the last ones). No
  learning-rate decay (rnnjax: x0.9 per epoch after the 5th).

MASE, sMAPE, coverage and MSIS come from ``rnnjax.forecasting.scores`` on the same test points
(MASE scaled by the same training part's seasonal-naive error). Writes
``WORKDIR/<series>_neuralforecast/results.json`` (mean, std, min, max over seeds, read by
``experiments/forecast/tables.py`` as a peer row) and ``forecasts.csv`` of the first seed.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from importlib import metadata
from pathlib import Path

import numpy as np
from absl import app, flags

from experiments.forecast.configs import get_config
from experiments.forecast.train import FORECASTS_FILE, horizon_and_context
from experiments.launch import WORKDIR
from rnnjax.data.series import Series, calendar_features, load_series, time_split
from rnnjax.forecasting import mase_scale, scores
from rnnjax.train.metrics import machine_details
from rnnjax.validation import check_positive_int, fail

_WHERE = "forecast_neuralforecast"
PEER = "neuralforecast"
RUN_SUFFIX = "_neuralforecast"
_SERIES = flags.DEFINE_list("series", ["air_passengers", "wineind", "ausbeer", "taylor"],
                            "Named series (prepared by python -m rnnjax.data prepare).")
_SEEDS = flags.DEFINE_integer("seeds", 3, "Seeds per series (0, 1, ...).")
_MAX_STEPS = flags.DEFINE_integer("max_steps", 1000, "Training steps at most per seed.")


def settings(max_steps: int) -> dict:
    """The neuralforecast LSTM's settings beside those of the rnnjax default config."""
    config = get_config("lstm")
    return {"encoder_n_layers": config.model.num_layers,
            "encoder_hidden_size": config.model.hidden_size,
            "decoder_layers": 1, "decoder_hidden_size": config.model.hidden_size,
            "recurrent": False, "scaler_type": "standard",
            "learning_rate": config.optim.learning_rate, "max_steps": max_steps,
            "windows_batch_size": config.data.batch_size, "batch_size": 1,
            "val_check_steps": config.steps_per_epoch,
            "early_stop_patience_steps": config.patience}


def frame(series: Series):
    """neuralforecast's long frame: unique_id, ds (the grid step), y and the season phase of
    every point as future covariates."""
    import pandas as pd

    calendar = calendar_features(series.steps, series.period)
    return pd.DataFrame({"unique_id": series.name, "ds": series.steps.astype(np.int64),
                         "y": series.values.astype(np.float64),
                         "season_sin": calendar[:, 0], "season_cos": calendar[:, 1]})


def run_seed(series: Series, horizon: int, context: int, level: float, seed: int,
             options: dict) -> dict[str, np.ndarray]:
    """One seed: {origins, actual, point, lower, upper} [origins, horizon] of the test part."""
    from neuralforecast import NeuralForecast
    from neuralforecast.losses.pytorch import MQLoss
    from neuralforecast.models import LSTM

    percent = round(level * 100)
    model = LSTM(h=horizon, input_size=context, inference_input_size=context,
                 loss=MQLoss(level=[percent]), futr_exog_list=["season_sin", "season_cos"],
                 random_seed=seed, accelerator="cpu", enable_progress_bar=False, logger=False,
                 enable_model_summary=False, enable_checkpointing=False, **options)
    config = get_config("lstm")
    test_windows, valid_windows = config.data.test_windows, config.data.valid_windows
    result = NeuralForecast(models=[model], freq=1).cross_validation(
        df=frame(series), n_windows=test_windows, step_size=horizon,
        val_size=horizon * valid_windows, refit=False)
    result = result.sort_values(["cutoff", "ds"])
    shape = (test_windows, horizon)
    origins = np.asarray(sorted(set(result["cutoff"]))) + 1 - series.steps[0]
    return {"origins": origins.astype(np.int64),
            "actual": result["y"].to_numpy().reshape(shape),
            "point": result["LSTM-median"].to_numpy().reshape(shape),
            "lower": result[f"LSTM-lo-{percent}"].to_numpy().reshape(shape),
            "upper": result[f"LSTM-hi-{percent}"].to_numpy().reshape(shape)}


def write_forecasts(path: Path, series: Series, forecast: dict[str, np.ndarray]) -> None:
    """The table's forecast CSV columns (series, timestamp, origin, step, actual, forecast,
    lower, upper), read by its figure."""
    lines = ["series,timestamp,origin,step,actual,forecast,lower,upper"]
    for k, origin in enumerate(forecast["origins"]):
        for h in range(forecast["point"].shape[1]):
            values = ",".join(f"{forecast[c][k, h]:.6g}"
                              for c in ("actual", "point", "lower", "upper"))
            lines.append(f"{series.name},{series.labels[origin + h]},{series.labels[origin]},"
                         f"{h + 1},{values}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def run_series(series: Series, seeds: int, max_steps: int, out: Path) -> dict:
    """Every seed on one series; the record written to ``out/<name>_neuralforecast``."""
    config = get_config("lstm")
    name = series.name
    horizon, context = horizon_and_context(config.data, series.period)
    split = time_split(series, context=context, horizon=horizon,
                       test_windows=config.data.test_windows,
                       valid_windows=config.data.valid_windows)
    scale = mase_scale(series.values[:split.train_end], series.period)
    options = settings(max_steps)
    workdir = out / f"{name}{RUN_SUFFIX}"
    workdir.mkdir(parents=True, exist_ok=True)
    start, cpu_start = time.time(), _cpu_seconds()
    per_seed = []
    for seed in range(seeds):
        forecast = run_seed(series, horizon, context, config.model.level, seed, options)
        if list(forecast["origins"]) != split.origins("test"):
            fail(_WHERE, "neuralforecast's test origins", split.origins("test"),
                 list(forecast["origins"]))
        per_seed.append(scores(forecast["actual"], forecast["point"], forecast["lower"],
                               forecast["upper"], scale, config.model.level))
        print(f"{name} seed {seed}: " + " ".join(f"test_{k} {v:.4g}"
                                                 for k, v in per_seed[-1].items()),
              file=sys.stderr)
        if seed == 0:
            write_forecasts(workdir / FORECASTS_FILE, series, forecast)
    stats = {f: {f"test_{k}": float(getattr(np, f)([s[k] for s in per_seed]))
                 for k in per_seed[0]} for f in ("mean", "std", "min", "max")}
    record = {"status": "complete", "experiment": "forecast", "peer": PEER,
              "name": f"{PEER} {metadata.version(PEER)} LSTM", "series": name,
              "replicates_done": seeds, "replicates_total": seeds, **stats,
              "per_seed": per_seed, "horizon": horizon, "context": context,
              "model": {"num_layers": options["encoder_n_layers"],
                        "hidden_size": options["encoder_hidden_size"], "cell": "lstm",
                        "decoder": "direct (MLP)", "head": "quantile"},
              "settings": options, "versions": {p: metadata.version(p) for p in
                                                (PEER, "torch", "pytorch-lightning")},
              "wall_time_s": time.time() - start,
              "session_cpu_time_s": _cpu_seconds() - cpu_start,
              "load_average": os.getloadavg(), "machine": machine_details()["machine"],
              "machine_details": machine_details(),
              "command": "python -m benchmarks.forecast_neuralforecast " + " ".join(sys.argv[1:])}
    (workdir / "results.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return record


def _cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children."""
    own, children = (resource.getrusage(w) for w in (resource.RUSAGE_SELF,
                                                    resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main(argv: list[str]) -> None:
    del argv
    check_positive_int(_WHERE, "--seeds", _SEEDS.value)
    check_positive_int(_WHERE, "--max_steps", _MAX_STEPS.value)
    for name in _SERIES.value:
        (series,) = load_series(name)
        record = run_series(series, _SEEDS.value, _MAX_STEPS.value, Path(WORKDIR.value))
        print(f"{name}: test MASE {record['mean']['test_mase']:.3f} ± "
              f"{record['std']['test_mase']:.3f}, sMAPE {record['mean']['test_smape']:.2f}, "
              f"{record['wall_time_s']:.0f} s")


if __name__ == "__main__":
    app.run(main)
