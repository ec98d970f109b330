"""Forecast the next points of new data with a trained forecaster.

    python -m experiments.forecast.predict --workdir=DIR --data=NEW.csv [--out=FILE]

``--data`` is a CSV in the layout the run was trained on (read with the run's frequency, period
and missing-value rule); each of its series whose name the run knows (or its only series, when
the run had one) is forecast ``horizon`` points past its last timestamp from its last
``context`` points, scaled with the statistics of the run's training part. The model is the one
the run selected and tested (its ``forecaster.npz``). Writes ``series,timestamp,step,forecast,
lower,upper`` rows to ``--out`` (default: standard output).
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import jax
import numpy as np
from absl import flags
from flax import nnx

from experiments.forecast.train import PARAMS_FILE, SCALERS_FILE, data_options
from experiments.launch import WORKDIR
from rnnjax import cli
from rnnjax.data.series import Scaler, read_series, windows
from rnnjax.models import make_model
from rnnjax.train.checkpoint import read_config
from rnnjax.train.replicates import RESULTS_FILE
from rnnjax.validation import fail

_DATA = flags.DEFINE_string("data", None, "CSV of the series to forecast.", required=True)
_OUT = flags.DEFINE_string("out", None, "Output CSV (default: standard output).")
_WHERE = "predict"


def run_directory(workdir: Path) -> Path:
    """``workdir``, or its first replicate's directory for a run of several seeds."""
    if not (workdir / PARAMS_FILE).is_file() and (workdir / RESULTS_FILE).is_file():
        replicates = json.loads((workdir / RESULTS_FILE).read_text()).get("replicates")
        if replicates:
            return workdir / replicates[0]["replicate"]
    return workdir


def load_forecaster(workdir: Path, horizon: int) -> nnx.Module:
    """The selected model of a finished run (``forecaster.npz``, written after its test)."""
    config = read_config(workdir)
    if config.get("model", {}).get("kind") != "rnn_forecaster":
        fail(_WHERE, "--workdir", "the workdir of a forecasting run",
             f"{str(workdir)!r}, a {config.get('model', {}).get('kind')!r} run")
    if not (workdir / PARAMS_FILE).is_file():
        fail(_WHERE, "--workdir", f"a finished run (its {PARAMS_FILE} is written after the "
             "test)", f"{str(workdir)!r} without it", FileNotFoundError)
    abstract = nnx.eval_shape(lambda: make_model(config.model, horizon=horizon,
                                                 rngs=nnx.Rngs(0)))
    graphdef, state = nnx.split(abstract)
    stored = np.load(workdir / PARAMS_FILE)
    leaves = [stored[f"arr_{i}"] for i in range(len(stored.files))]
    return nnx.merge(graphdef, jax.tree.unflatten(jax.tree.structure(state), leaves))


def main(argv: list[str]) -> None:
    del argv
    workdir = run_directory(Path(WORKDIR.value))
    config = read_config(workdir)
    stored = json.loads((workdir / SCALERS_FILE).read_text())
    horizon, context, period = stored["horizon"], stored["context"], stored["period"]
    known = {s["name"]: s for s in stored["series"]}
    options = {**data_options(config.data), "columns": [], "period": period}
    new = read_series(_DATA.value, **options)
    model = load_forecaster(workdir, horizon)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["series", "timestamp", "step", "forecast", "lower", "upper"])
    for series in new:
        info = known.get(series.name) or (next(iter(known.values())) if len(known) == 1
                                          else None)
        if info is None:
            fail(_WHERE, f"series {series.name!r} of --data", f"one of the run's series "
                 f"{sorted(known)}", "an unknown name")
        if len(series) < context:
            fail(_WHERE, f"series {series.name!r} of --data", f"at least {context} points "
                 "(the model's context)", f"{len(series)}")
        scaler = Scaler(info["mean"], info["std"])
        batch = windows(scaler.scale(series.values), series.steps,
                        np.asarray([len(series) - context]), context, horizon, period)
        outputs = model(batch["context"], batch["context_calendar"], batch["future_calendar"])
        lower, upper = model.interval(outputs)
        point, lower, upper = (scaler.unscale(np.asarray(a)[0])
                               for a in (model.point(outputs), lower, upper))
        for step, stamp in enumerate(series.future_labels(horizon)):
            writer.writerow([series.name, stamp, step + 1, f"{point[step]:.6g}",
                             f"{lower[step]:.6g}", f"{upper[step]:.6g}"])
    if _OUT.value:
        Path(_OUT.value).write_text(text.getvalue(), encoding="utf-8")
    else:
        sys.stdout.write(text.getvalue())


if __name__ == "__main__":
    cli.run(main)
