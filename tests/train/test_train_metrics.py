"""rnnjax.train.metrics.machine_details: what a benchmark record says about its machine."""

from __future__ import annotations

import builtins
import io
import sys

from rnnjax.train import metrics

CPUINFO = """processor\t: 0
model name\t: Example CPU 9000
flags\t\t: fpu sse2 sse4_2 avx avx2 fma avx512f avx512bw
processor\t: 1
model name\t: Example CPU 9000
flags\t\t: fpu sse2 sse4_2 avx avx2 fma avx512f avx512bw
"""


def test_records_the_cpu_model_and_its_vector_units(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # no torch version (its import takes ~2 s)
    real_open = builtins.open
    monkeypatch.setattr(builtins, "open", lambda path, *args, **kwargs: io.StringIO(CPUINFO)
                        if path == "/proc/cpuinfo" else real_open(path, *args, **kwargs))
    details = metrics.machine_details()
    assert details["cpu_model"] == "Example CPU 9000"
    assert details["cpu_simd"] == ["sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw"]
