r"""Recurrent layers on CPU, forward + backward (gradients for parameters and inputs), float32.

    python -m benchmarks.layers_cpu                     # every layer, config and implementation
    python -m benchmarks.layers_cpu --layers=lstm --configs=B32_T128_I256_H256 --repeats=20

Layers: ``lstm`` and ``gru`` (one layer), ``bilstm`` (bidirectional LSTM, one layer), ``lstm_x2``
(a stack of two LSTM layers). Implementations, each timed in its own fresh process, median of
``--repeats`` after ``--warmup`` calls, over ``--rounds`` interleaved repetitions
(``benchmarks.common``):
  rnnjax       rnnjax layers with their defaults (impl="auto": an LSTM on one CPU device runs the
               fused C++ kernel, layer by layer, both directions in one call; other cells the
               hand-written backward of rnnjax.recurrence, the stack as a wavefront)
  rnnjax_rows  the defaults with RNNJAX_CPU_SPLIT=rows: the fused kernel splits each step's work
               over the cores by batch rows instead of its own choice (gate columns when wide)
  rnnjax_layered  the default implementation with the wavefront off: the layers one after
               the other (``lstm_x2`` only, where it differs from ``rnnjax``)
  rnnjax_scan  the same layers with impl="scan" (lax.scan + autodiff), layer by layer
  rnnjax_cpu_fused  the same layers with impl="cpu_fused" (the fused C++ kernel of
               rnnjax.cpu_kernels), layer by layer; LSTM layers only
  rnnjax_per_core  the defaults with per-core data parallelism: one XLA CPU device per core
               (``rnnjax.train.sharding.use_cores_as_devices``), the batch split over them, the
               mesh set with ``jax.set_mesh``, so each device runs the fused kernel
               single-threaded on its rows (``rnnjax.layers.rows_per_device``); LSTM layers only
  rnnjax_xla   the same layers with impl="xla" (the hand-written backward of rnnjax.recurrence;
               both directions in one scan; the stack as a wavefront up to H = 256)
  flax_nnx     flax nnx.RNN(nnx.OptimizedLSTMCell) (the ``lstm`` layer only)
  torch        torch.nn.LSTM / GRU (oneDNN), the reference (ratio 1.00)
Prints markdown tables of medians (wall time, and CPU time of all the process's threads) and ratios
to torch and writes JSON with the machine described.

    python -m benchmarks.layers_cpu --breakdown       # where rnnjax's LSTM time goes, per config

``--breakdown`` times the pieces of one LSTM layer's forward + backward separately (input
projection, recurrence forward with its residuals, recurrence backward incl. dW_h, the input-side
gradients dx, dW_x, db; the recurrence by ``--breakdown_impl``, the fused kernel by default) and
the matmul floor: the layer's six matmuls' FLOPs at the GFLOP/s that one large float32 matmul
reaches in the same process; beside them torch's whole layer, timed in its own process.
"""

from __future__ import annotations

import json
import os
import statistics

from absl import app, flags

from benchmarks import common
from rnnjax.memory import keep_freed_memory

CONFIGS = {  # batch, time, input, hidden
    "B32_T128_I256_H256": (32, 128, 256, 256),
    "B64_T64_I256_H1024": (64, 64, 256, 1024),
    "B20_T20_I200_H200": (20, 20, 200, 200),  # Zaremba et al.'s small PTB model
    "B20_T35_I650_H650": (20, 35, 650, 650),  # Zaremba et al.'s medium PTB model
}
LAYERS = {  # name -> (cell, layers, bidirectional)
    "lstm": ("lstm", 1, False),
    "gru": ("gru", 1, False),
    "bilstm": ("lstm", 1, True),
    "lstm_x2": ("lstm", 2, False),
}
IMPLS = ("rnnjax", "rnnjax_rows", "rnnjax_per_core", "rnnjax_layered", "rnnjax_scan",
         "rnnjax_cpu_fused", "rnnjax_xla", "flax_nnx", "torch")

_LAYERS = flags.DEFINE_list("layers", list(LAYERS), "Layers to run.")
_CONFIGS = flags.DEFINE_list("configs", list(CONFIGS), "Configs to run.")
_IMPLS = flags.DEFINE_list("impls", list(IMPLS), "Implementations to run.")
_REPEATS = flags.DEFINE_integer("repeats", 10, "Timed calls per implementation (median).")
_WARMUP = flags.DEFINE_integer("warmup", 3, "Untimed calls after compilation.")
_ROUNDS = flags.DEFINE_integer("rounds", 3, "Interleaved repetitions of the whole series.")
_OUT = flags.DEFINE_string("out", "benchmarks/results/layers_cpu.json", "Where to write JSON.")
_CHILD = flags.DEFINE_string("child", None, "Internal: run one 'impl:layer:config'.")
_BREAKDOWN = flags.DEFINE_bool("breakdown", False, "Time the pieces of rnnjax's LSTM instead.")
_BREAKDOWN_IMPL = flags.DEFINE_enum("breakdown_impl", "cpu_fused", ["cpu_fused", "xla"],
                                    "--breakdown: the recurrence timed (cpu_fused: the default's).")
_CORES = flags.DEFINE_string("cores", None, "Pin every run to these CPUs (taskset -c), e.g. 1.")


def _jax_step(impl: str, layer: str, batch: int, time_: int, inputs: int, hidden: int):
    """A function computing all gradients of sum(outputs^2) for the JAX variants."""
    import jax
    import jax.numpy as jnp
    from flax import nnx

    from rnnjax.layers import StackedRNN
    from rnnjax.train import sharding

    x = jax.random.normal(jax.random.PRNGKey(0), (batch, time_, inputs))
    if impl == "flax_nnx":  # Flax's RNN updates RNG counters while running: use nnx transforms
        model = nnx.RNN(nnx.OptimizedLSTMCell(inputs, hidden, rngs=nnx.Rngs(0)))
        grad = nnx.jit(nnx.grad(lambda m, x: jnp.sum(jnp.square(m(x))), argnums=(0, 1)))
        return lambda: jax.block_until_ready(grad(model, x))

    cell, num_layers, bidirectional = LAYERS[layer]
    layer_impl = {"rnnjax_scan": "scan", "rnnjax_cpu_fused": "cpu_fused",
                  "rnnjax_xla": "xla"}.get(impl, "auto")
    model = StackedRNN(cell, inputs, hidden, num_layers, rngs=nnx.Rngs(0),
                       bidirectional=bidirectional, impl=layer_impl,
                       wavefront=None if impl in ("rnnjax", "rnnjax_xla") else False)
    graphdef, state = nnx.split(model)
    mesh = sharding.make_mesh()
    if impl == "rnnjax_per_core":
        sharding.check_divisible("layers_cpu", "batch", batch, mesh)
    elif mesh.size > 1:
        raise RuntimeError(f"layers_cpu: {impl} times one device, got {jax.devices()}")
    state, x = sharding.replicate(state, mesh), sharding.shard_batch(x, mesh)

    def loss(state, x):
        return jnp.sum(jnp.square(nnx.merge(graphdef, state)(x)[0]))

    grad = jax.jit(jax.grad(loss, argnums=(0, 1)))

    def step():
        with jax.set_mesh(mesh):
            return jax.block_until_ready(grad(state, x))

    return step


def _torch_step(layer: str, batch: int, time_: int, inputs: int, hidden: int):
    import torch

    torch.manual_seed(0)
    torch.set_num_threads(common.torch_threads())
    cell, num_layers, bidirectional = LAYERS[layer]
    module = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](
        inputs, hidden, num_layers, batch_first=True, bidirectional=bidirectional)
    x = torch.randn(batch, time_, inputs, requires_grad=True)

    def step():
        module.zero_grad(set_to_none=True)
        x.grad = None
        out, _ = module(x)
        out.square().sum().backward()

    return step


def _time_child(spec: str) -> dict:
    impl, layer, config = spec.split(":")
    if impl == "rnnjax_per_core":  # before JAX computes anything
        from rnnjax.train import sharding

        sharding.use_cores_as_devices()
    if impl == "rnnjax_rows":  # read by the kernel at each call
        os.environ["RNNJAX_CPU_SPLIT"], impl = "rows", "rnnjax"
    sizes = CONFIGS[config]
    step = _torch_step(layer, *sizes) if impl == "torch" else _jax_step(impl, layer, *sizes)
    times, cpu_times = common.timed_calls(step, _WARMUP.value, _REPEATS.value)
    return {"median_ms": statistics.median(times), "min_ms": min(times), "times_ms": times,
            "cpu_ms": statistics.median(cpu_times)}


def breakdown(batch: int, time_: int, inputs: int, hidden: int) -> dict[str, float]:
    """Median ms of each piece of one LSTM layer's forward + backward (the recurrence by
    ``--breakdown_impl``), the matmul floor, and torch's whole layer in its own process."""
    import jax
    import jax.numpy as jnp

    from rnnjax.cpu_kernels import lstm_recurrence_cpu
    from rnnjax.lstm_xla import lstm_recurrence_xla
    from rnnjax.ops import over_rows

    keys = jax.random.split(jax.random.PRNGKey(0), 3)
    x = jax.random.normal(keys[0], (batch, time_, inputs))
    w_x = jax.random.normal(keys[1], (inputs, 4 * hidden)) * inputs**-0.5
    w_h = jax.random.normal(keys[2], (1, hidden, 4 * hidden)) * hidden**-0.5
    b = jnp.zeros(4 * hidden)
    zeros = jnp.zeros((batch, hidden))

    def project(x, w_x, b):
        return over_rows(lambda rows: rows @ w_x, x) + b

    def recurrence(gates_x, w_h):
        run = lstm_recurrence_cpu if _BREAKDOWN_IMPL.value == "cpu_fused" else lstm_recurrence_xla
        return run(gates_x, w_h, zeros, zeros)[0]

    gates_x = jax.jit(project)(x, w_x, b)
    rec_fwd = jax.jit(lambda g, w: jax.vjp(recurrence, g, w))
    hs, rec_vjp = rec_fwd(gates_x, w_h)
    rec_bwd = jax.jit(lambda vjp, ct: vjp(ct))
    d_gates = rec_bwd(rec_vjp, hs)[0]
    proj_vjp = jax.jit(lambda x, w, b, ct: jax.vjp(project, x, w, b)[1](ct))
    total = jax.jit(jax.grad(lambda x, w_x, b, w_h: jnp.sum(jnp.square(
        recurrence(project(x, w_x, b), w_h))), argnums=(0, 1, 2, 3)))
    rows = batch * time_
    big = jax.random.normal(keys[0], (rows, max(inputs, hidden)))
    big_w = jax.random.normal(keys[1], (max(inputs, hidden), 4 * hidden))
    matmul = jax.jit(lambda a, w: a @ w)
    pieces = {
        "input projection x W_x + b": lambda: project(x, w_x, b),
        "recurrence forward (+ residuals)": lambda: rec_fwd(gates_x, w_h),
        "recurrence backward (+ dW_h)": lambda: rec_bwd(rec_vjp, hs),
        "input-side gradients dx, dW_x, db": lambda: proj_vjp(x, w_x, b, d_gates),
        "total forward + backward": lambda: total(x, w_x, b, w_h),
        "one large matmul": lambda: matmul(big, big_w),
    }
    result = {name: common.median_ms(lambda f=f: jax.block_until_ready(f()), _WARMUP.value,
                                     _REPEATS.value)[0]
              for name, f in pieces.items()}
    flops = 2 * rows * 4 * hidden * (3 * inputs + 3 * hidden)  # the layer's six matmuls
    gflops = 2 * rows * max(inputs, hidden) * 4 * hidden / result["one large matmul"] / 1e6
    result["matmul floor (six matmuls at the large-matmul rate)"] = flops / gflops / 1e6
    result["large-matmul GFLOP/s"] = gflops
    config = next(name for name, sizes in CONFIGS.items() if sizes == (batch, time_, inputs,
                                                                       hidden))
    result["torch nn.LSTM forward + backward"] = common.run_child(
        "benchmarks.layers_cpu", f"torch:lstm:{config}",
        [f"--repeats={_REPEATS.value}", f"--warmup={_WARMUP.value}"], _CORES.value)["median_ms"]
    return result


def _applies(impl: str, layer: str) -> bool:
    """flax_nnx has the single LSTM layer only; rnnjax_layered differs from rnnjax in stacks;
    rnnjax_cpu_fused, rnnjax_rows and rnnjax_per_core run LSTM cells only."""
    if impl == "flax_nnx":
        return layer == "lstm"
    if impl in ("rnnjax_cpu_fused", "rnnjax_rows", "rnnjax_per_core"):
        return LAYERS[layer][0] == "lstm"
    return impl != "rnnjax_layered" or LAYERS[layer][1] > 1


def main(argv):
    del argv
    if _CHILD.value:
        print(json.dumps(_time_child(_CHILD.value)))
        return
    if _BREAKDOWN.value:
        report = {config: breakdown(*CONFIGS[config]) for config in _CONFIGS.value}
        lines = ["| piece | " + " | ".join(report) + " |", "|---" * (len(report) + 1) + "|"]
        for piece in next(iter(report.values())):
            lines.append(f"| {piece} | " + " | ".join(f"{r[piece]:,.1f}" for r in report.values())
                         + " |")
        print("\n".join(lines))
        return
    for flag, values, known in (("--layers", _LAYERS.value, LAYERS),
                                ("--configs", _CONFIGS.value, CONFIGS),
                                ("--impls", _IMPLS.value, IMPLS)):
        for name in values:
            if name not in known:
                raise app.UsageError(f"{flag}: {name!r} is not one of {list(known)}")
    load_before = os.getloadavg()[0]
    specs = [(f"{layer} {config}", impl) for config in _CONFIGS.value for layer in _LAYERS.value
             for impl in _IMPLS.value if _applies(impl, layer)]
    passed = [f"--repeats={_REPEATS.value}", f"--warmup={_WARMUP.value}"]

    def run(group: str, impl: str) -> dict | None:
        layer, config = group.split()
        return common.run_child("benchmarks.layers_cpu", f"{impl}:{layer}:{config}", passed,
                                _CORES.value)

    rows = common.interleaved(specs, _ROUNDS.value, run, "median_ms", also=["cpu_ms"])
    table = common.ratio_table(rows, IMPLS, "median_ms")
    cpu_table = common.ratio_table(rows, IMPLS, "cpu_ms")
    print(f"median ms, forward + backward (ratio to torch's time)\n\n{table}\n\n"
          f"median CPU ms of all threads (ratio to torch's)\n\n{cpu_table}")
    common.write_record(_OUT.value, {"rows": rows, "table": table, "cpu_table": cpu_table},
                        load_before)


if __name__ == "__main__":
    keep_freed_memory()
    app.run(main)
