r"""One LSTM layer, forward + backward (gradients for parameters and inputs), float32, on CPU.

    python -m benchmarks.lstm_cpu                       # both configs, all implementations
    python -m benchmarks.lstm_cpu --configs=B32_T128_I256_H256 --repeats=20

Implementations, each timed in its own fresh process (so torch's and XLA's thread pools never
share a process), median of ``--repeats`` after ``--warmup`` calls; ``--rounds`` repeats the whole
series (implementations interleaved) and reports the median over rounds, so slow drift on a
shared machine hits every implementation alike. The 1-minute load average is recorded: torch's
OpenMP threads slow down by orders of magnitude when another process holds a core, so only a
run with load near zero compares fairly.
  rnnjax_scan  rnnjax RNN(LSTMCell, impl="scan"): lax.scan + autodiff
  rnnjax_xla   rnnjax RNN(LSTMCell, impl="xla"): custom VJP, weight gradient hoisted
  flax_nnx     flax nnx.RNN(nnx.OptimizedLSTMCell)
  torch        torch.nn.LSTM (oneDNN), the reference (ratio 1.00)
Prints a markdown table of medians and ratios to torch and writes JSON with the machine described.

    python -m benchmarks.lstm_cpu --breakdown       # where rnnjax_xla's time goes, per config

``--breakdown`` times the pieces of rnnjax_xla's forward + backward separately (input projection,
recurrence forward with its residuals, recurrence backward incl. dW_h, the input-side gradients
dx, dW_x, db) and the matmul floor: the layer's six matmuls' FLOPs at the GFLOP/s that one large
float32 matmul reaches in the same process.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time

from absl import app, flags

CONFIGS = {  # batch, time, input, hidden
    "B32_T128_I256_H256": (32, 128, 256, 256),
    "B64_T64_I256_H1024": (64, 64, 256, 1024),
}
IMPLS = ("rnnjax_scan", "rnnjax_xla", "flax_nnx", "torch")

_CONFIGS = flags.DEFINE_list("configs", list(CONFIGS), "Configs to run.")
_IMPLS = flags.DEFINE_list("impls", list(IMPLS), "Implementations to run.")
_REPEATS = flags.DEFINE_integer("repeats", 10, "Timed calls per implementation (median).")
_WARMUP = flags.DEFINE_integer("warmup", 3, "Untimed calls after compilation.")
_ROUNDS = flags.DEFINE_integer("rounds", 3, "Interleaved repetitions of the whole series.")
_OUT = flags.DEFINE_string("out", "benchmarks/results/lstm_cpu.json", "Where to write JSON.")
_CHILD = flags.DEFINE_string("child", None, "Internal: run one 'impl:config' and print JSON.")
_BREAKDOWN = flags.DEFINE_bool("breakdown", False, "Time the pieces of rnnjax_xla instead.")


def _jax_step(impl: str, batch: int, time_: int, inputs: int, hidden: int):
    """A jitted function computing all gradients of sum(outputs^2) for the JAX variants."""
    import jax
    import jax.numpy as jnp
    from flax import nnx

    from rnnjax.cells import LSTMCell
    from rnnjax.layers import RNN

    x = jax.random.normal(jax.random.PRNGKey(0), (batch, time_, inputs))
    if impl == "flax_nnx":  # Flax's RNN updates RNG counters while running: use nnx transforms
        model = nnx.RNN(nnx.OptimizedLSTMCell(inputs, hidden, rngs=nnx.Rngs(0)))
        grad = nnx.jit(nnx.grad(lambda m, x: jnp.sum(jnp.square(m(x))), argnums=(0, 1)))
        return lambda: jax.block_until_ready(grad(model, x))

    model = RNN(LSTMCell(inputs, hidden, rngs=nnx.Rngs(0)), impl=impl.removeprefix("rnnjax_"))
    graphdef, state = nnx.split(model)

    def loss(state, x):
        return jnp.sum(jnp.square(nnx.merge(graphdef, state)(x)[0]))

    grad = jax.jit(jax.grad(loss, argnums=(0, 1)))
    return lambda: jax.block_until_ready(grad(state, x))


def _torch_step(batch: int, time_: int, inputs: int, hidden: int):
    import torch

    torch.manual_seed(0)
    lstm = torch.nn.LSTM(inputs, hidden, batch_first=True)
    x = torch.randn(batch, time_, inputs, requires_grad=True)

    def step():
        lstm.zero_grad(set_to_none=True)
        x.grad = None
        out, _ = lstm(x)
        out.square().sum().backward()

    return step


def _median_ms(step) -> tuple[float, list[float]]:
    """Median wall time of ``step`` after compilation and ``--warmup`` calls."""
    step()  # compile / first call
    for _ in range(_WARMUP.value):
        step()
    times = []
    for _ in range(_REPEATS.value):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times), times


def _time_child(spec: str) -> dict:
    impl, config = spec.split(":")
    sizes = CONFIGS[config]
    median, times = _median_ms(_torch_step(*sizes) if impl == "torch" else _jax_step(impl, *sizes))
    return {"impl": impl, "config": config, "median_ms": median, "min_ms": min(times),
            "times_ms": times}


def breakdown(batch: int, time_: int, inputs: int, hidden: int) -> dict[str, float]:
    """Median ms of each piece of rnnjax_xla's forward + backward, and the matmul floor."""
    import jax
    import jax.numpy as jnp

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
        return lstm_recurrence_xla(gates_x, w_h, zeros, zeros)[0]

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
    result = {name: _median_ms(lambda f=f: jax.block_until_ready(f()))[0]
              for name, f in pieces.items()}
    flops = 2 * rows * 4 * hidden * (3 * inputs + 3 * hidden)  # the layer's six matmuls
    gflops = 2 * rows * max(inputs, hidden) * 4 * hidden / result["one large matmul"] / 1e6
    result["matmul floor (six matmuls at the large-matmul rate)"] = flops / gflops / 1e6
    result["large-matmul GFLOP/s"] = gflops
    return result


def machine() -> dict:
    import jax
    import jaxlib

    info = {"platform": platform.platform(), "processor": platform.processor(),
            "cpu_count": os.cpu_count(), "python": platform.python_version(),
            "jax": jax.__version__, "jaxlib": jaxlib.__version__}
    try:
        import torch

        info["torch"] = torch.__version__
    except ImportError:
        pass
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu_model"] = next(line.split(":", 1)[1].strip() for line in f
                                     if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return info


def main(argv):
    del argv
    if _CHILD.value:
        print(json.dumps(_time_child(_CHILD.value)))
        return
    if _BREAKDOWN.value:
        report = {config: breakdown(*CONFIGS[config]) for config in _CONFIGS.value}
        lines = ["| piece | " + " | ".join(report) + " |", "|---" * (len(report) + 1) + "|"]
        for piece in next(iter(report.values())):
            lines.append(f"| {piece} | " + " | ".join(f"{r[piece]:.0f}" for r in report.values())
                         + " |")
        print("\n".join(lines))
        return
    for name in _CONFIGS.value:
        if name not in CONFIGS:
            raise app.UsageError(f"--configs: {name!r} is not one of {list(CONFIGS)}")
    for impl in _IMPLS.value:
        if impl not in IMPLS:
            raise app.UsageError(f"--impls: {impl!r} is not one of {list(IMPLS)}")
    load_before = os.getloadavg()[0]
    runs: dict[tuple[str, str], list[dict]] = {}
    for _ in range(_ROUNDS.value):
        for config in _CONFIGS.value:
            for impl in _IMPLS.value:
                run = _run_child(impl, config)
                if run:
                    runs.setdefault((config, impl), []).append(run)
    rows = [{"impl": impl, "config": config,
             "median_ms": statistics.median(r["median_ms"] for r in per_round),
             "round_medians_ms": [r["median_ms"] for r in per_round]}
            for (config, impl), per_round in runs.items()]
    table = format_table(rows)
    print(table)
    os.makedirs(os.path.dirname(_OUT.value) or ".", exist_ok=True)
    with open(_OUT.value, "w") as f:
        json.dump({"machine": machine(), "command": " ".join(sys.argv), "rows": rows,
                   "load_average_1min": [load_before, os.getloadavg()[0]], "table": table},
                  f, indent=1)


def _run_child(impl: str, config: str) -> dict | None:
    """Time one implementation on one config in a fresh process."""
    cmd = [sys.executable, "-m", "benchmarks.lstm_cpu", f"--child={impl}:{config}",
           f"--repeats={_REPEATS.value}", f"--warmup={_WARMUP.value}"]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode:
        print(f"{impl} {config} failed:\n{result.stderr[-2000:]}", file=sys.stderr)
        return None
    run = json.loads(result.stdout.strip().splitlines()[-1])
    print(f"{config} {impl}: {run['median_ms']:.1f} ms", file=sys.stderr)
    return run


def format_table(rows: list[dict]) -> str:
    """Markdown: one row per config, median ms and ratio to torch per implementation."""
    impls = [i for i in IMPLS if any(r["impl"] == i for r in rows)]
    lines = ["| config | " + " | ".join(impls) + " |", "|---" * (len(impls) + 1) + "|"]
    for config in dict.fromkeys(r["config"] for r in rows):
        by_impl = {r["impl"]: r["median_ms"] for r in rows if r["config"] == config}
        ref = by_impl.get("torch")
        cells = [f"{by_impl[i]:.0f} ({by_impl[i] / ref:.2f}x)" if ref and i in by_impl
                 else (f"{by_impl[i]:.0f}" if i in by_impl else "-") for i in impls]
        lines.append(f"| {config} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    app.run(main)
