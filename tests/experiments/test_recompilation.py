"""A run compiles its train step once per batch shape (bucket), across epochs, folds and
evaluation, in every experiment with length buckets (classify, lm, tagging, names, seq2seq); the
second launch of a config compiles nothing. Tagging's two launches are those of
``benchmarks.compile_cpu``'s test (tests/benchmarks/test_benchmarks_compile_cpu.py), which checks
both.

Each test launches an experiment's command-line program, with a fresh persistent compilation
cache (or the one a first launch filled), under ``benchmarks.compile_probe``, which counts XLA
compilations from ``jax.monitoring`` events (``rnnjax.compilation.CompileLog``) and collects
the shapes of the batches the harness's train step was called with.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from rnnjax.data import load_splits

REPO = Path(__file__).resolve().parents[2]


def probe(tmp_path: Path, module: str, *args: str, launch: str = "run", stop: str = "") -> dict:
    """The probe's record of ``python -m module --workdir=tmp_path/launch args`` with the cache
    ``tmp_path/cache`` (empty at the first launch), stopped "before" or "after" its first
    evaluation (``stop``; "": run to the end)."""
    out = tmp_path / f"{launch}.json"
    env = {**os.environ, "PYTHONPATH": str(REPO), "JAX_PLATFORMS": "cpu",
           "RNNJAX_COMPILATION_CACHE": str(tmp_path / "cache")}
    for jax_setting in ("JAX_COMPILATION_CACHE_DIR", "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"):
        env.pop(jax_setting, None)
    stop_flags = [f"--stop_{stop}_evaluation"] if stop else []
    done = subprocess.run([sys.executable, "-m", "benchmarks.compile_probe", str(out), *stop_flags,
                           module, f"--workdir={tmp_path / launch}", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    record = json.loads(out.read_text())
    assert record["exit_code"] == 0, done.stderr[-3000:]
    return record


def test_classify_folds_and_epochs_compile_each_batch_shape_once(tmp_path):
    """Sentences of 3 to 14 words: padded to 8, 12 and 16 steps; 2 folds x 2 epochs."""
    rng = np.random.default_rng(0)
    words = {"pos": ("good", "great", "fine", "fun"), "neg": ("bad", "dull", "poor", "awful")}
    lines = [f"{label}\t{' '.join(rng.choice(vocab, rng.integers(3, 15)))}\n"
             for label, vocab in words.items() for _ in range(40)]
    (tmp_path / "tiny.tsv").write_text("".join(lines), encoding="utf-8")
    record = probe(tmp_path, "experiments.classify",
                   "--config=experiments/classify/configs.py:quick", "--config.data.name=file",
                   f"--config.data.path={tmp_path / 'tiny.tsv'}")
    shapes = len(record["train_batch_shapes"])
    assert shapes == 3 and record["run_batch_shapes"] == [3, 3]  # each fold meets them all
    assert record["train_steps"] > 4 * shapes  # each shape trained again in epoch 2
    # one XLA compilation per shape; the second fold loads them from the cache
    assert record["train_step_compiled"] == shapes
    assert record["train_step_loaded"] == shapes


def test_lm_epochs_and_evaluations_reuse_the_first_programs(tmp_path):
    """2 epochs of 4 steps on a small text; valid after each epoch, then test."""
    (tmp_path / "tiny.txt").write_text(load_splits("shakespeare")["train"][:20_000])
    record = probe(tmp_path, "experiments.lm", "--config=experiments/lm/configs.py:quick",
                   "--config.data.corpus=text", f"--config.data.path={tmp_path / 'tiny.txt'}",
                   "--config.data.eval_bptt=32", "--config.num_epochs=2",
                   "--config.steps_per_epoch=4")
    assert record["train_steps"] == 8 and len(record["train_batch_shapes"]) == 1
    assert record["train_step_compiled"] == 1 and record["train_step_loaded"] == 0
    # the state carried from batch to batch does not change the step's signature, and the
    # second validation and the test compile nothing the first validation did not
    first, *later = record["evaluations_compiled"]
    assert first >= 1 and later == [0, 0]


def assert_one_compilation_per_shape(record: dict) -> None:
    """The train step of a launch with an empty cache compiled once per distinct batch shape."""
    assert record["train_step_compiled"] == len(record["train_batch_shapes"])
    assert record["train_step_loaded"] == 0


def test_names_compiles_the_train_step_once_per_bucket(tmp_path):
    """Names of 3 to 13 letters (buckets 8, 12, 16), 6 steps."""
    rng = np.random.default_rng(0)
    letters = list("abcdefghijklmnop")
    (tmp_path / "names.tsv").write_text("".join(
        f"{''.join(rng.choice(letters, rng.integers(3, 14))).title()}\t{category}\n"
        for category in ("Dutch", "Italian") for _ in range(40)))
    record = probe(tmp_path, "experiments.names", "--config=experiments/names/configs.py:quick",
                   f"--config.data.corpus={tmp_path / 'names.tsv'}", "--config.data.min_names=10",
                   "--config.steps_per_epoch=6", stop="before")
    assert record["train_steps"] == 6 and len(record["train_batch_shapes"]) >= 2
    assert_one_compilation_per_shape(record)


def test_seq2seq_compiles_the_train_step_once_per_source_and_target_bucket(tmp_path):
    """Word-by-word translations of 1 to 7 words, an epoch of a 1 + 1 layer model: a batch is
    bucketed by its source length and each side padded to a multiple of pad_to=8 steps, so its
    buckets are (source, target) pairs: here (8, 8) and (8, 16), the target holding BOS and
    EOS."""
    rng = np.random.default_rng(0)
    words = {"eins": "one", "zwei": "two", "drei": "three", "vier": "four"}
    sources = [rng.choice(list(words), rng.integers(1, 8)) for _ in range(120)]
    (tmp_path / "pairs.tsv").write_text("".join(
        f"{' '.join(source)}\t{' '.join(words[w] for w in source)}\n" for source in sources))
    record = probe(tmp_path, "experiments.seq2seq", "--config=experiments/seq2seq/configs.py:quick",
                   f"--config.data.path={tmp_path / 'pairs.tsv'}", "--config.num_epochs=1",
                   "--config.steps_per_epoch=0", "--config.model.encoder_layers=1",
                   "--config.model.decoder_layers=1", stop="before")
    shapes = {(batch["source"][0][1], batch["target"][0][1])
              for batch in map(ast.literal_eval, record["train_batch_shapes"])}
    assert len(shapes) == len(record["train_batch_shapes"])
    assert shapes == {(8, 8), (8, 16)}
    assert_one_compilation_per_shape(record)
