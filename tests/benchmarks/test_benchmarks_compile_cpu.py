"""python -m benchmarks.compile_cpu on the quick LM: a cold launch compiles, the second launch
with the same persistent cache compiles nothing; the records name the machine and the load."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_second_launch_loads_every_program_from_the_cache(tmp_path):
    out = tmp_path / "compile.json"
    cmd = [sys.executable, "-m", "benchmarks.compile_cpu", "--experiments=lm", "--steps=1",
           "--extra_args=--config=experiments/lm/configs.py:quick", f"--out={out}"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu"}
    for jax_setting in ("JAX_COMPILATION_CACHE_DIR", "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"):
        env.pop(jax_setting, None)
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    record = json.loads(out.read_text())
    assert record["machine"]["jax"] and len(record["load_average_1min"]) == 2
    (cold,), (warm,) = record["results"]["lm"]["cold"], record["results"]["lm"]["warm"]
    for launch in (cold, warm):
        assert 0 < launch["setup_s"] < launch["first_step_s"] < launch["wall_s"]
        assert 0 < launch["setup_cpu_s"] < launch["first_step_cpu_s"]
        assert launch["train_steps"] == 1 and launch["evaluations_compiled"]
    assert cold["total"]["compiled"] > 0 and cold["train_step"]["compiled"] == 1
    assert cold["evaluation"]["compiled"] >= 1
    assert warm["source_digest"] == cold["source_digest"]
    assert warm["total"]["compiled"] == 0
    assert warm["total"]["loaded_from_cache"] == cold["total"]["compiled"]
    assert warm["train_step"]["loaded_from_cache"] == 1
    (torch_run,) = record["torch_lm"]
    assert 0 < torch_run["setup_s"] < torch_run["first_step_s"]
    assert 0 < torch_run["setup_cpu_s"] < torch_run["first_step_cpu_s"]
    markdown = out.with_suffix(".md").read_text()
    assert "| lm | cold |" in markdown and "| lm | warm |" in markdown
    assert str(record["load_average_1min"]) in markdown
