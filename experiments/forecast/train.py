"""The forecasting task: an ``RNNForecaster`` trained on windows of the training part of one or
more series, scored against seasonal-naive, ETS and ARIMA forecasts from the same origins.

Protocol (``rnnjax.data.series``): each series is split by time; the last ``horizon *
test_windows`` points are forecast from ``test_windows`` rolling origins, the ``horizon *
valid_windows`` before them select the epoch (valid MASE); the rest trains. Each series is
z-scaled with its training part's mean and standard deviation; one model is trained on the
windows of all series (a global model). Training batches draw ``batch_size`` windows uniformly
from all training windows with a generator seeded by (seed, epoch, batch), so a resumed run sees
the same batches. The baselines are fitted on the same training part and forecast from the same
origins with the same history (``rnnjax.forecasting``). Metrics are computed per series on the
original scale and averaged over series: MASE (scale: the training part's seasonal-naive error),
sMAPE, coverage and MSIS of the ``model.level`` interval.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from absl import logging
from flax import nnx

from experiments.launch import over_seeds
from rnnjax.data.series import (
    Scaler,
    Series,
    TimeSplit,
    load_series,
    time_split,
    training_starts,
    windows,
)
from rnnjax.forecasting import BASELINES, Forecasts, baseline_forecasts, mase_scale, scores
from rnnjax.models import make_model
from rnnjax.train.run import Task
from rnnjax.train.task_data import fingerprint
from rnnjax.train.workdir import write_atomic, write_json
from rnnjax.validation import check_choice, check_positive_int, fail

_WHERE = "forecast"
SCALERS_FILE = "series.json"  # per-series scaler, period and frequency, for predict
PARAMS_FILE = "forecaster.npz"  # the selected model's parameters (the test forecasts' model)
FORECASTS_FILE = "forecasts.csv"
PLOT_FILE = "forecasts.png"
# baseline forecasts already computed in this process (the replicates of one run share them):
# (data digest, method, horizon, level) -> Forecasts of the valid then test origins per series
_BASELINE_CACHE: dict[tuple, list[Forecasts]] = {}
# series arrays per window (see rnnjax.data.series.windows)
_FIELDS = ("context", "targets", "context_calendar", "future_calendar")


def _rows(forecast: Forecasts, valid_origins: int, split: str) -> Forecasts:
    """The rows of ``split``'s origins in forecasts of the valid then the test origins."""
    rows = slice(0, valid_origins) if split == "valid" else slice(valid_origins, None)
    return Forecasts(forecast.point[rows], forecast.lower[rows], forecast.upper[rows])


def data_options(data: Mapping[str, Any]) -> dict[str, Any]:
    """``read_series``' options from ``config.data``."""
    columns = [c.strip() for c in str(data.get("columns") or "").split(",") if c.strip()]
    return {"frequency": data.frequency, "period": data.period, "max_gap": data.max_gap,
            "columns": columns}


def horizon_and_context(data: Mapping[str, Any], period: int) -> tuple[int, int]:
    """(horizon, context): 0 means the seasonal period (8 for a series without season), and a
    context of 3 horizons."""
    horizon = data.horizon or (period if period > 1 else 8)
    context = data.context or 3 * horizon
    return (check_positive_int(_WHERE, "config.data.horizon", horizon),
            check_positive_int(_WHERE, "config.data.context", context))


class ForecastTask(Task):
    """``config.data.path`` a named series (``rnnjax.data.series.SERIES_SOURCES``) or a CSV."""

    experiment = "forecast"
    unit = "windows"
    selection = ("valid_mase", "min")

    def load(self, workdir: Path) -> None:
        data = self.config.data
        if not data.path:
            fail(_WHERE, "config.data.path", "a named series (e.g. air_passengers) or a CSV file",
                 repr(data.path))
        check_positive_int(_WHERE, "config.data.batch_size", data.batch_size)
        self.baselines = [check_choice(_WHERE, "config.baselines", name.strip(), BASELINES)
                          for name in self.config.baselines.split(",") if name.strip()]
        self.series: list[Series] = load_series(data.path, data_dir=data.data_dir,
                                                **data_options(data))
        periods = {s.period for s in self.series}
        if len(periods) != 1:
            fail(_WHERE, f"the series of {data.path}", "one seasonal period (one frequency)",
                 sorted(periods))
        self.period = periods.pop()
        self.horizon, self.context = horizon_and_context(data, self.period)
        check_positive_int(_WHERE, "config.data.valid_windows", data.valid_windows)
        self.splits: list[TimeSplit] = [
            time_split(s, context=self.context, horizon=self.horizon,
                       test_windows=data.test_windows, valid_windows=data.valid_windows)
            for s in self.series]
        self.scalers = [Scaler.fit(s.values, split)
                        for s, split in zip(self.series, self.splits, strict=True)]
        self.scaled = [sc.scale(s.values) for s, sc in zip(self.series, self.scalers,
                                                          strict=True)]
        self.mase_scales = [mase_scale(s.values[:split.train_end], self.period)
                            for s, split in zip(self.series, self.splits, strict=True)]
        self.train_windows = [(i, int(start)) for i, split in enumerate(self.splits)
                              for start in training_starts(split, self.context)]
        logging.info("%d series (%s, period %d): horizon %d, context %d, %d training windows; "
                     "%d missing points interpolated", len(self.series),
                     self.series[0].frequency, self.period, self.horizon, self.context,
                     len(self.train_windows), sum(s.filled for s in self.series))

    def fingerprint(self) -> str:
        return fingerprint(*(s.values for s in self.series), *(s.name for s in self.series),
                           repr([(sp.train_end, sp.valid_end) for sp in self.splits]))

    def save(self, workdir: Path) -> None:
        write_json(workdir / SCALERS_FILE, {
            "horizon": self.horizon, "context": self.context, "period": self.period,
            "series": [{"name": s.name, "mean": sc.mean, "std": sc.std,
                        "frequency": s.frequency}
                       for s, sc in zip(self.series, self.scalers, strict=True)]})

    def build_model(self, rngs: nnx.Rngs) -> nnx.Module:
        return make_model(self.config.model, horizon=self.horizon, rngs=rngs)

    # ---- windows ----------------------------------------------------------------------------
    def _windows(self, pairs: list[tuple[int, int]]) -> dict[str, np.ndarray]:
        """The windows (series index, first point) stacked over series."""
        parts = [windows(self.scaled[i], self.series[i].steps, np.asarray([start]),
                         self.context, self.horizon, self.period) for i, start in pairs]
        return {k: np.concatenate([p[k] for p in parts]) for k in _FIELDS}

    def num_batches(self, epoch: int) -> int:
        del epoch
        steps = self.config.steps_per_epoch
        return steps or max(1, len(self.train_windows) // self.config.data.batch_size)

    def batch(self, epoch: int, index: int) -> dict[str, np.ndarray]:
        rng = np.random.default_rng((self.config.seed, epoch, index))
        chosen = rng.integers(0, len(self.train_windows), self.config.data.batch_size)
        return self._windows([self.train_windows[j] for j in chosen])

    def loss(self, model, state, batch, key):
        teacher = batch["targets"] if model.decoder == "autoregressive" else None
        outputs = model(batch["context"], batch["context_calendar"], batch["future_calendar"],
                        teacher=teacher, dropout_key=key)
        loss = model.loss(outputs, batch["targets"])
        return loss, (loss, state)

    # ---- evaluation -------------------------------------------------------------------------
    def prepare_evaluation(self, graphdef: Any) -> None:
        def predict(params, batch):
            model = nnx.merge(graphdef, params)
            outputs = model(batch["context"], batch["context_calendar"],
                            batch["future_calendar"])
            lower, upper = model.interval(outputs)
            return outputs, model.point(outputs), lower, upper

        self._predict = jax.jit(predict)
        digest = self.fingerprint()
        self.baseline_forecasts: dict[str, dict[str, list]] = {"valid": {}, "test": {}}
        for method in self.baselines:  # one fit per series, forecasting both parts' origins
            key = (digest, method, self.horizon, self.config.model.level)
            if key not in _BASELINE_CACHE:
                _BASELINE_CACHE[key] = [
                    baseline_forecasts(method, s.values, sp.train_end,
                                       sp.origins("valid") + sp.origins("test"), self.horizon,
                                       self.period, self.config.model.level)
                    for s, sp in zip(self.series, self.splits, strict=True)]
                logging.info("%s baseline fitted", method)
            for split in ("valid", "test"):
                self.baseline_forecasts[split][method] = [
                    _rows(forecast, len(sp.origins("valid")), split)
                    for forecast, sp in zip(_BASELINE_CACHE[key], self.splits, strict=True)]

    def forecasts(self, model: nnx.Module, split: str) -> tuple[list[dict[str, np.ndarray]],
                                                                 float]:
        """Per series {origins, actual, point, lower, upper} [origins, horizon] on the original
        scale, and the head's loss on the scaled targets."""
        pairs = [(i, origin - self.context) for i, sp in enumerate(self.splits)
                 for origin in sp.origins(split)]
        batch = self._windows(pairs)
        outputs, point, lower, upper = (np.asarray(a) for a in self._predict(
            nnx.state(model), {k: jnp.asarray(v) for k, v in batch.items()}))
        loss = float(model.loss(jnp.asarray(outputs), jnp.asarray(batch["targets"])))
        out, row = [], 0
        for sp, sc, s in zip(self.splits, self.scalers, self.series, strict=True):
            n = len(sp.origins(split))
            rows = slice(row, row + n)
            out.append({"origins": np.asarray(sp.origins(split)),
                        "actual": np.stack([s.values[o:o + self.horizon]
                                            for o in sp.origins(split)]),
                        "point": sc.unscale(point[rows]), "lower": sc.unscale(lower[rows]),
                        "upper": sc.unscale(upper[rows])})
            row += n
        return out, loss

    def _scores(self, forecasts: list[dict[str, np.ndarray]]) -> dict[str, float]:
        """Metrics averaged over series."""
        level = self.config.model.level
        per_series = [scores(f["actual"], f["point"], f["lower"], f["upper"], scale, level)
                      for f, scale in zip(forecasts, self.mase_scales, strict=True)]
        return {k: float(np.mean([p[k] for p in per_series])) for k in per_series[0]}

    def evaluate(self, model: nnx.Module, split: str) -> dict[str, float]:
        """The model's loss, MASE, sMAPE, coverage, MSIS and every baseline's, ``<method>_``."""
        forecasts, loss = self.forecasts(model, split)
        metrics = {"loss": loss, **self._scores(forecasts)}
        for method, per_series in self.baseline_forecasts[split].items():
            base = [{**f, "point": b.point, "lower": b.lower, "upper": b.upper}
                    for f, b in zip(forecasts, per_series, strict=True)]
            metrics.update({f"{method}_{k}": v for k, v in self._scores(base).items()})
        return metrics

    def describe(self, split: str, metrics: Mapping[str, float]) -> str:
        text = (f"{split} loss {metrics['loss']:.4f} | {self.config.model.cell} MASE "
                f"{metrics['mase']:.3f} sMAPE {metrics['smape']:.2f}")
        if "coverage" in metrics:
            text += f" coverage {metrics['coverage']:.2f}"
        for method in self.baselines:
            text += (f" | {method} MASE {metrics[f'{method}_mase']:.3f} sMAPE "
                     f"{metrics[f'{method}_smape']:.2f}")
        return text

    # ---- outputs ----------------------------------------------------------------------------
    def write_outputs(self, model: nnx.Module, split: str, workdir: Path) -> None:
        """The forecast CSV, the plot and the selected parameters (for predict)."""
        forecasts, _ = self.forecasts(model, split)
        leaves = jax.tree.leaves(nnx.state(model))
        with open(workdir / PARAMS_FILE, "wb") as file:
            np.savez(file, *[np.asarray(x) for x in leaves])
        methods = list(self.baseline_forecasts[split])
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(["series", "timestamp", "origin", "step", "actual", "forecast", "lower",
                         "upper", *methods])
        for s, f, index in zip(self.series, forecasts, range(len(self.series)), strict=True):
            for k, origin in enumerate(f["origins"]):
                for h in range(self.horizon):
                    writer.writerow([s.name, s.labels[origin + h], s.labels[origin], h + 1,
                                     *(f"{f[c][k, h]:.6g}" for c in
                                       ("actual", "point", "lower", "upper")),
                                     *(f"{self.baseline_forecasts[split][m][index].point[k, h]:.6g}"
                                       for m in methods)])
        write_atomic(workdir / FORECASTS_FILE, text.getvalue())
        plot_forecasts(workdir / PLOT_FILE, self.series, forecasts, self.baseline_forecasts[split],
                       f"{self.config.model.cell} ({self.config.model.level:.0%} interval)",
                       self.context)

    def summary(self) -> dict[str, Any]:
        return {"series": os.path.basename(str(self.config.data.path))}


def plot_forecasts(path: Path, series: list[Series], forecasts: list[dict[str, np.ndarray]],
                   baselines: Mapping[str, list], label: str, history: int) -> None:
    """One panel per series: the last ``history`` points before the test part and the truth,
    the model's forecasts with their interval, and the baselines' point forecasts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(series), 1, figsize=(10, 3.2 * len(series)), squeeze=False)
    for index, (ax, s, f) in enumerate(zip(axes[:, 0], series, forecasts, strict=True)):
        start = max(0, int(f["origins"][0]) - history)
        ax.plot(np.arange(start, len(s)), s.values[start:], color="black", lw=1, label="truth")
        for k, origin in enumerate(f["origins"]):
            t = origin + np.arange(f["point"].shape[1])
            ax.fill_between(t, f["lower"][k], f["upper"][k], color="C0", alpha=0.25,
                            label=None if k else f"{label} interval")
            ax.plot(t, f["point"][k], color="C0", lw=1.5, label=None if k else label)
            for j, (method, per_series) in enumerate(baselines.items()):
                ax.plot(t, per_series[index].point[k], color=f"C{j + 1}", lw=1, ls="--",
                        label=None if k else method)
        ax.set_title(f"{s.name}: test forecasts from {len(f['origins'])} origins")
        ax.set_xlabel(f"point ({s.frequency})")
        ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


# train_and_evaluate(config, workdir, allow_changes): config.seeds replicates, or one run
train_and_evaluate = over_seeds(ForecastTask)
