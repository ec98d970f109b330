"""The report on a results.json that lacks a field its table reads: one line naming both."""

from __future__ import annotations

from pathlib import Path

import pytest

from experiments.report.tables import Column, GridTable, RunTable, render


def test_a_missing_field_names_the_file_and_the_field(tmp_path):
    table = RunTable("Runs", lambda r: True, [Column("data", lambda r: r["corpus"])])
    good = {"name": "a", "corpus": "ptb", "workdir": tmp_path / "a"}
    assert "| ptb |" in render(table, [good])
    bad = {"name": "b", "workdir": tmp_path / "b"}
    with pytest.raises(ValueError, match=(
            rf"^report: {Path(tmp_path / 'b' / 'results.json')} must hold the fields that the "
            r"table 'Runs' reads, got no field 'corpus'$")):
        render(table, [good, bad])
    grid = GridTable("Grid", lambda r: True, lambda r: r["model"], lambda r: r["corpus"],
                     lambda r: f"{r['mean']['accuracy']:.1f}", ("lstm",), ("ptb",))
    with pytest.raises(ValueError, match=r"b/results.json must hold the fields that the table "
                                         r"'Grid' reads, got no field 'model'$"):
        render(grid, [bad])
    with pytest.raises(ValueError, match=r"got unsupported format string passed to NoneType"):
        render(grid, [{**good, "model": "lstm", "mean": {"accuracy": None}}])
