"""Compilation: the persistent cache of every command-line program, and a log of compilations.

**The persistent cache.** ``use_persistent_cache()`` (called by ``rnnjax.cli.run``, so by every
``python -m experiments.<task>``) stores each program XLA compiles on disk, so that the second
launch of a config loads its train and evaluation steps instead of compiling them again, and the
replicates (folds, seeds) of a run compile each step once. ``RNNJAX_COMPILATION_CACHE`` says where:

* unset or empty: ``$XDG_CACHE_HOME/rnnjax/jax`` (``~/.cache/rnnjax/jax`` without XDG), one
  directory for every workdir and every program of this user;
* a directory: that one (created when missing);
* ``off`` (or ``0``, ``false``, ``none``): no cache from rnnjax.

A cache directory already set for JAX (``JAX_COMPILATION_CACHE_DIR``, or
``jax_compilation_cache_dir`` set before) wins and is left as it is, with JAX's other cache
settings. Otherwise every program is stored (``jax_persistent_cache_min_compile_time_secs`` 0:
the many small programs of a run add up to seconds too) and the cache is bounded to
``MAX_CACHE_BYTES`` with least-recently-used eviction, each unless its JAX environment variable
says otherwise. A directory that cannot be created turns the cache off with a warning.

Why one directory may serve every workdir: JAX keys an entry by a hash of the program itself
(its StableHLO, source locations left out), the compile options (devices and their
assignment), the jax and jaxlib versions, the backend and its version and the XLA flags. Two runs
share an entry only when they would compile the same program for the same devices with the same
compiler, whatever their workdirs, data or configs; a new jax version or another machine's
backend misses the cache rather than loading a stale entry. With a size bound JAX reads and
writes entries under a file lock, so concurrent runs share the directory safely. Entries are
executable code: the directory must be writable by this user only (it is created mode 0700).

**The log.** ``CompileLog`` records, from ``jax.monitoring`` events, every tracing, lowering and
XLA compilation (or persistent-cache load) of the programs jitted while it is active, by function
name: e.g. how often ``train_step`` (the harness's step) compiled and for how long.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jax
from absl import logging

ENV_VAR = "RNNJAX_COMPILATION_CACHE"
OFF = ("off", "0", "false", "none")
# Bound of the default cache; least recently used entries go first (a char LSTM's train step
# is about 1 MB, the small programs of a run a few kB each).
MAX_CACHE_BYTES = 2 << 30
# JAX's environment variables that leave the corresponding setting to the user.
JAX_DIR_ENV = "JAX_COMPILATION_CACHE_DIR"
JAX_MIN_TIME_ENV = "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"
JAX_MAX_SIZE_ENV = "JAX_COMPILATION_CACHE_MAX_SIZE"


def default_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/rnnjax/jax``, else ``~/.cache/rnnjax/jax``."""
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_CACHE_HOME") or str(Path("~/.cache").expanduser())
    return Path(base) / "rnnjax" / "jax"


def use_persistent_cache(environ: Mapping[str, str] | None = None) -> Path | None:
    """Turn on JAX's persistent compilation cache as ``RNNJAX_COMPILATION_CACHE`` says (see the
    module docstring); the directory in use, or None when there is none.

    Call it before the first compilation that should be cached (``rnnjax.cli.run`` does, before
    parsing the flags): JAX opens the cache at the first compilation after a directory is set.
    """
    environ = os.environ if environ is None else environ
    if jax.config.jax_compilation_cache_dir:
        return Path(jax.config.jax_compilation_cache_dir)
    setting = environ.get(ENV_VAR, "").strip()
    if setting.lower() in OFF:
        return None
    directory = Path(setting).expanduser() if setting else default_cache_dir(environ)
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
        directory.mkdir(mode=0o700, exist_ok=True)
        if not os.access(directory, os.W_OK | os.X_OK):
            raise PermissionError(f"{directory} is not writable")
    except OSError as err:
        logging.warning("no persistent compilation cache: cannot use %s (%s); set %s to "
                        "another directory, or to off", directory, err, ENV_VAR)
        return None
    jax.config.update("jax_compilation_cache_dir", str(directory))
    if JAX_MIN_TIME_ENV not in environ:
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    # JAX's eviction needs the filelock package, which also serialises concurrent readers and
    # writers; without it the cache grows unbounded, as JAX's default.
    if JAX_MAX_SIZE_ENV not in environ and importlib.util.find_spec("filelock"):
        jax.config.update("jax_compilation_cache_max_size", MAX_CACHE_BYTES)
    return directory


# jax.monitoring events (jax._src.dispatch): each stage's start and end per function, and the
# persistent cache serving the compilation in progress.
STAGE_EVENTS = {"/jax/core/compile/jaxpr_trace_duration": "trace",
                "/jax/core/compile/jaxpr_to_mlir_module_duration": "lower",
                "/jax/core/compile/backend_compile_duration": "compile"}
CACHE_HIT_EVENT = "/jax/compilation_cache/cache_hits"


@dataclasses.dataclass(frozen=True)
class Compilation:
    """One stage of compiling ``name``: "trace" (Python to jaxpr), "lower" (jaxpr to StableHLO)
    or "compile" (XLA, or a load from the persistent cache when ``cached``)."""

    name: str
    stage: str
    start: float  # time.time() when the stage began
    seconds: float
    cached: bool = False


class CompileLog:
    """The compilations of the programs JAX compiles while the log is active::

        with CompileLog() as log:
            train()
        log.count("train_step")  # XLA compilations of functions named train_step

    Names are the jitted Python functions' (``jit(f)`` and ``f`` both read ``f``); eager
    operations appear under their primitive's name (``add``, ``broadcast_in_dim``, ...).
    """

    def __init__(self) -> None:
        self.records: list[Compilation] = []
        self._cache_hit = False

    def __enter__(self) -> CompileLog:
        jax.monitoring.register_event_time_span_listener(self._on_span)
        jax.monitoring.register_event_listener(self._on_event)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        jax.monitoring.unregister_event_time_span_listener(self._on_span)
        jax.monitoring.unregister_event_listener(self._on_event)

    def _on_event(self, event: str, **kwargs: Any) -> None:
        del kwargs
        if event == CACHE_HIT_EVENT:
            self._cache_hit = True

    def _on_span(self, event: str, start: float, end: float, **kwargs: Any) -> None:
        stage = STAGE_EVENTS.get(event)
        if stage is None:
            return
        name = re.sub(r"^jit\((.*)\)$", r"\1", str(kwargs.get("fun_name", "")))
        cached = stage == "compile" and self._cache_hit
        if stage == "compile":
            self._cache_hit = False
        self.records.append(Compilation(name, stage, start, end - start, cached))

    def select(self, name: str | None = None, stage: str | None = None, *,
               cached: bool | None = None, between: tuple[float, float] | None = None
               ) -> list[Compilation]:
        """The records of ``name`` (None: all) at ``stage`` (None: all), loaded from the cache
        or not (None: both), begun within ``between`` = (start, end) in time.time()."""
        return [r for r in self.records
                if (name is None or r.name == name) and (stage is None or r.stage == stage)
                and (cached is None or r.cached == cached)
                and (between is None or between[0] <= r.start <= between[1])]

    def count(self, name: str | None = None, **kwargs: Any) -> int:
        """XLA compilations of ``name`` that the persistent cache did not serve (``select``'s
        ``between`` applies)."""
        return len(self.select(name, "compile", cached=False, **kwargs))

    def seconds(self, name: str | None = None, stage: str | None = None, **kwargs: Any
                ) -> float:
        """Seconds spent in the selected stages (``select``'s arguments)."""
        return sum(r.seconds for r in self.select(name, stage, **kwargs))

    def summary(self, **kwargs: Any) -> dict[str, Any]:
        """Per stage its seconds; XLA compilations and cache loads (``select``'s arguments)."""
        records = self.select(**kwargs)
        out: dict[str, Any] = {f"{stage}_s": round(sum(r.seconds for r in records
                                                       if r.stage == stage), 3)
                               for stage in STAGE_EVENTS.values()}
        compiles = [r for r in records if r.stage == "compile"]
        out["compiled"] = sum(not r.cached for r in compiles)
        out["loaded_from_cache"] = sum(r.cached for r in compiles)
        return out
