"""Benchmark of one LSTM layer's recurrence: forward and forward+backward, median milliseconds.

    python -m benchmarks.lstm_kernels   # on a GPU: all GPU configs; elsewhere: --config=smoke
    python -m benchmarks.lstm_kernels --config=dense768,heads24x32 --impls=scan,triton --repeats=50
    python -m benchmarks.lstm_kernels --config=smoke --interpret  # + Triton interpreter rows (CPU)

Every implementation starts from gates_x = x W_x + b (the input projection hoisted out of the
loop), except the cuDNN rows, whose library call includes the input projection x W_x (input size
= H): they do one extra large matmul. Timings are medians over --repeats calls after --warmup
calls, each call waited for (``block_until_ready`` / ``torch.cuda.synchronize``). Writes
<out_dir>/<name>.json (machine, versions, settings, rows) and <name>.md (table with each row's
speed-up over lax.scan and its time relative to torch cuDNN fp16 where present).
"""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import jax
import jax.numpy as jnp
from absl import app, flags

from rnnjax import lstm_xla
from rnnjax.memory import keep_freed_memory
from rnnjax_kernels import jax_binding


@dataclass(frozen=True)
class Config:
    batch: int
    time: int
    num_heads: int
    head: int
    dtype: str

    @property
    def hidden(self) -> int:
        return self.num_heads * self.head

    def label(self) -> str:
        shape = f"H{self.hidden}" if self.num_heads == 1 else f"{self.num_heads}x{self.head}"
        return f"B{self.batch} T{self.time} {shape} {self.dtype}"


CONFIGS = {
    "smoke": Config(4, 8, 2, 16, "float32"),
    "dense768": Config(16, 1024, 1, 768, "bfloat16"),
    "heads24x32": Config(16, 1024, 24, 32, "bfloat16"),
    "heads12x64": Config(16, 1024, 12, 64, "bfloat16"),
    "b64_dense1024": Config(64, 256, 1, 1024, "bfloat16"),
    "b256_dense512": Config(256, 128, 1, 512, "bfloat16"),
    "b64_heads16x64": Config(64, 256, 16, 64, "bfloat16"),
    "b256_heads8x64": Config(256, 128, 8, 64, "bfloat16"),
}
GPU_CONFIGS = [name for name in CONFIGS if name != "smoke"]
IMPLS = ["scan", "xla", "triton_cell", "triton", "cudnn_jax", "torch_cudnn_fp16",
         "torch_cudnn_bf16", "triton_interpret", "triton_cell_interpret"]
_INTERPRET_IMPLS = ("triton_interpret", "triton_cell_interpret")

FLAGS = flags.FLAGS
flags.DEFINE_list("config", None, f"configs among {list(CONFIGS)}, or 'gpu' for {GPU_CONFIGS}; "
                  "default: 'gpu' on a GPU, 'smoke' elsewhere")
flags.DEFINE_list("impls", IMPLS, "implementations to time")
flags.DEFINE_string("dtype", None, "override every config's dtype (float32 or bfloat16)")
flags.DEFINE_integer("warmup", 3, "untimed calls before timing (the first one compiles)")
flags.DEFINE_integer("repeats", 20, "timed calls; the median is reported")
flags.DEFINE_bool("interpret", False, "time the Triton interpreter rows (tiny configs only)")
flags.DEFINE_string("out_dir", os.path.join(os.path.dirname(__file__), "results"),
                    "where <name>.json and <name>.md go")
flags.DEFINE_string("name", None, "output file stem; default lstm_kernels_<jax platform>")


class Unavailable(Exception):
    """The implementation cannot run this config here; the message says why."""


@dataclass
class Row:
    config: str
    label: str
    impl: str
    fwd_ms: float | None
    fwd_bwd_ms: float | None
    status: str


def _median_ms(fn: Callable[[], object], sync: Callable[[object], object], warmup: int,
               repeats: int) -> float:
    for _ in range(warmup):
        sync(fn())
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        sync(fn())
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def _jax_recurrence(impl: str, cfg: Config) -> Callable:
    if impl in ("scan", "xla"):
        return getattr(lstm_xla, f"lstm_recurrence_{impl}")
    interpret = jax_binding.IMPLS[impl][1]
    if impl in _INTERPRET_IMPLS and not FLAGS.interpret:
        raise Unavailable("skipped (pass --interpret)")
    if not interpret and not jax_binding.gpu_available():
        raise Unavailable("unavailable: no CUDA GPU with jax-triton")
    if jax_binding.IMPLS[impl][0] == "sequence" and cfg.head > jax_binding.MAX_HEAD_SIZE:
        raise Unavailable(f"unsupported: head size {cfg.head} > {jax_binding.MAX_HEAD_SIZE} "
                          "does not fit on chip (the cell kernel runs it)")

    def fn(gates_x, w_h, h0, c0):
        return jax_binding.lstm_recurrence(gates_x, w_h, h0, c0, impl=impl)

    return fn


def _time_jax(impl: str, cfg: Config, warmup: int, repeats: int) -> tuple[float, float]:
    recurrence = _jax_recurrence(impl, cfg)
    keys = jax.random.split(jax.random.PRNGKey(0), 5)
    dtype = jnp.dtype(cfg.dtype)
    hidden = cfg.hidden
    args = (
        jax.random.normal(keys[0], (cfg.batch, cfg.time, 4 * hidden)).astype(dtype),
        (jax.random.normal(keys[1], (cfg.num_heads, cfg.head, 4 * cfg.head))
         / cfg.head ** 0.5).astype(dtype),
        jnp.zeros((cfg.batch, hidden), jnp.float32),
        jnp.zeros((cfg.batch, hidden), jnp.float32),
    )
    weight = jax.random.normal(keys[4], (cfg.batch, cfg.time, hidden), jnp.float32)

    def loss(*a):
        hs, h, c = recurrence(*a)
        return jnp.sum(hs.astype(jnp.float32) * weight) + jnp.sum(h) + jnp.sum(c)

    fwd = jax.jit(recurrence)
    fwd_bwd = jax.jit(jax.value_and_grad(loss, argnums=(0, 1, 2, 3)))
    sync = jax.block_until_ready
    return (_median_ms(lambda: fwd(*args), sync, warmup, repeats),
            _median_ms(lambda: fwd_bwd(*args), sync, warmup, repeats))


def _time_cudnn_jax(cfg: Config, warmup: int, repeats: int) -> tuple[float, float]:
    """jax.experimental.rnn.lstm (cuDNN): dense only, input size H, includes x W_x."""
    if jax.default_backend() != "gpu":
        raise Unavailable("unavailable: needs a GPU (cuDNN)")
    if cfg.num_heads != 1:
        raise Unavailable("unsupported: cuDNN has no block-diagonal (head-wise) recurrence")
    from jax.experimental import rnn

    keys = jax.random.split(jax.random.PRNGKey(0), 3)
    dtype = jnp.dtype(cfg.dtype)
    hidden = cfg.hidden
    x = jax.random.normal(keys[0], (cfg.batch, cfg.time, hidden)).astype(dtype)
    weights = rnn.init_lstm_weight(keys[1], hidden, hidden, 1, False).astype(dtype)
    h0 = jnp.zeros((1, cfg.batch, hidden), dtype)
    lengths = jnp.full((cfg.batch,), cfg.time, jnp.int32)
    target = jax.random.normal(keys[2], (cfg.batch, cfg.time, hidden), jnp.float32)

    def fwd(x, weights):
        return rnn.lstm(x, h0, h0, weights, lengths, hidden, hidden, 1, 0.0, False)[0]

    def loss(x, weights):
        return jnp.sum(fwd(x, weights).astype(jnp.float32) * target)

    fwd_j = jax.jit(fwd)
    fwd_bwd = jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))
    sync = jax.block_until_ready
    return (_median_ms(lambda: fwd_j(x, weights), sync, warmup, repeats),
            _median_ms(lambda: fwd_bwd(x, weights), sync, warmup, repeats))


def _time_torch(cfg: Config, dtype_name: str, warmup: int, repeats: int) -> tuple[float, float]:
    """torch.nn.LSTM on CUDA (cuDNN) in fp16/bf16: dense only, input size H, includes x W_x."""
    try:
        import torch
    except ImportError as err:
        raise Unavailable("unavailable: torch not installed") from err
    if not torch.cuda.is_available():
        raise Unavailable("unavailable: torch sees no CUDA device")
    if cfg.num_heads != 1:
        raise Unavailable("unsupported: cuDNN has no block-diagonal (head-wise) recurrence")
    dtype = getattr(torch, dtype_name)
    lstm = torch.nn.LSTM(cfg.hidden, cfg.hidden, batch_first=True).to("cuda", dtype)
    x = torch.randn(cfg.batch, cfg.time, cfg.hidden, device="cuda", dtype=dtype,
                    requires_grad=True)
    target = torch.randn(cfg.batch, cfg.time, cfg.hidden, device="cuda", dtype=dtype)

    def fwd():
        with torch.no_grad():
            return lstm(x)[0]

    def fwd_bwd():
        out = lstm(x)[0]
        (out * target).float().sum().backward()
        return out

    def sync(_):
        torch.cuda.synchronize()

    return (_median_ms(fwd, sync, warmup, repeats), _median_ms(fwd_bwd, sync, warmup, repeats))


def time_impl(impl: str, cfg: Config, warmup: int, repeats: int) -> tuple[float, float]:
    """(forward ms, forward+backward ms) of one implementation; raises Unavailable."""
    if impl == "cudnn_jax":
        return _time_cudnn_jax(cfg, warmup, repeats)
    if impl.startswith("torch_cudnn_"):
        name = {"fp16": "float16", "bf16": "bfloat16"}[impl.removeprefix("torch_cudnn_")]
        return _time_torch(cfg, name, warmup, repeats)
    return _time_jax(impl, cfg, warmup, repeats)


def run(config_names: list[str], impls: list[str], warmup: int, repeats: int,
        dtype: str | None = None) -> list[Row]:
    rows = []
    for name in config_names:
        cfg = CONFIGS[name]
        if dtype is not None:
            cfg = Config(cfg.batch, cfg.time, cfg.num_heads, cfg.head, dtype)
        for impl in impls:
            try:
                fwd, fwd_bwd = time_impl(impl, cfg, warmup, repeats)
                row = Row(name, cfg.label(), impl, fwd, fwd_bwd, "ok")
            except Unavailable as why:
                row = Row(name, cfg.label(), impl, None, None, str(why))
            except Exception as err:  # a failing row must not hide the others
                row = Row(name, cfg.label(), impl, None, None,
                          f"error: {type(err).__name__}: {str(err).splitlines()[0][:200]}")
            print(f"{row.label:28s} {impl:22s} fwd {_ms(row.fwd_ms):>9s}  "
                  f"fwd+bwd {_ms(row.fwd_bwd_ms):>9s}  {row.status}", flush=True)
            rows.append(row)
    return rows


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def describe_machine() -> dict:
    """Device, host and library versions, for the JSON record."""
    device = jax.devices()[0]
    info = {
        "date_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "jax_platform": jax.default_backend(),
        "device": getattr(device, "device_kind", str(device)),
        "device_count": jax.device_count(),
        "host_cpu": platform.processor() or platform.machine(),
        "host_cores": os.cpu_count(),
        "python": sys.version.split()[0],
        **{name: _version(name) for name in ("jax", "jaxlib", "triton", "jax-triton", "torch")},
        "gpu_available_for_triton": jax_binding.gpu_available(),
    }
    try:
        import torch

        if torch.cuda.is_available():
            info["torch_cuda_device"] = torch.cuda.get_device_name(0)
            info["cudnn"] = torch.backends.cudnn.version()
    except ImportError:
        pass
    return info


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _ratio(numerator: float | None, denominator: float | None) -> str:
    if numerator is None or denominator is None:
        return "-"
    return f"{numerator / denominator:.3g}x"


def markdown(rows: list[Row], machine: dict) -> str:
    """Table: ms, speed-up over lax.scan (scan ms / impl ms), time relative to torch cuDNN fp16."""
    lines = [
        f"Device: {machine['device']} ({machine['jax_platform']}); "
        + ", ".join(f"{k} {machine[k] or 'not installed'}"
                    for k in ("jax", "triton", "jax-triton", "torch"))
        + f"; {machine['date_utc']}",
        "",
        "| config | impl | fwd ms | fwd+bwd ms | speed-up vs scan fwd | fwd+bwd "
        "| time / cuDNN fp16 fwd | fwd+bwd | status |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    by_key = {(r.config, r.impl): r for r in rows}
    for r in rows:
        scan = by_key.get((r.config, "scan"))
        cudnn = by_key.get((r.config, "torch_cudnn_fp16"))
        lines.append(
            f"| {r.label} | {r.impl} | {_ms(r.fwd_ms)} | {_ms(r.fwd_bwd_ms)} "
            f"| {_ratio(scan and scan.fwd_ms, r.fwd_ms)} "
            f"| {_ratio(scan and scan.fwd_bwd_ms, r.fwd_bwd_ms)} "
            f"| {_ratio(r.fwd_ms, cudnn and cudnn.fwd_ms)} "
            f"| {_ratio(r.fwd_bwd_ms, cudnn and cudnn.fwd_bwd_ms)} | {r.status} |")
    lines += ["", "cuDNN rows (cudnn_jax, torch_cudnn_*) include the input projection x W_x."]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> None:
    del argv
    names = FLAGS.config or (["gpu"] if jax.default_backend() == "gpu" else ["smoke"])
    names = [n for name in names for n in (GPU_CONFIGS if name == "gpu" else [name])]
    for kind, given, known in (("config", names, list(CONFIGS)), ("impl", FLAGS.impls, IMPLS)):
        if unknown := [n for n in given if n not in known]:
            raise app.UsageError(f"unknown {kind} {unknown}; known: {known}")
    machine = describe_machine()
    print(json.dumps(machine))
    rows = run(names, FLAGS.impls, FLAGS.warmup, FLAGS.repeats, FLAGS.dtype)
    stem = FLAGS.name or f"lstm_kernels_{machine['jax_platform']}"
    os.makedirs(FLAGS.out_dir, exist_ok=True)
    record = {
        "machine": machine,
        "settings": {"warmup": FLAGS.warmup, "repeats": FLAGS.repeats, "statistic": "median",
                     "configs": {n: asdict(CONFIGS[n]) for n in names}, "dtype": FLAGS.dtype},
        "rows": [asdict(r) for r in rows],
    }
    with open(os.path.join(FLAGS.out_dir, f"{stem}.json"), "w") as f:
        json.dump(record, f, indent=1)
    with open(os.path.join(FLAGS.out_dir, f"{stem}.md"), "w") as f:
        f.write(markdown(rows, machine))
    print(markdown(rows, machine))


if __name__ == "__main__":
    keep_freed_memory()
    app.run(main)
