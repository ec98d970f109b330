"""Metrics: units (perplexity, bits per character) and a writer for JSON lines + TensorBoard."""

from __future__ import annotations

import json
import math
import os
import platform
import sys
from pathlib import Path
from typing import Any

METRICS_FILE = "metrics.jsonl"


def summarize_nll(prefix: str, nll: float, level: str) -> dict[str, float]:
    """Mean NLL in nats per token -> {prefix_loss, prefix_ppl} and, at char level, prefix_bpc.

    Perplexity = exp(nll); bits per character = nll / ln 2.
    """
    out = {f"{prefix}_loss": nll, f"{prefix}_ppl": math.exp(min(nll, 700.0))}
    if level == "char":
        out[f"{prefix}_bpc"] = nll / math.log(2.0)
    return out


def machine() -> str:
    """E.g. '2-core x86_64 CPU (cpu)': cores, architecture and the JAX backend's devices."""
    import jax

    devices = jax.devices()
    kinds = sorted({d.device_kind for d in devices})
    return (f"{os.cpu_count()}-core {platform.machine()} CPU, {len(devices)} x "
            f"{'/'.join(kinds)} ({jax.default_backend()})")


def summary_writer(logdir: str | os.PathLike) -> Any:
    """tensorboardX's ``SummaryWriter``, imported without torch.

    tensorboardX imports torch when it is installed (seconds) only to accept torch tensors;
    these runs log Python floats, so the import is blocked while tensorboardX loads.
    """
    blocked = "torch" not in sys.modules
    if blocked:
        sys.modules["torch"] = None  # makes `import torch` raise ImportError
    try:
        from tensorboardX import SummaryWriter
    finally:
        if blocked:
            del sys.modules["torch"]
    return SummaryWriter(str(logdir))


def read_metrics(workdir: str | os.PathLike) -> list[dict[str, Any]]:
    """Every row of ``workdir/metrics.jsonl`` (empty when absent)."""
    path = Path(workdir) / METRICS_FILE
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class MetricWriter:
    """Appends ``{"step": s, **scalars}`` rows to metrics.jsonl and TensorBoard scalars.

    ``truncate_after(step)`` drops rows written after a checkpoint so that a resumed run's file
    reads as one uninterrupted run. Writes only on the process with ``enabled=True`` (process 0).
    """

    def __init__(self, workdir: str | os.PathLike, enabled: bool = True):
        self.path = Path(workdir) / METRICS_FILE
        self.enabled = enabled
        self._tb = None
        if enabled:
            self._tb = summary_writer(Path(workdir) / "tensorboard")

    def truncate_after(self, step: int) -> None:
        if self.enabled and self.path.is_file():
            rows = [r for r in read_metrics(self.path.parent) if r["step"] <= step]
            self.path.write_text("".join(json.dumps(r) + "\n" for r in rows))

    def write(self, step: int, **scalars: float) -> None:
        if not self.enabled:
            return
        with self.path.open("a") as f:
            f.write(json.dumps({"step": int(step), **scalars}) + "\n")
        for name, value in scalars.items():
            if isinstance(value, int | float):
                self._tb.add_scalar(name, value, step)

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
