"""Suite-wide settings: nothing downloads while the tests run, XLA compiles without its costly
optimisations, and one persistent JAX compilation cache serves the whole run."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

import pytest

# The suite's compilation cache: set by the first pytest process (the xdist controller, or the
# only process with -n 0) before any worker or child process starts, so that the workers and
# every CLI they launch inherit it through the environment.
CACHE_VARIABLE = "JAX_COMPILATION_CACHE_DIR"
OWNED_CACHE = "RNNJAX_TEST_OWNS_JAX_CACHE"
# Read by jax at import (``jax_disable_most_optimizations``): XLA without its costly passes.
FAST_COMPILE_VARIABLE = "JAX_DISABLE_MOST_OPTIMIZATIONS"


def pytest_configure(config: pytest.Config) -> None:
    """Compile fast, then share one compilation cache (``_share_compilation_cache``).

    The suite runs thousands of small programs once each, so compiling them dominates its time:
    XLA without its costly optimisations took 22-49 % less CPU per test file (the float64
    gradient checks, the fused-kernel comparisons and the quick configs' pinned losses of
    tests/experiments/test_protocol_v2.py pass unchanged; the optimisations reorder and fuse
    work, they do not change the math). Set through the environment, so the workers and every
    CLI a test launches compile the same way; a user's own setting is kept. Speed figures come
    from the benchmark scripts run on their own, never from the suite.
    """
    os.environ.setdefault(FAST_COMPILE_VARIABLE, "1")  # read when jax is imported
    _share_compilation_cache(config)


def _share_compilation_cache(config: pytest.Config) -> None:
    """Point JAX's persistent compilation cache at a fresh directory for this pytest run.

    Many tests compile the same programs: the same quick configs in-process and in CLI
    subprocesses, which re-import jax. JAX keys a cache entry by the program's HLO (debug info
    stripped), the jax/jaxlib version, the backend and its version, XLA_FLAGS (e.g. a forced
    device count) and the compile options, and a hit loads the executable XLA compiled for the
    same key, so a hit runs the same code as a fresh compile. A fresh directory per run keeps
    entries from another checkout or install out; a user's own ``JAX_COMPILATION_CACHE_DIR`` is
    respected.
    """
    if hasattr(config, "workerinput") or CACHE_VARIABLE in os.environ:
        return  # an xdist worker inherits the controller's; a user's own cache is kept
    os.environ[CACHE_VARIABLE] = tempfile.mkdtemp(prefix="rnnjax-tests-jax-cache-")
    os.environ[OWNED_CACHE] = "1"
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    if "jax" in sys.modules:  # imported by a plugin before this hook: set it in this process too
        import jax

        jax.config.update("jax_compilation_cache_dir", os.environ[CACHE_VARIABLE])


def pytest_unconfigure(config: pytest.Config) -> None:
    """Delete the run's cache directory (only the process that made it)."""
    if not hasattr(config, "workerinput") and os.environ.pop(OWNED_CACHE, None):
        shutil.rmtree(os.environ.pop(CACHE_VARIABLE), ignore_errors=True)


@pytest.fixture(autouse=True)
def no_auto_prepare(monkeypatch):
    """A dataset that is not prepared is an error (``RNNJAX_NO_AUTO_PREPARE=1``, see
    ``rnnjax.data.prepare.prepared_dir``) rather than a download; tests of preparing on first
    use delete the variable."""
    monkeypatch.setenv("RNNJAX_NO_AUTO_PREPARE", "1")
