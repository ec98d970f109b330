"""The translation tables: the depth grid (test BLEU mean ± std (best) over seeds) beside
Britz et al. 2017's WMT numbers, single runs, and BLEU against depth.

BLEU and chrF are sacrebleu's corpus scores (detokenised output, 13a tokenisation).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from experiments.report import columns, plots
from experiments.report.tables import (
    Column,
    GridTable,
    Reference,
    RunTable,
    cpu_minutes,
    mean_std,
    minutes,
)
from experiments.seq2seq.configs import GRID, SEEDS

Run = dict[str, Any]
LABELS = {
    "enc1": "Enc-1", "baseline": "Enc-2 = Dec-2 (baseline)", "enc4": "Enc-4", "enc8": "Enc-8",
    "dec1": "Dec-1", "dec2_res": "Dec-2-Res", "dec2_resd": "Dec-2-ResD", "dec4": "Dec-4",
    "dec4_res": "Dec-4-Res", "dec4_resd": "Dec-4-ResD", "dec8": "Dec-8", "dec8_res": "Dec-8-Res",
    "dec8_resd": "Dec-8-ResD", "lstm": "LSTM encoder and decoder",
    "vanilla_decoder": "vanilla RNN decoder", "no_attention": "no attention",
    "additive": "additive attention",
}
COLUMN = "test BLEU, beam [greedy]"
# Britz, Goldie, Luong & Le 2017: WMT En-De newstest2013 BLEU, mean ± std (best), read in a
# secondary copy of their tables; the LSTM, vanilla-decoder and no-attention rows: single numbers.
BRITZ = {
    "Enc-2 = Dec-2 (baseline)": "21.78 ± 0.05 (21.83)", "Enc-4": "21.85 ± 0.32 (22.23)",
    "Enc-8": "21.32 ± 0.14 (21.51)", "Dec-1": "21.76 ± 0.12 (21.93)",
    "Dec-4": "22.37 ± 0.10 (22.51)", "Dec-4-Res": "17.48 ± 0.25 (17.82)",
    "Dec-4-ResD": "21.10 ± 0.24 (21.43)", "Dec-8": "1.42 ± 0.23 (1.66)",
    "Dec-8-Res": "16.99 ± 0.42 (17.47)", "Dec-8-ResD": "20.97 ± 0.34 (21.42)",
    "LSTM encoder and decoder": "22.22", "vanilla RNN decoder": "15.38", "no attention": "~10",
}
BRITZ_SOURCE = "Britz et al. 2017"
BRITZ_DATA = "WMT En-De, newstest2013, 512 units: other data"


def is_grid_run(run: Run) -> bool:
    return "replicates" in run and run.get("name") in GRID


def bleu_cell(run: Run) -> str:
    """'12.34 ± 0.56 (13.01) [greedy 11.90 ± 0.40]' over the finished seeds."""
    if "test_bleu_beam" not in run.get("mean", {}):
        return f"running (0/{run.get('replicates_total')})"
    mean, std, best = (run[k]["test_bleu_beam"] for k in ("mean", "std", "max"))
    done = run.get("replicates_done")
    text = (f"{mean:.2f} [greedy {run['mean']['test_bleu']:.2f}]" if done == 1 else
            f"{mean:.2f} ± {std:.2f} ({best:.2f}) [greedy {run['mean']['test_bleu']:.2f} ± "
            f"{run['std']['test_bleu']:.2f}]")
    return text if done == SEEDS else f"{text} ({done}/{SEEDS} seeds)"


DEPTH = GridTable(
    title="Depth study (Britz et al. 2017's grid), trans_de_en en-de, "
          f"{SEEDS} seeds per row",
    select=is_grid_run, row=lambda run: LABELS[run["name"]], column=lambda run: COLUMN,
    cell=bleu_cell, rows=[LABELS[row] for row in GRID], columns=(COLUMN,),
    references=tuple(Reference(row, {COLUMN: value}, BRITZ_SOURCE, BRITZ_DATA)
                     for row, value in BRITZ.items()),
    note="Ours: mean ± std (best) of the test BLEU of beam search over the seeds, greedy "
         "decoding's mean ± std in brackets; '(n/3 seeds)' where fewer seeds have run. Configs: "
         "experiments/seq2seq/configs.py (`baseline` + the row's changes); the published rows "
         "come from another corpus and model size and are shown for the shape of the trends.")


def _score(run: Run, metric: str) -> str:
    value = run.get(metric)
    return "-" if value is None else f"{value:.2f}"


SINGLE = RunTable(
    title="Single translation runs",
    select=lambda run: "replicates" not in run,
    columns=(
        Column("run", lambda r: r["name"]),
        Column("data", lambda r: f"{r['corpus']} ({r['direction']})"),
        Column("model", lambda r: (f"{r['model']['cell']} {r['model']['encoder_layers']}+"
                                   f"{r['model']['decoder_layers']} x {r['model']['hidden_size']}"
                                   f", {r['model']['attention']} attention")),
        Column("epochs", lambda r: f"{r['epochs']}/{r['num_epochs']}"),
        Column("valid BLEU (last epoch)", lambda r: _score(r, "valid_bleu")),
        Column("test BLEU greedy", lambda r: _score(r, "test_bleu")),
        Column("test BLEU beam", lambda r: _score(r, "test_bleu_beam")),
        Column("test chrF beam", lambda r: _score(r, "test_chrf_beam")),
        Column("tokens/s", lambda r: f"{r.get('train_tokens_per_s') or 0:,.0f}"),
        columns.WALL_TIME,
        columns.STATUS,
    ))

GRID_RUNS = RunTable(
    title="Depth grid: test loss, chrF and cost of every row",
    select=is_grid_run,
    sort=lambda r: list(GRID).index(r["name"]),
    columns=(
        Column("row", lambda r: LABELS[r["name"]]),
        Column("seeds done", lambda r: f"{r.get('replicates_done')}/{r.get('replicates_total')}"),
        Column("epochs per seed", lambda r: r["config"]["num_epochs"]),
        Column("test loss, nats/token", lambda r: mean_std(r, "test_loss", digits=2)),
        Column("test chrF, beam", lambda r: mean_std(r, "test_chrf_beam")),
        Column("wall time, all seeds", minutes),
        Column("CPU time, all seeds", cpu_minutes),
        Column("command", lambda r: f"`{r['command']}`"),
    ),
    note="Test loss: teacher-forced cross-entropy of the target tokens (BPE pieces), the "
         "steadier signal where BLEU is this low. CPU time is the user + system time of the "
         "training processes (XLA's threads included), recorded from the runs that carry it "
         "('-': an earlier run without it).")

TABLES = (DEPTH, GRID_RUNS, SINGLE)
# Lines of the depth plot: (label, [(depth, grid row), ...]).
LINES = (
    ("encoder", [(1, "enc1"), (2, "baseline"), (4, "enc4"), (8, "enc8")]),
    ("decoder", [(1, "dec1"), (2, "baseline"), (4, "dec4"), (8, "dec8")]),
    ("decoder, Res", [(2, "dec2_res"), (4, "dec4_res"), (8, "dec8_res")]),
    ("decoder, ResD", [(2, "dec2_resd"), (4, "dec4_resd"), (8, "dec8_resd")]),
)


def plot_depth(runs: Sequence[Run], out_dir: Path) -> Path:
    """Test BLEU (beam, mean ± std over seeds) against encoder or decoder depth."""
    grid = {run["name"]: run for run in runs if is_grid_run(run)
            and "test_bleu_beam" in run.get("mean", {})}
    fig, ax = plots.pyplot().subplots(figsize=(6, 4))
    for label, points in LINES:
        done = [(depth, grid[row]) for depth, row in points if row in grid]
        if done:
            ax.errorbar([d for d, _ in done], [r["mean"]["test_bleu_beam"] for _, r in done],
                        yerr=[r["std"]["test_bleu_beam"] for _, r in done], marker="o",
                        capsize=3, label=label)
    if not grid:
        ax.text(0.5, 0.5, "no grid row has finished a seed yet", ha="center",
                transform=ax.transAxes)
    ax.set_xscale("log", base=2)
    ax.set_xticks([1, 2, 4, 8], ["1", "2", "4", "8"])
    ax.set_xlabel("layers (the other side fixed at 2)")
    ax.set_ylabel("test BLEU, beam search")
    ax.set_title("trans_de_en en-de, mean over the seeds run")
    if grid:
        ax.legend(fontsize=8)
    return plots.save(fig, out_dir / "bleu_vs_depth.png")


PLOTS = (plot_depth,)
