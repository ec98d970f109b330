"""python -m benchmarks.compile_cpu on the quick tagger over a small tagged corpus: a cold launch
compiles the train step once per batch shape (bucket), the second launch with the same persistent
cache compiles nothing; the records name the machine and the load; torch's first step of the
default LM (the peer the benchmark times beside the LM) in its child process.

The two launches are also the tagging experiment's check that a run compiles its train step once
per bucket and that a second launch compiles nothing (tests/experiments/test_recompilation.py
checks the other experiments with length buckets)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
TORCH_PROBE = ("import json; from benchmarks.compile_cpu import lm_sizes, torch_probe; "
               "print(json.dumps(torch_probe(lm_sizes())))")


def run_benchmark(*args: str) -> subprocess.CompletedProcess:
    """``python -m benchmarks.compile_cpu ARGS`` with no compilation cache of the suite's."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu"}
    for jax_setting in ("JAX_COMPILATION_CACHE_DIR", "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"):
        env.pop(jax_setting, None)
    done = subprocess.run([sys.executable, "-m", "benchmarks.compile_cpu", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_the_second_launch_loads_every_program_from_the_cache(tmp_path):
    """Sentences of 2 to 13 tagged words (buckets 8, 12, 16), 6 steps and the first validation;
    the same command again, with the cache the first launch filled, loads every program the
    first compiled and compiles none."""
    rng = np.random.default_rng(0)
    tags = {"the": "DT", "cat": "NN", "dog": "NN", "sees": "VBZ", "runs": "VBZ"}
    corpus = tmp_path / "tagged.txt"
    corpus.write_text("".join(
        " ".join(f"{w}/{tags[w]}" for w in rng.choice(list(tags), rng.integers(2, 14))) + "\n"
        for _ in range(80)))
    out = tmp_path / "compile.json"
    run_benchmark("--experiments=tagging", "--steps=6",
                  "--extra_args=--config=experiments/tagging/configs.py:quick,"
                  f"--config.data.corpus={corpus},--config.data.ood_test=", f"--out={out}")
    record = json.loads(out.read_text())
    assert record["machine"]["jax"] and len(record["load_average_1min"]) == 2
    (cold,), (warm,) = record["results"]["tagging"]["cold"], record["results"]["tagging"]["warm"]
    for launch in (cold, warm):
        assert 0 < launch["setup_s"] < launch["first_step_s"] < launch["wall_s"]
        assert 0 < launch["setup_cpu_s"] < launch["first_step_cpu_s"]
        assert launch["train_steps"] == 6 and launch["evaluations_compiled"]
    assert cold["total"]["compiled"] > 0 and cold["train_step"]["compiled"] == 1
    assert cold["evaluation"]["compiled"] >= 1
    # one XLA compilation of the train step per batch shape, none served by the empty cache
    assert len(cold["train_batch_shapes"]) >= 2
    assert cold["train_step_compiled"] == len(cold["train_batch_shapes"])
    assert cold["train_step_loaded"] == 0
    assert warm["source_digest"] == cold["source_digest"]  # nothing edited in between
    assert warm["train_batch_shapes"] == cold["train_batch_shapes"]
    assert warm["total"]["compiled"] == 0, warm["functions"]
    assert warm["total"]["loaded_from_cache"] == cold["total"]["compiled"]
    assert warm["train_step"]["loaded_from_cache"] == 1
    markdown = out.with_suffix(".md").read_text()
    assert "| tagging | cold |" in markdown and "| tagging | warm |" in markdown
    assert str(record["load_average_1min"]) in markdown



def test_torch_times_its_first_step_of_the_default_lm():
    """``torch_probe(lm_sizes())``, as the benchmark runs it beside the LM's launches: a child
    process (``--child``) that imports no jax times torch's launch to its first step of the
    default LM."""
    done = subprocess.run([sys.executable, "-c", TORCH_PROBE], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, check=False,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-3000:]
    torch_run = json.loads(done.stdout.strip().splitlines()[-1])
    assert 0 < torch_run["setup_s"] < torch_run["first_step_s"]
    assert 0 < torch_run["setup_cpu_s"] < torch_run["first_step_cpu_s"]
    assert torch_run["threads"] >= 1
