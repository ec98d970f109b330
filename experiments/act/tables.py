"""The ACT table: parity sequence error and mean ponder time against the time penalty tau,
beside the same RNN without ACT (Graves 2016, section 3.1), and its plot."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from experiments.report import columns, plots
from experiments.report.tables import Column, RunTable, mean_std

Run = dict[str, Any]


def _tau(run: Run) -> float | None:
    model = run["model"]
    return model["time_penalty"] if model.get("act") else None


def _model(run: Run) -> str:
    model = run["model"]
    act = (f", ACT (tau {model['time_penalty']:g}, at most {model['max_ponder_steps']} steps)"
           if model.get("act") else ", no ACT")
    return f"{model['hidden_size']} {model['cell']}{act}"


TABLES = (
    RunTable(
        title="Parity (Graves 2016, section 3.1): sequence error and ponder time against tau",
        select=lambda run: run.get("task") == "parity",
        sort=lambda run: (_tau(run) is None, -(_tau(run) or 0.0), run["name"]),
        columns=(
            Column("run", lambda r: r["name"]),
            Column("model", _model),
            Column("input size", lambda r: str(r["config"]["data"]["train"]["size"])),
            Column("sequences seen", columns.sequences_seen),
            Column("sequence error %", lambda r: mean_std(r, "test_sequence_error", 100.0)),
            Column("mean ponder time N(t)", lambda r: mean_std(r, "test_ponder", digits=2)
                   if r["model"].get("act") else "1 (no ACT)"),
            Column("bits/seq", lambda r: mean_std(r, "test_loss", digits=3)),
            columns.WALL_TIME,
            columns.CPU_TIME,
            columns.STATUS,
        ),
        note=("Test set: 1000 fixed parity vectors of the training distribution (input size "
              "in its column; the paper's is 64). The paper trains on far more sequences; it "
              "reports the ponder time growing as tau falls, and ACT networks at small tau "
              "solving parity where the RNN without ACT does not."),
    ),
)


def plot_ponder_against_tau(runs: Sequence[Run], out_dir: Path) -> Path:
    """Sequence error and mean ponder time against tau (log axis), one line per training
    budget; the RNN without ACT as horizontal lines."""
    def value(run: Run, name: str) -> float:
        found = columns.metric(run, name)
        return float("nan") if found is None else found

    plain = [r for r in runs if r.get("task") == "parity" and _tau(r) is None]
    fig, (left, right) = plots.pyplot().subplots(1, 2, figsize=(9, 3.5))
    for budget in sorted({columns.sequences_seen(r) for r in runs if _tau(r)}):
        act = sorted((r for r in runs if _tau(r) and columns.sequences_seen(r) == budget), key=_tau)
        taus = [_tau(r) for r in act]
        left.plot(taus, [100 * value(r, "test_sequence_error") for r in act], "o-",
                  label=f"ACT, {budget} sequences")
        right.plot(taus, [value(r, "test_ponder") for r in act], "o-",
                   label=f"{budget} sequences")
    for run in plain:
        left.axhline(100 * value(run, "test_sequence_error"), color="gray", ls="--",
                     label=f"no ACT, {columns.sequences_seen(run)} sequences")
    for ax, label in ((left, "sequence error %"), (right, "mean ponder time")):
        ax.set_xscale("log")
        ax.set_xlabel("time penalty tau")
        ax.set_ylabel(label)
    left.legend(fontsize=7)
    right.legend(fontsize=7)
    return plots.save(fig, out_dir / "ponder_against_tau.png", dpi=110)


PLOTS = (plot_ponder_against_tau,)
