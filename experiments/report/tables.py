"""Result tables: what an experiment declares, and how the report finds runs and renders them.

Each experiment ``X`` declares its tables in ``experiments/X/tables.py``:

* ``TABLES``: a sequence of ``RunTable`` (one row per run: a list of runs with columns) or
  ``GridTable`` (a row label x a column label per run, e.g. model x dataset, with the published
  numbers beside ours as ``Reference`` rows that say on which data they were measured);
* ``PLOTS`` (optional): functions ``(runs, out_dir) -> the PNG file written there``.

Runs are the ``results.json`` files under the results directories, grouped by their
``experiment`` field. A run of replicates (``rnnjax.train.run_replicates``) is one run: the
per-replicate results.json files below it are not listed separately.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnnjax.train.workdir import RESULTS_FILE
from rnnjax.validation import one_line

Run = dict[str, Any]


@dataclass(frozen=True)
class Column:
    title: str
    value: Callable[[Run], Any]


@dataclass(frozen=True)
class RunTable:
    """One row per run that ``select`` accepts, sorted by ``sort``."""

    title: str
    select: Callable[[Run], bool]
    columns: Sequence[Column]
    sort: Callable[[Run], Any] = lambda run: run.get("name", "")
    note: str = ""


@dataclass(frozen=True)
class Reference:
    """A published row shown beside ours: its values by column label, its source and its data."""

    row: str
    values: Mapping[str, str]
    source: str
    data: str


@dataclass(frozen=True)
class GridTable:
    """``cell(run)`` at row ``row(run)`` and column ``column(run)`` for every selected run.

    ``rows`` and ``columns`` fix the order and show every expected entry (``missing(row,
    column)`` where no run exists: "not run", or e.g. "n/a" for a combination that cannot run);
    ``references`` follow our rows, labelled with their source and data.
    """

    title: str
    select: Callable[[Run], bool]
    row: Callable[[Run], str]
    column: Callable[[Run], str]
    cell: Callable[[Run], str]
    rows: Sequence[str]
    columns: Sequence[str]
    references: Sequence[Reference] = field(default_factory=tuple)
    missing: Callable[[str, str], str] = lambda row, column: "not run"
    note: str = ""


def find_results(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Every ``results.json`` under the given directories (or the files themselves), sorted,
    without the replicates inside a run of replicates."""
    found = set()
    for path in map(Path, paths):
        if path.is_file():
            found.add(path.resolve())
        elif path.is_dir():
            found.update(p.resolve() for p in path.rglob(RESULTS_FILE))
    # a run of replicates: its results.json lists them; while its first replicate runs, only the
    # run's config.json and run.json are there
    groups = {p.parent for p in found if "replicates" in _read(p)} | {
        p.parent.parent for p in found
        if all((p.parent.parent / name).is_file() for name in ("config.json", "run.json"))}
    return sorted(p for p in found if not any(g in p.parent.parents for g in groups))


def _read(path: Path) -> dict[str, Any]:
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ValueError(f"report: {path} must be a results.json file, got {err}") from err
    return payload if isinstance(payload, dict) else {}


def load_run(path: Path) -> Run:
    """One run: results.json plus its workdir."""
    return {**_read(path), "workdir": path.parent}


def run_workdirs(run: Run) -> list[Path]:
    """The run's directory, or its replicates' directories (a run of replicates)."""
    workdir = Path(run["workdir"])
    return ([workdir / r["replicate"] for r in run["replicates"]] if "replicates" in run
            else [workdir])


def mean_std(run: Run, metric: str, scale: float = 1.0, digits: int = 1) -> str:
    """'81.2 ± 1.3' from a run of replicates (``metric`` scaled; no std while one replicate is
    done), with '(n/N)' while partial; '81.2' from a single run."""
    if metric not in run.get("mean", {}):
        value = run.get(metric)
        if "replicates" in run or not isinstance(value, int | float) or isinstance(value, bool):
            return "-"
        return f"{value * scale:.{digits}f}"
    done, total = run.get("replicates_done"), run.get("replicates_total")
    text = f"{run['mean'][metric] * scale:.{digits}f}"
    if done != 1:
        text += f" ± {run['std'][metric] * scale:.{digits}f}"
    return text if done == total else f"{text} ({done}/{total})"


def minutes(run: Run) -> str:
    """The run's recorded wall time (all its sessions): '23 s' under a minute, else '5 min'."""
    seconds = run.get("wall_time_s", 0)
    return f"{seconds:.0f} s" if seconds < 59.5 else f"{seconds / 60:.0f} min"


def cpu_minutes(run: Run) -> str:
    """The run's recorded CPU time (user + system, the last session of each run), or '-'."""
    seconds = run.get("session_cpu_time_s")
    return "-" if seconds is None else f"{seconds / 60:.0f} min"


def _markdown(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]
    return lines


def _field(read: Callable[[Run], Any], run: Run, table: RunTable | GridTable) -> Any:
    """``read(run)``; a record that lacks what the table reads is an error naming its file."""
    try:
        return read(run)
    except (KeyError, IndexError, TypeError) as err:
        found = f"no field {one_line(err)!r}" if isinstance(err, KeyError) else one_line(err)
        raise ValueError(f"report: {Path(run.get('workdir', '?')) / RESULTS_FILE} must hold the "
                         f"fields that the table {table.title!r} reads, got {found}") from err


def render(table: RunTable | GridTable, runs: Sequence[Run]) -> str:
    """The table as markdown (an empty string when no run belongs to a RunTable)."""
    chosen = [r for r in runs if _field(table.select, r, table)]
    lines = [f"### {table.title}", ""]
    if isinstance(table, RunTable):
        if not chosen:
            return ""
        chosen.sort(key=lambda r: _field(table.sort, r, table))
        lines += _markdown([c.title for c in table.columns],
                           [[_field(c.value, r, table) for c in table.columns] for r in chosen])
    else:
        cells = {(_field(table.row, r, table), _field(table.column, r, table)):
                 _field(table.cell, r, table) for r in chosen}
        body = [[row, *(cells.get((row, col)) or table.missing(row, col) for col in table.columns),
                 ""]
                for row in table.rows]
        body += [[f"{ref.row} (published)", *(ref.values.get(col, "") for col in table.columns),
                  f"{ref.source}; {ref.data}"] for ref in table.references]
        lines += _markdown(["", *table.columns, "source"], body)
    if table.note:
        lines += ["", table.note]
    return "\n".join(lines) + "\n"


def commands(runs: Sequence[Run]) -> str:
    """The command that produced each run and the machine it ran on."""
    return "\n".join(f"- {r.get('name', '')}: `{r.get('command', '?')}` ({r.get('machine', '?')}"
                     f", {minutes(r)}, {r.get('status', '?')})"
                     for r in sorted(runs, key=lambda r: r.get("name", ""))) + "\n"
