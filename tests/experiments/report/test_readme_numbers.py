"""Every measured number a README quotes in bold agrees with the run record it cites.

README.md and experiments/*/README.md quote headline numbers in bold; the line that quotes one
must cite its record: a ``--workdir=results/...`` command or a ``results/...`` /
``benchmarks/results/...`` path (a run folder, a grid folder of runs, or a JSON file). The
number must equal, at the precision quoted, a value of that record: as stored, x 100 (a
percentage), / 60 (minutes) or / 3600 (hours). A number typed by hand that drifts from its
record, or a headline with no record, fails here.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
READMES = [ROOT / "README.md", *sorted(ROOT.glob("experiments/*/README.md"))]
BOLD_NUMBER = re.compile(r"\*\*([0-9]+(?:\.[0-9]+)?)")
CITED = re.compile(r"(?:--workdir=|`)((?:benchmarks/)?results/[\w/.\-]+?)(?=[`\s)]|$)")
UNITS = (1.0, 100.0, 1 / 60, 1 / 3600)


def _numbers(value: object) -> Iterator[float]:
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        yield float(value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _numbers(item)
    elif isinstance(value, list):
        for item in value:
            yield from _numbers(item)


def _record_files(cited: str) -> list[Path]:
    path = ROOT / cited
    if path.suffix == ".json":
        return [path] if path.is_file() else []
    return sorted(path.rglob("results.json")) if path.is_dir() else []


def _quoted(text: str, values: set[float]) -> bool:
    decimals = len(text.partition(".")[2])
    return any(abs(value - float(text)) <= 0.5 * 10 ** -decimals + 1e-9 for value in values)


def test_bold_numbers_agree_with_the_records_they_cite():
    problems = []
    for readme in READMES:
        for number, line in enumerate(readme.read_text().splitlines(), 1):
            bold = BOLD_NUMBER.findall(line)
            if not bold:
                continue
            where = f"{readme.relative_to(ROOT)}:{number}"
            files = [f for cited in CITED.findall(line) for f in _record_files(cited)]
            if not files:
                problems.append(f"{where}: {bold} cite no results/ record")
                continue
            values = {unit * v for f in files for v in _numbers(json.loads(f.read_text()))
                      for unit in UNITS if math.isfinite(v)}
            problems += [f"{where}: {text} is in no cited record ({len(files)} files)"
                         for text in bold if not _quoted(text, values)]
    assert not problems, "\n".join(problems)
