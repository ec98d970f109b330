"""results.json files -> a markdown table beside the published numbers, and learning curves.

Perplexity for word-level runs (exp of the mean NLL in nats), bits per character for char-level
runs (NLL / ln 2). Runs that stopped before their last epoch are marked partial.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from rnnjax.train.metrics import read_metrics

RESULTS_FILE = "results.json"
# config name -> (valid, test) perplexity published for it.
PAPER = {
    "zaremba_small": (120.7, 114.5),  # Zaremba, Sutskever & Vinyals 2014, Table 1
    "zaremba_medium": (86.2, 82.7),
    "zaremba_large": (82.2, 78.4),
}


def find_results(paths: list[str | os.PathLike]) -> list[Path]:
    """Every ``results.json`` under the given directories (or the files themselves), sorted."""
    found = set()
    for path in map(Path, paths):
        if path.is_file():
            found.add(path.resolve())
        else:
            found.update(p.resolve() for p in path.rglob(RESULTS_FILE))
    return sorted(found)


def load_run(path: Path) -> dict[str, Any]:
    """One row: results.json plus its workdir."""
    return {**json.loads(path.read_text()), "workdir": path.parent}


def unit(run: dict[str, Any]) -> str:
    return "bpc" if run["level"] == "char" else "ppl"


def _value(run: dict[str, Any], split: str) -> str:
    value = run.get(f"{split}_{unit(run)}")
    return "-" if value is None else f"{value:.3f}" if unit(run) == "bpc" else f"{value:.1f}"


def _model(run: dict[str, Any]) -> str:
    model = run["model"]
    if model["kind"] == "bengio":
        return f"Bengio 2003, {model['context']}-word window, h={model['hidden_size']}"
    return f"{model['cell']} {model['num_layers']}x{model['hidden_size']}"


def _optim(run: dict[str, Any]) -> str:
    optim = run["optim"]
    text = f"{optim['name']} {optim['learning_rate']:g}"
    if optim.get("lr_decay", 1.0) != 1.0:
        text += f", x{optim['lr_decay']:.3g}/epoch after {optim['lr_decay_after']}"
    return text + (f", clip {optim['clip_norm']:g}" if optim.get("clip_norm") else "")


def markdown_table(runs: list[dict[str, Any]]) -> str:
    """One markdown table per unit (perplexity, bits/char), with the paper's numbers."""
    lines = []
    for name, label in (("ppl", "perplexity"), ("bpc", "bits/char")):
        rows = [r for r in runs if unit(r) == name]
        if not rows:
            continue
        lines += [f"| run | corpus | model | optimiser | epochs | valid {label} | test {label} "
                  "| paper valid | paper test | tokens/s | wall time | status |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            paper = PAPER.get(r["name"], ("-", "-"))
            speed = r.get("train_tokens_per_s")
            lines.append(
                f"| {r['name']} | {r['corpus']} | {_model(r)} | {_optim(r)} "
                f"| {r['epochs']}/{r['num_epochs']} "
                f"({r['steps']:,} steps) "
                f"| {_value(r, 'valid')} | {_value(r, 'test')} | {paper[0]} | {paper[1]} "
                f"| {'-' if speed is None else f'{speed:,.0f}'} | {r['wall_time_s'] / 60:.0f} min "
                f"| {r['status']} |")
        lines.append("")
    return "\n".join(lines)


def commands(runs: list[dict[str, Any]]) -> str:
    """The command that produced each run and the machine it ran on."""
    return "\n".join(f"- {r['name']}: `{r['command']}` ({r['machine']})" for r in runs) + "\n"


def plot_curves(runs: list[dict[str, Any]], path: str | os.PathLike) -> None:
    """One panel per corpus: training loss per logged step (thin) and validation per epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    corpora = sorted({r["corpus"] for r in runs})
    fig, axes = plt.subplots(1, len(corpora), figsize=(6 * len(corpora), 4), squeeze=False)
    for ax, corpus in zip(axes[0], corpora, strict=True):
        for color, run in enumerate(r for r in runs if r["corpus"] == corpus):
            convert = ((lambda nll: nll / math.log(2.0)) if unit(run) == "bpc"
                       else (lambda nll: math.exp(min(nll, 50.0))))
            rows = read_metrics(run["workdir"])
            steps = [r for r in rows if "epoch" not in r and "train_loss" in r]
            epochs = [r for r in rows if "valid_loss" in r]
            ax.plot([r["step"] for r in steps], [convert(r["train_loss"]) for r in steps],
                    color=f"C{color}", alpha=0.35, linewidth=0.8)
            ax.plot([r["step"] for r in epochs], [convert(r["valid_loss"]) for r in epochs],
                    "o-", color=f"C{color}", label=f"{run['name']} (valid)")
        ax.set_title(corpus)
        ax.set_xlabel("training step")
        ax.set_ylabel("bits per character" if unit(run) == "bpc" else "perplexity")
        if unit(run) == "ppl":
            ax.set_yscale("log")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
