"""rnnjax.compilation: where the persistent compilation cache goes (RNNJAX_COMPILATION_CACHE,
JAX's own settings first), that a second process loads what the first compiled, and the
CompileLog's counts."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import pytest

from rnnjax.compilation import (
    ENV_VAR,
    JAX_MIN_TIME_ENV,
    MAX_CACHE_BYTES,
    CompileLog,
    use_persistent_cache,
)

REPO = Path(__file__).resolve().parents[1]
SETTINGS = ("jax_compilation_cache_dir", "jax_persistent_cache_min_compile_time_secs",
            "jax_compilation_cache_max_size")


@pytest.fixture
def jax_settings():
    """JAX's cache settings with no directory set; restored afterwards. Nothing compiles while
    a test's directory is set, so JAX never opens a cache in this process."""
    saved = {name: getattr(jax.config, name) for name in SETTINGS}
    jax.config.update("jax_compilation_cache_dir", None)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 1.0)
    jax.config.update("jax_compilation_cache_max_size", -1)
    yield
    for name, value in saved.items():
        jax.config.update(name, value)


def test_by_default_the_users_cache_directory_stores_every_program(jax_settings, tmp_path):
    directory = use_persistent_cache({"XDG_CACHE_HOME": str(tmp_path)})
    assert directory == tmp_path / "rnnjax" / "jax"
    assert jax.config.jax_compilation_cache_dir == str(directory)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700  # entries are code: this user's
    assert jax.config.jax_persistent_cache_min_compile_time_secs == 0.0
    assert jax.config.jax_compilation_cache_max_size == MAX_CACHE_BYTES


def test_the_variable_names_the_directory_or_turns_it_off(jax_settings, tmp_path):
    chosen = tmp_path / "a" / "b"
    assert use_persistent_cache({ENV_VAR: str(chosen)}) == chosen and chosen.is_dir()
    jax.config.update("jax_compilation_cache_dir", None)
    for off in ("off", "0", "False", "none"):
        assert use_persistent_cache({ENV_VAR: off, "XDG_CACHE_HOME": str(tmp_path)}) is None
        assert jax.config.jax_compilation_cache_dir is None


def test_jax_settings_made_by_the_user_are_kept(jax_settings, tmp_path):
    jax.config.update("jax_compilation_cache_dir", str(tmp_path / "users"))
    assert use_persistent_cache({ENV_VAR: str(tmp_path / "ours")}) == tmp_path / "users"
    assert jax.config.jax_persistent_cache_min_compile_time_secs == 1.0
    assert not (tmp_path / "ours").exists()
    jax.config.update("jax_compilation_cache_dir", None)
    use_persistent_cache({ENV_VAR: str(tmp_path / "ours"), JAX_MIN_TIME_ENV: "1"})
    assert jax.config.jax_persistent_cache_min_compile_time_secs == 1.0


def test_an_unusable_directory_leaves_the_cache_off(jax_settings, tmp_path):
    (tmp_path / "file").write_text("")
    assert use_persistent_cache({ENV_VAR: str(tmp_path / "file" / "cache")}) is None
    assert jax.config.jax_compilation_cache_dir is None


def test_the_log_counts_each_functions_compilations():
    def train_step(x):
        return jnp.tanh(x) * 2.0

    step = jax.jit(train_step)
    inputs = {n: jnp.ones(n) for n in (3, 4)}
    with CompileLog() as log:
        for n in (3, 3, 4, 3, 4):
            step(inputs[n])
    step(jnp.ones(5))  # after the log closed: not recorded
    assert log.count("train_step") == 2 and log.count() == 2
    assert [len(log.select("train_step", stage)) for stage in ("trace", "lower", "compile")] == [
        2, 2, 2]
    summary = log.summary()
    assert summary["compiled"] == 2 and summary["loaded_from_cache"] == 0
    assert summary["compile_s"] == pytest.approx(log.seconds("train_step", "compile"), abs=2e-3)
    first = log.select("train_step", "compile")[0]
    assert log.count(between=(first.start, first.start)) == 1


PROGRAM = """
import json, sys
import jax, jax.numpy as jnp
from rnnjax.compilation import CompileLog, use_persistent_cache
use_persistent_cache()
def train_step(x):
    return jnp.sin(x) @ x.T
with CompileLog() as log:
    jax.jit(train_step)(jnp.ones((4, 3)))
print(json.dumps({"compiled": log.count("train_step"),
                  "loaded": len(log.select("train_step", "compile", cached=True))}))
"""


def test_a_second_process_loads_what_the_first_compiled(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO), "JAX_PLATFORMS": "cpu",
           ENV_VAR: str(tmp_path / "cache")}
    for jax_setting in ("JAX_COMPILATION_CACHE_DIR", JAX_MIN_TIME_ENV):
        env.pop(jax_setting, None)
    runs = []
    for _ in range(2):
        done = subprocess.run([sys.executable, "-c", PROGRAM], env=env, capture_output=True,
                              text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stderr[-3000:]
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    assert runs == [{"compiled": 1, "loaded": 0}, {"compiled": 0, "loaded": 1}]
    assert any(p.name.endswith("-cache") for p in (tmp_path / "cache").iterdir())
