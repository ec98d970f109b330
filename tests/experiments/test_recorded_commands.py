"""Every command recorded in results/**/results.json still names a runnable module and existing
config files, run from the repository root (experiments/ is not installed: ``python -m`` finds it
on the current directory), so a rename cannot break the records silently."""

from __future__ import annotations

import importlib.util
import json
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _commands() -> dict[str, str]:
    """results.json path -> its recorded command."""
    records = sorted((ROOT / "results").rglob("results.json"))
    assert records, "no run records under results/"
    return {str(p.relative_to(ROOT)): json.loads(p.read_text())["command"] for p in records}


def test_every_recorded_command_resolves_from_the_repository_root():
    broken = []
    for record, command in _commands().items():
        words = shlex.split(command)
        module = words[words.index("-m") + 1]
        if importlib.util.find_spec(module) is None:
            broken.append(f"{record}: no module {module}")
        if not str(importlib.util.find_spec(module.split(".")[0]).origin).startswith(str(ROOT)):
            broken.append(f"{record}: {module} imports from outside the repository")
        for word in words:
            if word.startswith("--config="):
                path = word.removeprefix("--config=").split(":")[0]
                if not (ROOT / path).is_file():
                    broken.append(f"{record}: no config file {path}")
    assert not broken, "\n".join(broken[:20])
