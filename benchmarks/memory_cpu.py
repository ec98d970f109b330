r"""minGRU / minLSTM training steps on CPU: the log-space parallel scan against the same cells'
sequential scan and against GRU / LSTM layers (impl "auto"), over sequence lengths.

    python -m benchmarks.memory_cpu                       # T in 64, 256, 1024, 4096
    python -m benchmarks.memory_cpu --lengths=64,256 --repeats=5 --rounds=2

One layer, batch ``--batch``, ``--inputs`` input features, ``--hidden`` units, float32; a step is
the gradient of sum(outputs^2) with respect to the parameters and the inputs (forward +
backward), jit-compiled, timed as the median of ``--repeats`` calls after ``--warmup`` (and one
compiling call). Each length runs in its own fresh process, which times every implementation
one after the other (only JAX runs, so they share no thread pools; one process per length
spares the start-up of jax on a loaded machine), ``--rounds`` times. Implementations:
  mingru_parallel / minlstm_parallel   impl="parallel" (jax.lax.associative_scan in log space)
  mingru_scan / minlstm_scan           impl="scan" (lax.scan over the same step)
  gru / lstm                           impl="auto" (the hand-written backward on CPU)
Prints the medians with their ratio to the GRU's time, then each min-cell's sequential time
divided by its parallel time (> 1: the parallel scan is faster), and writes JSON and markdown
with the machine and the load average before and after.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
from pathlib import Path

from absl import app, flags

from benchmarks import common
from rnnjax.memory import keep_freed_memory

IMPLS = {  # name -> (cell, impl)
    "mingru_parallel": ("mingru", "parallel"),
    "mingru_scan": ("mingru", "scan"),
    "minlstm_parallel": ("minlstm", "parallel"),
    "minlstm_scan": ("minlstm", "scan"),
    "gru": ("gru", "auto"),
    "lstm": ("lstm", "auto"),
}

_LENGTHS = flags.DEFINE_list("lengths", ["64", "256", "1024", "4096"], "Sequence lengths T.")
_IMPLS = flags.DEFINE_list("impls", list(IMPLS), "Implementations to run.")
_BATCH = flags.DEFINE_integer("batch", 16, "Sequences per step.")
_INPUTS = flags.DEFINE_integer("inputs", 32, "Input features.")
_HIDDEN = flags.DEFINE_integer("hidden", 128, "Units of the layer.")
_REPEATS = flags.DEFINE_integer("repeats", 5, "Timed calls per implementation (median).")
_WARMUP = flags.DEFINE_integer("warmup", 1, "Untimed calls after compilation.")
_ROUNDS = flags.DEFINE_integer("rounds", 1, "Interleaved repetitions of the whole series.")
_OUT = flags.DEFINE_string("out", "benchmarks/results/memory_cpu.json", "Where to write JSON "
                           "(the markdown goes beside it).")
_CHILD = flags.DEFINE_string("child", None, "Internal: time every --impls at length T.")


def _step(impl: str, length: int):
    """A function computing all gradients of sum(outputs^2) of one layer."""
    import jax
    import jax.numpy as jnp
    from flax import nnx

    from rnnjax.cells import make_cell
    from rnnjax.layers import RNN

    cell, layer_impl = IMPLS[impl]
    layer = RNN(make_cell(cell, _INPUTS.value, _HIDDEN.value, rngs=nnx.Rngs(0)), impl=layer_impl)
    graphdef, state = nnx.split(layer)
    x = jax.random.normal(jax.random.PRNGKey(0), (_BATCH.value, length, _INPUTS.value))

    def loss(state, x):
        return jnp.sum(jnp.square(nnx.merge(graphdef, state)(x)[0]))

    grad = jax.jit(jax.grad(loss, argnums=(0, 1)))
    return lambda: jax.block_until_ready(grad(state, x))


def speedups(rows: list[dict]) -> str:
    """Markdown: per T, each min-cell's sequential time / its parallel time."""
    lines = ["| T | minGRU scan / parallel | minLSTM scan / parallel |", "|---|---|---|"]
    for group in dict.fromkeys(r["group"] for r in rows):
        times = {r["impl"]: r["median_ms"] for r in rows if r["group"] == group}
        cells = [f"{times[f'{c}_scan'] / times[f'{c}_parallel']:.2f}x"
                 if f"{c}_scan" in times and f"{c}_parallel" in times else "-"
                 for c in ("mingru", "minlstm")]
        lines.append(f"| {group} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv):
    del argv
    if _CHILD.value:
        keep_freed_memory()
        timed = {}
        for impl in _IMPLS.value:
            median, times = common.median_ms(_step(impl, int(_CHILD.value)), _WARMUP.value,
                                             _REPEATS.value)
            timed[impl] = {"median_ms": median, "min_ms": min(times), "times_ms": times}
        print(json.dumps(timed))
        return
    for name in _IMPLS.value:
        if name not in IMPLS:
            raise app.UsageError(f"--impls: {name!r} is not one of {list(IMPLS)}")
    lengths = [int(t) for t in _LENGTHS.value]
    if not lengths or min(lengths) < 1:
        raise app.UsageError(f"--lengths: positive ints expected, got {_LENGTHS.value}")
    load_before = os.getloadavg()[0]
    passed = [f"--{flag.name}={flag.value}" for flag in (_REPEATS, _WARMUP, _BATCH, _INPUTS,
                                                         _HIDDEN)] + [
        f"--impls={','.join(_IMPLS.value)}"]

    medians: dict[tuple[str, str], list[float]] = {}
    for _ in range(_ROUNDS.value):
        for length in lengths:
            timed = common.run_child("benchmarks.memory_cpu", str(length), passed) or {}
            for impl, result in timed.items():
                medians.setdefault((f"T={length}", impl), []).append(result["median_ms"])
                print(f"T={length} {impl}: {result['median_ms']:.4g} ms", file=sys.stderr)
    rows = [{"group": group, "impl": impl, "median_ms": statistics.median(values),
             "round_median_ms": values} for (group, impl), values in medians.items()]
    table = common.ratio_table(rows, IMPLS, "median_ms", reference="gru", digits=1)
    ratios = speedups(rows)
    sizes = f"batch {_BATCH.value}, {_INPUTS.value} inputs, {_HIDDEN.value} units, float32"
    text = (f"median ms per training step (forward + backward), {sizes}; ratio to the GRU's time"
            f"\n\n{table}\n\nsequential / parallel time of the same cell\n\n{ratios}\n")
    print(text)
    common.write_record(_OUT.value, {"rows": rows, "table": table, "speedups": ratios,
                                     "sizes": sizes}, load_before)
    record = json.loads(Path(_OUT.value).read_text())
    Path(_OUT.value).with_suffix(".md").write_text(
        f"# benchmarks.memory_cpu\n\n`{record['command']}`\n\nMachine: {record['machine']}; "
        f"1-minute load average before / after: {record['load_average_1min']} (a shared, "
        f"loaded 2-core machine: absolute times are inflated, ratios within a row less so)."
        f"\n\n{text}")


if __name__ == "__main__":
    app.run(main)
