"""The NTM tables: cost in bits per sequence of the NTM and the LSTM baseline on each task, at
the training distribution and at the generalisation sizes; plots of the learning curves (train
cost against sequences seen) and of the addressing over one copy sequence."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from experiments.ntm.train import ADDRESSING_FILE
from experiments.report import columns, plots
from experiments.report.tables import Column, RunTable, mean_std, run_workdirs
from rnnjax.train.metrics import read_metrics

Run = dict[str, Any]
TASK_ORDER = ("copy", "repeat_copy", "associative_recall")


def _model(run: Run) -> str:
    model = run["model"]
    if model["cell"] == "ntm":
        kw = model["cell_kwargs"]
        return (f"NTM, {kw['controller']} controller {model['hidden_size']}, memory "
                f"{kw['memory_size']} x {kw['memory_width']}, {kw['num_read_heads']}R/"
                f"{kw['num_write_heads']}W heads")
    return f"{model['num_layers']} x {model['hidden_size']} {model['cell']}"


def _generalisation(run: Run) -> str:
    """'10: 0.12, 20: ...' bits per sequence at each test size."""
    data = run["config"]["data"]
    field = data.get("test_field", "length")
    cells = [f"{value}: {mean_std(run, f'test_{field}{value}_loss', digits=2)}"
             for value in data.get("test_values", ())]
    return f"{field} " + ", ".join(cells) if cells else "-"


TABLES = (
    RunTable(
        title="NTM tasks (Graves et al. 2014): cost in bits per sequence (test sets)",
        select=lambda run: True,
        sort=lambda run: (TASK_ORDER.index(run["task"]) if run.get("task") in TASK_ORDER
                          else len(TASK_ORDER), run["name"]),
        columns=(
            Column("run", lambda r: r["name"]),
            Column("task", lambda r: r.get("task", "?")),
            Column("model", _model),
            Column("parameters", lambda r: f"{r.get('parameters', 0):,}"),
            Column("sequences seen", columns.sequences_seen),
            Column("bits/seq (training sizes)", lambda r: mean_std(r, "test_loss", digits=2)),
            Column("sequence error %", lambda r: mean_std(r, "test_sequence_error", 100.0)),
            Column("bits/seq at test sizes", _generalisation),
            columns.WALL_TIME,
            columns.CPU_TIME,
            columns.STATUS,
        ),
        note=("Cost: the binary cross-entropy in bits summed over the output bits of a sequence "
              "(the y axis of the paper's learning curves), mean over a fixed test set. The "
              "LSTM rows are the paper's baseline sizing, 3 x 256, not an equal parameter "
              "budget. Training sizes: copy lengths 1-20, repeat copy lengths 1-10 x 1-10 "
              "repeats, recall 2-6 items."),
    ),
)


def plot_learning_curves(runs: Sequence[Run], out_dir: Path) -> Path:
    """Train cost (bits per sequence, trailing mean of up to 10 logs) against sequences seen, one
    panel per task, one line per run (its first replicate)."""
    tasks = [t for t in TASK_ORDER if any(r.get("task") == t for r in runs)] or ["copy"]
    fig, axes = plots.pyplot().subplots(1, len(tasks), figsize=(5 * len(tasks), 3.6), squeeze=False)
    for ax, task in zip(axes[0], tasks, strict=True):
        for run in sorted((r for r in runs if r.get("task") == task), key=lambda r: r["name"]):
            rows = [m for m in read_metrics(run_workdirs(run)[0]) if "train_loss" in m
                    and "epoch" not in m]
            if not rows:
                continue
            seen = np.asarray([m["step"] for m in rows]) * run["config"]["data"]["batch_size"]
            losses = np.asarray([m["train_loss"] for m in rows])
            width = min(10, len(losses))
            cost = np.convolve(losses, np.ones(width) / width, "valid")  # trailing means
            seen = seen[width - 1:]
            ax.plot(seen / 1000, cost, label=run["name"])
        ax.set_title(task)
        ax.set_xlabel("sequences seen (thousands)")
        ax.set_ylabel("cost per sequence (bits)")
        ax.legend(fontsize=8)
    return plots.save(fig, out_dir / "learning_curves.png", dpi=110)


def plot_addressing(runs: Sequence[Run], out_dir: Path) -> Path:
    """Inputs, outputs, write and read weightings, and the memory after the last step, over
    one copy sequence of the NTM copy run (cf. the paper's figures of the copy run's
    memory use)."""
    path = out_dir / "copy_addressing.png"
    found = [d / ADDRESSING_FILE for r in runs if r.get("task") == "copy"
             and r["model"]["cell"] == "ntm" for d in run_workdirs(r)]
    found = [f for f in found if f.is_file()]
    if not found:
        return plots.placeholder(path, "no NTM copy run with an addressing record", dpi=110)
    record = np.load(found[0])
    scored = record["mask"] > 0
    used = int(np.flatnonzero(scored)[-1]) + 1
    rows = int(max(np.flatnonzero(record["write_weights"][:used].max(0) > 0.01).max(),
                   np.flatnonzero(record["read_weights"][:used].max(0) > 0.01).max())) + 1
    panels = (("inputs", record["inputs"][:used].T),
              ("outputs (sigmoid)", (record["outputs"][:used] * scored[:used, None]).T),
              ("write weightings", record["write_weights"][:used, 0, :rows].T),
              ("read weightings", record["read_weights"][:used, 0, :rows].T),
              ("memory after the last step", record["memory"][used - 1, :rows].T))
    fig, axes = plots.pyplot().subplots(len(panels), 1, figsize=(8, 10))
    for ax, (title, image) in zip(axes, panels, strict=True):
        ax.imshow(image, aspect="auto", cmap="gray_r" if "memory" not in title else "RdBu",
                  interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("memory location" if "memory" in title else "time step", fontsize=8)
    fig.suptitle(f"{found[0].parent.name}: one copy sequence", fontsize=10)
    return plots.save(fig, path, dpi=110)


PLOTS = (plot_learning_curves, plot_addressing)
