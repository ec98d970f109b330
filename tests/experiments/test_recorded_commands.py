"""Every command recorded in results/**/results.json (and every ``python -m`` the docs show) still
names a runnable module and existing config files, run from the repository root (experiments/ is
not installed: ``python -m`` finds it on the current directory), so a rename cannot break the
records silently."""

from __future__ import annotations

import importlib.util
import json
import re
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


def test_every_documented_module_resolves_from_the_repository_root():
    """``python -m X`` in README.md, BUILD.md and the experiments' READMEs names a module."""
    documents = [ROOT / "README.md", ROOT / "BUILD.md", ROOT / "kernels" / "README.md",
                 *sorted(ROOT.glob("experiments/*/README.md"))]
    module_name = re.compile(r"python -m ([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)")
    missing = sorted({f"{path.relative_to(ROOT)}: {module}" for path in documents
                      for module in module_name.findall(path.read_text())
                      if module not in ("pip", "venv", "pytest")
                      and importlib.util.find_spec(module) is None})
    assert not missing, "\n".join(missing)
