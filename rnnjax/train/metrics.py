"""Metrics of a run: a writer for JSON lines + TensorBoard, the reader, and the one description
of the machine (``machine()`` for results.json, ``machine_details()`` for benchmark records)."""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

from rnnjax.train.workdir import write_atomic
from rnnjax.validation import fail

METRICS_FILE = "metrics.jsonl"


def machine() -> str:
    """E.g. '2-core x86_64 CPU (cpu)': cores, architecture and the JAX backend's devices."""
    import jax

    devices = jax.devices()
    kinds = sorted({d.device_kind for d in devices})
    return (f"{os.cpu_count()}-core {platform.machine()} CPU, {len(devices)} x "
            f"{'/'.join(kinds)} ({jax.default_backend()})")


#: the /proc/cpuinfo flags a benchmark record keeps: the vector units that set CPU speed ratios
SIMD_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni",
              "avx512_bf16", "amx_bf16")


def machine_details() -> dict[str, Any]:
    """``machine()`` and the platform, CPU model, its vector units (``SIMD_FLAGS`` it has), core
    count and the versions of Python, jax, jaxlib and (when installed) torch: the machine of a
    benchmark record."""
    import jax
    import jaxlib

    info: dict[str, Any] = {
        "machine": machine(), "platform": platform.platform(), "processor": platform.processor(),
        "cpu_count": os.cpu_count(), "python": platform.python_version(), "jax": jax.__version__,
        "jaxlib": jaxlib.__version__}
    try:
        import torch

        info["torch"] = torch.__version__
    except ImportError:
        pass
    try:
        with open("/proc/cpuinfo") as f:
            lines = f.readlines()
        info["cpu_model"] = next(line.split(":", 1)[1].strip() for line in lines
                                 if line.startswith("model name"))
        flags = next(line.split(":", 1)[1].split() for line in lines if line.startswith("flags"))
        info["cpu_simd"] = [flag for flag in SIMD_FLAGS if flag in flags]
    except (OSError, StopIteration):
        pass
    return info


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
    """Every row of ``workdir/metrics.jsonl`` (empty when absent).

    A last line without its newline is a row that a killed run was writing: it is ignored. Any
    other line that is not a JSON object is an error naming the file and the line.
    """
    path = Path(workdir) / METRICS_FILE
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8", errors="replace").split("\n")
    rows = []
    for number, line in enumerate(lines[:-1], start=1):  # lines[-1]: "" or a torn row
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            fail("read_metrics", f"line {number} of {path}", "a JSON object",
                 f"{line[:60]!r} ({err.msg}); delete that line to continue the run")
        if not isinstance(row, dict) or not isinstance(row.get("step"), int):
            fail("read_metrics", f"line {number} of {path}", 'a JSON object with an int "step"',
                 repr(line[:60]))
        rows.append(row)
    return rows


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
        """Keep the rows up to ``step`` (the checkpoint a run resumes from), atomically."""
        if self.enabled and self.path.is_file():
            rows = [r for r in read_metrics(self.path.parent) if r["step"] <= step]
            write_atomic(self.path, "".join(json.dumps(r) + "\n" for r in rows))

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
