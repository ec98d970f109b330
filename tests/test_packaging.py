"""What ``pip install`` installs: every package of the rnnjax/ tree, the kernels/ folder under the
name ``rnnjax_kernels``, and no top-level name of another project (kernels, experiments,
benchmarks); kernels/ imports nothing from rnnjax (arrows point down)."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_rnnjax_package_is_installed_and_nothing_else_at_top_level():
    folders = sorted(".".join(p.parent.relative_to(ROOT).parts)
                     for p in (ROOT / "rnnjax").rglob("__init__.py"))
    assert sorted(SETUPTOOLS["packages"]) == sorted([*folders, "rnnjax_kernels"])
    assert SETUPTOOLS["package-dir"] == {"rnnjax_kernels": "kernels"}
    assert {name.split(".")[0] for name in SETUPTOOLS["packages"]} == {"rnnjax", "rnnjax_kernels"}


def test_kernels_import_nothing_from_rnnjax():
    for path in (ROOT / "kernels").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert name.split(".")[0] not in ("rnnjax", "experiments", "benchmarks"), (
                    f"{path.relative_to(ROOT)} imports {name}")
