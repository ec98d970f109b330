"""The long-range memory table (rows = cells, columns = tasks and lengths) and its figures: MSE
against training steps on the adding problem, test MSE against T, and ||dL/dh_t|| against t
(``experiments/memory/gradients.py``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from experiments.report import columns, plots
from experiments.report.tables import GridTable, Reference, mean_std, run_workdirs
from rnnjax.data.synthetic import copy_baseline_cross_entropy
from rnnjax.train.metrics import read_metrics

Run = dict[str, Any]
ROWS = ("elman_tanh", "irnn", "lstm", "gru", "indrnn", "mingru", "minlstm", "dilated gru",
        "dilated lstm")
COLUMNS = ("adding T=100", "adding T=400", "adding T=1000", "copy T=100", "copy T=500",
           "Fashion-MNIST sequential", "Fashion-MNIST permuted")


def row(run: Run) -> str:
    """The cell kind, "dilated KIND" for a dilated stack."""
    return f"dilated {run['cell']}" if run.get("dilations") else run["cell"]


def column(run: Run) -> str:
    if run["task"] == "pixel":
        return f"Fashion-MNIST {run['order']}"
    return f"{run['task']} T={run['length']}"


def cell(run: Run) -> str:
    """Test metrics (mean ± std over seeds), the steps trained and the seeds."""
    seeds = run.get("replicates_total", 1)
    steps = run["replicates"][0]["steps"] if "replicates" in run else run["steps"]
    trained = f"{steps} steps"
    if run["task"] == "adding":
        reached = columns.metric(run, "test_steps_to_threshold")
        at = "not reached" if reached is None else f"step {reached:.0f}"
        text = f"MSE {mean_std(run, 'test_mse', digits=4)}; < {run['mse_threshold']:g}: {at}"
    elif run["task"] == "copy":
        text = (f"recall {mean_std(run, 'test_recall_accuracy', 100.0)}%; CE "
                f"{mean_std(run, 'test_cross_entropy', digits=4)}")
    else:
        text = f"{mean_std(run, 'test_accuracy', 100.0)}%"
        trained += f" = {steps * run['config']['data']['batch_size']:,} images"
    status = "" if run["status"] == "complete" else f", {run['status']}"
    return f"{text} ({trained}, {seeds} seed{'s' * (seeds > 1)}{status})"


BASELINES = Reference(
    row="trivial baseline, by formula",
    values={"adding T=100": "MSE 0.1667", "adding T=400": "MSE 0.1667",
            "adding T=1000": "MSE 0.1667",
            "copy T=100": f"recall 12.5%; CE {copy_baseline_cross_entropy(100):.4f}",
            "copy T=500": f"recall 12.5%; CE {copy_baseline_cross_entropy(500):.4f}",
            "Fashion-MNIST sequential": "10.0% (chance)",
            "Fashion-MNIST permuted": "10.0% (chance)"},
    source="always 1 (MSE 1/6); memoryless copy 10 ln 8 / (T + 20); uniform guess",
    data="the same generators")

CHANG_2017 = Reference(
    row="dilated GRU, Chang et al. 2017",
    values={"Fashion-MNIST sequential": "99.2% on MNIST",
            "Fashion-MNIST permuted": "94.6% on MNIST"},
    source=("Chang et al. 2017 (NeurIPS), pixel-by-pixel MNIST, unpermuted and permuted test "
            "accuracy as recorded at paperswithcode.com/paper/dilated-recurrent-neural-networks"),
    data="MNIST (not Fashion-MNIST), the paper's sizes and training")

LE_2015 = Reference(
    row="IRNN, Le et al. 2015",
    values={"Fashion-MNIST sequential": "97% on MNIST",
            "Fashion-MNIST permuted": "82% on MNIST"},
    source=("Le, Jaitly & Hinton 2015 (arXiv:1504.00941), pixel-by-pixel MNIST, unpermuted and "
            "permuted test accuracy as recorded at "
            "paperswithcode.com/paper/a-simple-way-to-initialize-recurrent-net2"),
    data="MNIST (not Fashion-MNIST), the paper's sizes and training")

TABLES = (
    GridTable(
        title="Long-range memory: test metrics by cell and task",
        select=lambda run: run.get("experiment") == "memory",
        row=row, column=column, cell=cell, rows=ROWS, columns=COLUMNS,
        references=(BASELINES, LE_2015, CHANG_2017),
        note=("One layer of 64 units per cell (128 for Fashion-MNIST); dilated stacks have one "
              "64-unit layer per dilation (a larger hidden-state budget, named in each run's "
              "config). Adam 1e-3, global norm clipped to 1, batch 50 (100 images for "
              "Fashion-MNIST); adding validates every 100 steps (the step count is the first "
              "validation below the threshold). Each entry names the steps it trained: runs "
              "that would not fit the CPU budget trained fewer (Fashion-MNIST: a fraction of "
              "an epoch). Published results use other settings (longer training, other "
              "sizes, MNIST rather than Fashion-MNIST): the IRNN's and the dilated GRU's "
              "pixel-MNIST accuracies (Le et al. 2015, Chang et al. 2017) are the published "
              "numbers checked against a record of their papers; those of Arjovsky et al. "
              "2016, Li et al. 2018 and Feng et al. 2024 could not be checked against the "
              "papers' tables or figures with the sources at hand and are not quoted."),
    ),
)


def plot_mse_curves(runs: Sequence[Run], out_dir: Path) -> Path:
    """Validation MSE against training steps, one panel per adding length, one line per run."""
    adding = [r for r in runs if r.get("task") == "adding"]
    lengths = sorted({r["length"] for r in adding}) or [100]
    fig, axes = plots.pyplot().subplots(1, len(lengths), figsize=(5 * len(lengths), 4),
                                        squeeze=False)
    for ax, length in zip(axes[0], lengths, strict=True):
        for run in sorted((r for r in adding if r["length"] == length), key=row):
            rows = [m for m in read_metrics(run_workdirs(run)[0]) if "valid_mse" in m]
            ax.semilogy([m["step"] for m in rows], [m["valid_mse"] for m in rows], label=row(run))
        ax.axhline(1 / 6, color="grey", linestyle="--", label="baseline 1/6")
        ax.axhline(0.01, color="grey", linestyle=":")
        ax.set_title(f"adding T={length}: validation MSE (first seed)")
        ax.set_xlabel("training step")
        ax.legend(fontsize=7)
    return plots.save(fig, out_dir / "mse_curves.png")


def plot_error_vs_length(runs: Sequence[Run], out_dir: Path) -> Path:
    """Test MSE against T for each cell: where each one stops learning."""
    fig, ax = plots.pyplot().subplots(figsize=(6, 4))
    adding = [r for r in runs if r.get("task") == "adding"]
    for name in sorted({row(r) for r in adding}):
        found = ((r["length"], columns.metric(r, "test_mse")) for r in adding if row(r) == name)
        points = sorted((length, mse) for length, mse in found if mse is not None)
        ax.plot([p[0] for p in points], [p[1] for p in points], "o-", label=name)
    ax.axhline(1 / 6, color="grey", linestyle="--", label="baseline 1/6")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("T")
    ax.set_ylabel("test MSE")
    ax.set_title("Adding problem: test MSE against T")
    ax.legend(fontsize=7)
    return plots.save(fig, out_dir / "error_vs_length.png")


def plot_gradient_norms_figure(measured: dict[str, dict[str, list[float]]], steps: int,
                               path: Path) -> None:
    """||dL/dh_t|| against t per cell, at initialisation and after ``steps`` steps."""
    fig, axes = plots.pyplot().subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, when, title in ((axes[0], "init", "at initialisation"),
                            (axes[1], "trained", f"after {steps} training steps")):
        for kind, values in measured.items():
            ax.semilogy(np.maximum(values[when], 1e-30), label=kind)
        ax.set_title(f"||dL/dh_t|| {title}")
        ax.set_xlabel("t (the loss reads h_T)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("gradient norm, one adding sequence (0 drawn at 1e-30)")
    axes[0].legend()
    plots.save(fig, path)


def plot_gradient_norms(runs: Sequence[Run], out_dir: Path) -> Path:
    """The figure of ``python -m experiments.memory.gradients`` from its JSON in ``out_dir``."""
    del runs
    path = out_dir / "gradient_norms.png"
    measured = out_dir / "gradient_norms.json"
    if measured.is_file():
        data = json.loads(measured.read_text(encoding="utf-8"))
        plot_gradient_norms_figure(data["cells"], data["steps"], path)
    elif not path.is_file():
        plots.placeholder(path, "not measured yet: python -m experiments.memory.gradients", 5.0)
    return path


PLOTS = (plot_mse_curves, plot_error_vs_length, plot_gradient_norms)
