"""python -m benchmarks.lstm_kernels runs its CPU smoke config and writes the JSON and markdown
records."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import rnnjax_kernels as kernels

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_smoke_benchmark_writes_records(tmp_path):
    cmd = [sys.executable, "-m", "benchmarks.lstm_kernels", "--config=smoke", "--warmup=1",
           "--repeats=2", "--impls=scan,xla,triton,triton_cell,cudnn_jax,torch_cudnn_fp16",
           f"--out_dir={tmp_path}", "--name=smoke"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    record = json.loads((tmp_path / "smoke.json").read_text())
    for key in ("device", "jax_platform", "jax", "jaxlib", "triton", "python"):
        assert record["machine"][key], key
    rows = {r["impl"]: r for r in record["rows"]}
    for impl in ("scan", "xla"):
        assert rows[impl]["status"] == "ok"
        assert rows[impl]["fwd_ms"] > 0 and rows[impl]["fwd_bwd_ms"] > 0
    if not kernels.gpu_available():
        for impl in ("triton", "triton_cell"):
            assert rows[impl]["status"].startswith("unavailable"), rows[impl]
            assert rows[impl]["fwd_ms"] is None
    table = (tmp_path / "smoke.md").read_text()
    assert "| B4 T8 2x16 float32 | xla |" in table
