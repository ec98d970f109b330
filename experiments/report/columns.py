"""Columns and cell readers that several experiments' tables share, built on
``experiments.report.tables`` (``mean_std``, ``minutes``, ``cpu_minutes``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from experiments.report.tables import Column, Run, cpu_minutes, mean_std, minutes


def metric(run: Run, name: str) -> Any:
    """``name`` over a run of replicates (their mean), or of a single run; None where absent."""
    return run.get("mean", run).get(name)


def percent(name: str, digits: int = 1) -> Callable[[Run], str]:
    """A column's reader: ``name`` in % (mean ± std over replicates, see ``mean_std``)."""
    return lambda run: mean_std(run, name, scale=100.0, digits=digits)


def sequences_seen(run: Run) -> str:
    """'128k': training sequences seen (steps x config.data.batch_size); '-' before a step."""
    if not run.get("steps"):
        return "-"
    return f"{run['steps'] * run['config']['data']['batch_size'] / 1000:.0f}k"


SEEDS = Column("seeds", lambda run: str(run.get("replicates_total", 1)))
EPOCHS = Column("epochs", lambda run: str(run.get("config", {}).get("num_epochs", "-")))
WALL_TIME = Column("wall time", minutes)
CPU_TIME = Column("CPU time", cpu_minutes)
STATUS = Column("status", lambda run: run["status"])
