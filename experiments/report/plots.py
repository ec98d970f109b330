"""What every experiment's figures share: matplotlib on the file-only Agg backend (imported when
a figure is drawn, so that the tables need no matplotlib), saving, and a placeholder figure."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig: Any, path: Path, dpi: int = 120) -> Path:
    """Lay ``fig`` out, write it to ``path`` and close it; returns ``path``."""
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    pyplot().close(fig)
    return path


def placeholder(path: Path, text: str, width: float = 4.0, dpi: int = 120) -> Path:
    """A figure of one line of ``text`` (why there is nothing to plot yet) at ``path``."""
    fig, ax = pyplot().subplots(figsize=(width, 1))
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center")
    return save(fig, path, dpi)
