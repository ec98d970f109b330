r"""Run a command-line program in this process and record its start-up and its compilations.

    python -m benchmarks.compile_probe OUT.json [--stop_{after,before}_evaluation] MODULE [ARG ...]

e.g. ``python -m benchmarks.compile_probe /tmp/lm.json experiments.lm --workdir=/tmp/run``. The
program runs as ``python -m MODULE ARG ...`` would (``runpy``), with a
``rnnjax.compilation.CompileLog`` active and the harness (``rnnjax.train.run``) instrumented:
every call of each run's train step and of its task's ``evaluate`` is timed, and the shapes of
the train step's batches are collected. OUT.json holds:

* ``first_step_s``: seconds from the launch to the end of the first training step (its outputs
  computed); the launch is ``$COMPILE_PROBE_LAUNCHED`` (the parent's ``time.time()`` before it
  started this process), else when the probe began to run the program; ``setup_s``: from the
  launch to the first call of the train step (imports, data, model, checks);
  ``setup_cpu_s`` / ``first_step_cpu_s``: the CPU seconds of this process (every thread, XLA's
  included) at those two points, the work a loaded machine's wall times inflate;
* ``train_step`` / ``evaluation``: what compiled during the first train step / the first
  ``evaluate`` (``CompileLog.summary``: trace, lower and XLA seconds, programs compiled and
  loaded from the persistent cache), and the call's seconds;
* ``train_step_compiled`` / ``train_step_loaded``: XLA compilations of ``train_step`` over the
  whole program that the persistent cache did not / did serve; ``train_batch_shapes``: the
  distinct shapes of the batches the train step was called with (the buckets),
  ``run_batch_shapes``: their number in each run (a replicate is a run of its own);
  ``train_steps``: the train step's calls;
* ``evaluations_compiled``: per ``evaluate`` call, the XLA compilations the cache did not serve;
* ``total``: the summary of every compilation; ``functions``: per function name its XLA
  compilations, loads from the cache and seconds of the three stages; ``exit_code``: the
  program's exit status;
* ``source_digest``: SHA-256 of the code the program ran (``SOURCES`` below, read when it
  ended): two launches that should share the persistent cache must show the same digest, or the
  second one compiles what changed (e.g. a default that changed between the launches).

``--stop_after_evaluation`` ends the program when its first ``evaluate`` returns (start-up is
measured, not training); ``--stop_before_evaluation`` when its first ``evaluate`` is called
(training's compilations only, e.g. in tests). The flags are not absl's: the program parses
those, once per process.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import runpy
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rnnjax.compilation import CompileLog

LAUNCHED_ENV = "COMPILE_PROBE_LAUNCHED"
# The code whose change changes the compiled programs: the packages' sources and the built
# extension, under the folder that holds rnnjax.
SOURCES = ("rnnjax", "experiments", "kernels")
SOURCE_SUFFIXES = (".py", ".cc", ".h", ".so")
STOP_FLAGS = {"--stop_after_evaluation": "after", "--stop_before_evaluation": "before"}
USAGE = ("usage: python -m benchmarks.compile_probe OUT.json [--stop_{after,before}_evaluation] "
         "MODULE [ARG ...]")


class StopProgram(BaseException):
    """Ends the program at its first evaluation (no handler of the harness catches it)."""


class Probe:
    """The windows (start, end) of the train-step and ``evaluate`` calls of every run;
    ``stop``: end the program "before" or "after" the first ``evaluate`` call (None: never)."""

    def __init__(self, stop: str | None):
        self.stop = stop
        self.windows: dict[str, list[tuple[float, float]]] = {"train_step": [], "evaluate": []}
        self.first_step_cpu: tuple[float, float] | None = None  # process CPU seconds at both ends
        self.run_shapes: list[set[str]] = []  # per run, its train batches' shapes

    def install(self) -> None:
        """Wrap each harness run's train step and its task's ``evaluate`` once it is built."""
        harness = importlib.import_module("rnnjax.train.run")  # rnnjax.train.run is a function

        build = harness._Run.__init__
        probe = self

        def instrumented(run: Any, *args: Any, **kwargs: Any) -> None:
            build(run, *args, **kwargs)
            probe.run_shapes.append(set())
            run.train_step = probe.timed("train_step", run.train_step)
            run.task.evaluate = probe.timed("evaluate", run.task.evaluate)

        harness._Run.__init__ = instrumented

    def timed(self, name: str, function: Callable) -> Callable:
        import jax

        def call(*args: Any, **kwargs: Any) -> Any:
            if name == "evaluate" and self.stop == "before":
                raise StopProgram
            start, start_cpu = time.time(), time.process_time()
            out = jax.block_until_ready(function(*args, **kwargs))
            self.windows[name].append((start, time.time()))
            if name == "train_step" and self.first_step_cpu is None:
                self.first_step_cpu = (start_cpu, time.process_time())
            if name == "train_step":  # (params, opt_state, state, batch, key, lr)
                self.run_shapes[-1].add(str(jax.tree.map(lambda x: (x.shape, str(x.dtype)),
                                                         args[3])))
            elif self.stop == "after":
                raise StopProgram
            return out

        return call


def source_digest() -> str:
    """SHA-256 of the paths and contents of the ``SOURCE_SUFFIXES`` files under ``SOURCES``."""
    root = Path(importlib.util.find_spec("rnnjax").origin).parents[1]
    digest = hashlib.sha256()
    for folder in SOURCES:
        for path in sorted((root / folder).rglob("*")):
            if path.suffix in SOURCE_SUFFIXES and path.is_file():
                digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def run_program(out: Path, module: str, args: list[str], stop: str | None = None) -> int:
    """Run ``module`` as ``__main__`` under the probe (``Probe``'s ``stop``); write the record
    to ``out``."""
    launched = float(os.environ.get(LAUNCHED_ENV, time.time()))
    probe = Probe(stop)
    with CompileLog() as log:
        probe.install()
        sys.argv = [module, *args]
        try:
            runpy.run_module(module, run_name="__main__", alter_sys=True)
            code = 0
        except StopProgram:
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
    loaded = log.select("train_step", "compile", cached=True)
    record: dict[str, Any] = {
        "module": module, "args": args, "exit_code": code, "total": log.summary(),
        "train_steps": len(probe.windows["train_step"]),
        "train_step_compiled": log.count("train_step"), "train_step_loaded": len(loaded),
        "train_batch_shapes": sorted(set().union(*probe.run_shapes)),
        "run_batch_shapes": [len(shapes) for shapes in probe.run_shapes],
        "evaluations_compiled": [log.count(between=window)
                                 for window in probe.windows["evaluate"]],
        "functions": {name: [log.count(name), len(log.select(name, "compile", cached=True)),
                             round(log.seconds(name), 3)]
                      for name in sorted({r.name for r in log.records})},
        "source_digest": source_digest()}
    for name, key in (("train_step", "train_step"), ("evaluate", "evaluation")):
        if probe.windows[name]:
            start, end = probe.windows[name][0]
            record[key] = {"call_s": round(end - start, 3),
                           **log.summary(between=(start, end))}
    if probe.windows["train_step"]:
        start, end = probe.windows["train_step"][0]
        record["setup_s"] = round(start - launched, 3)
        record["first_step_s"] = round(end - launched, 3)
        record["setup_cpu_s"], record["first_step_cpu_s"] = (round(t, 3)
                                                             for t in probe.first_step_cpu)
    out.write_text(json.dumps(record, indent=1))
    return code


def main(argv: list[str]) -> None:
    args = argv[1:]
    stop = STOP_FLAGS.get(args[1]) if len(args) > 1 else None
    if stop:
        args.pop(1)
    if len(args) < 2:
        sys.exit(USAGE)
    code = run_program(Path(args[0]), args[1], args[2:], stop)
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip the interpreter's shutdown: a program stopped after its evaluation leaves its
    # checkpointer's threads behind.
    os._exit(code)


if __name__ == "__main__":
    main(sys.argv)
