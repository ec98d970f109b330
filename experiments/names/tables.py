"""The names tables: classifier accuracy (mean ± std over seeds) with the character n-gram
logistic-regression baseline on the same split; the generator's samples; and the confusion matrix
of the most accurate classifier.

Balanced accuracy is the mean over countries of the per-country recall. A generated name is
"real and unseen" when the data lists it for the country it was generated for and it is not a
training name (of any country).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from experiments.names.train import CONFUSION_FILE
from experiments.report import columns, plots
from experiments.report.tables import Column, RunTable, run_workdirs

Run = dict[str, Any]
# the classifier rows in the order of the table; other runs (e.g. your own data) follow
ORDER = ("ngram_logreg", "elman", "gru", "lstm", "bilstm", "bilstm_large", "bilstm_ngrams")


def _model(run: Run) -> str:
    model = run["model"]
    if model["kind"] == "logistic regression":
        return f"logistic regression on {model['features']}, C={model['C']:g}"
    if model["kind"] == "rnn":
        return (f"{model['num_layers']} x {model['hidden_size']} {model['cell']} LM, country "
                f"embedding {model['condition_size']}d")
    direction = "bi" if model.get("bidirectional") else ""
    ngrams = (f" + hashed char 1-{model['ngram_order']}-gram bag ({model['ngram_size']}d)"
              if model.get("ngram_order") else "")
    return f"{model['num_layers']} x {model['hidden_size']} {direction}{model['cell']}{ngrams}"


def _is(task: str):
    return lambda run: run.get("task") == task


TABLES = (
    RunTable(
        title="Names by nationality: classifier accuracy % (test split)",
        select=_is("classify"),
        sort=lambda run: (run.get("corpus", ""), ORDER.index(run["name"]) if run["name"] in ORDER
                          else len(ORDER), run["name"]),
        columns=(
            Column("run", lambda r: r["name"]),
            Column("data", lambda r: f"{r['corpus']} (categories >= {r['min_names']} names)"),
            Column("model", _model),
            columns.SEEDS,
            Column("test accuracy", columns.percent("test_accuracy")),
            Column("test balanced accuracy", columns.percent("test_balanced_accuracy")),
            Column("valid accuracy", columns.percent("valid_accuracy")),
            columns.WALL_TIME,
            columns.STATUS,
        ),
        note=("ngram_logreg is the baseline, fitted on the same train split with C chosen on the "
              "valid split (experiments/names/ngram.py); the RNN rows keep the epoch with the "
              "best valid accuracy. No published accuracy exists for this data."),
    ),
    RunTable(
        title="Names by nationality: country-conditioned generator",
        select=_is("generate"),
        columns=(
            Column("run", lambda r: r["name"]),
            Column("data", lambda r: r["corpus"]),
            Column("model", _model),
            Column("epochs", lambda r: f"{r['epochs']}/{r['num_epochs']}"),
            Column("test bits/char", lambda r: f"{r['test_bpc']:.3f}" if "test_bpc" in r
                   else "-"),
            Column("samples per category", lambda r: str(r["config"]["sample"]["count"])),
            Column("temperature", lambda r: f"{r['config']['sample']['temperature']:g}"),
            Column("real and unseen %", columns.percent("test_novel_real_fraction")),
            Column("real %", columns.percent("test_real_fraction")),
            Column("copies of training names %", columns.percent("test_copied_fraction")),
            columns.WALL_TIME,
            columns.STATUS,
        ),
        note=("Fractions are means over the categories of the samples drawn from <eos> at test "
              "(per category in the run's samples_test.json); bits/char include the end mark."),
    ),
)


def _confusion(run: Run) -> tuple[list[str], np.ndarray, int] | None:
    """(categories, the test confusion matrix of ``run`` summed over its replicates, their
    number)."""
    paths = [p for p in (d / CONFUSION_FILE for d in run_workdirs(run)) if p.is_file()]
    if not paths:
        return None
    loaded = [json.loads(p.read_text(encoding="utf-8")) for p in paths]
    return loaded[0]["categories"], sum(np.asarray(c["confusion"]) for c in loaded), len(loaded)


def plot_confusion(runs: Sequence[Run], out_dir: Path) -> Path:
    """Row-normalised test confusion matrix (recall per true country) of the classifier run on
    the most categories with the best mean test accuracy, replicates summed."""
    candidates = [r for r in runs if _is("classify")(r) and _confusion(r) is not None]
    path = out_dir / "confusion.png"
    if not candidates:
        return plots.placeholder(path, "no classifier run with a test confusion matrix")
    best = max(candidates, key=lambda r: (len(_confusion(r)[0]),
                                          columns.metric(r, "test_accuracy") or 0.0))
    labels, counts, seeds = _confusion(best)
    recall = counts / np.maximum(counts.sum(1, keepdims=True), 1)
    size = max(6.0, 0.32 * len(labels) + 2)
    fig, ax = plots.pyplot().subplots(figsize=(size + 1, size))
    image = ax.imshow(recall, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{best['name']} on {best['corpus']}: test recall per country "
                 f"({int(counts.sum()) // seeds} names x {seeds} seeds)", fontsize=9)
    fig.colorbar(image, ax=ax, fraction=0.046)
    return plots.save(fig, path)


PLOTS = (plot_confusion,)
