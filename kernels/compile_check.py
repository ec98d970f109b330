"""Compile every kernel launch of the GPU path for a CUDA target without a GPU.

    python -m rnnjax_kernels.compile_check [--arch=90]

Runs the binding's GPU forward and backward for a few shapes with the launch recorded instead of
executed, builds each launch's Triton signature the way jax-triton does (``*bf16``/``*fp32``/
``*i32`` pointers in argument order: inputs then outputs, sizes as constexprs), compiles it with
Triton's own compiler down to a cubin (Triton ships ptxas), and reads the register, shared-memory
and local-memory (spill) use from the cubin with cuobjdump. This checks that the launches the
binding makes match the kernels' signatures and that the kernels compile; it does not run them.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from unittest import mock

import jax
import jax.numpy as jnp

from . import jax_binding

_TRITON_TYPES = {jnp.dtype(jnp.bfloat16): "*bf16", jnp.dtype(jnp.float32): "*fp32",
                 jnp.dtype(jnp.int32): "*i32"}

# (batch, time, num_heads, head size, dtype) per kernel family
SHAPES = {
    "sequence": [(16, 1024, 24, 32, jnp.bfloat16), (16, 1024, 12, 64, jnp.bfloat16),
                 (5, 7, 1, 20, jnp.float32)],
    "cell": [(16, 1024, 1, 768, jnp.bfloat16), (256, 128, 1, 512, jnp.bfloat16),
             (5, 7, 2, 20, jnp.float32)],
}


@dataclass
class Launch:
    module: str
    kernel: str
    signature: dict[str, str]
    constexprs: dict[str, object]
    grid: tuple[int, ...]
    num_warps: int


@dataclass
class Compiled:
    launch: Launch
    shape: tuple
    registers: int | None
    shared_bytes: int
    local_bytes: int | None


def record_launches(family: str, batch: int, time: int, num_heads: int, head: int,
                    dtype) -> list[Launch]:
    """The launches the GPU binding makes for one forward and backward (traced, not run)."""
    launches: list[Launch] = []
    kernel_kind = {"sequence": "triton", "cell": "triton_cell"}[family]

    def record(module, kernel, interpret, grid, inputs, outputs, num_warps, **meta):
        assert not interpret
        fn = getattr(jax_binding._kernel_module(module, False), kernel)
        types = [_TRITON_TYPES[jnp.dtype(a.dtype)] for a in (*inputs, *outputs)]
        names = [n for n in fn.arg_names if n not in meta]
        if len(names) != len(types):
            raise TypeError(f"{kernel}: {len(types)} arrays passed, signature has {names}")
        launches.append(Launch(module, kernel, dict(zip(names, types, strict=True)), dict(meta),
                               tuple(grid), num_warps))
        return [jnp.zeros(o.shape, o.dtype) for o in outputs]

    hidden = num_heads * head
    args = (jax.ShapeDtypeStruct((batch, time, 4 * hidden), dtype),
            jax.ShapeDtypeStruct((num_heads, head, 4 * head), dtype),
            jax.ShapeDtypeStruct((batch, hidden), jnp.float32),
            jax.ShapeDtypeStruct((batch, hidden), jnp.float32),
            jax.ShapeDtypeStruct((batch,), jnp.int32))

    def loss(gates_x, w_h, h0, c0, lengths):
        hs, h, c = jax_binding._recurrence(gates_x, w_h, h0, c0, lengths, kernel_kind)
        return jnp.sum(hs.astype(jnp.float32)) + jnp.sum(h) + jnp.sum(c)

    with mock.patch.object(jax_binding, "_launch", record):
        jax.eval_shape(jax.grad(loss, argnums=(0, 1, 2, 3)), *args)
    unique = {(l.kernel, tuple(l.signature.items())): l for l in launches}
    return list(unique.values())


def compile_launch(launch: Launch, arch: int = 90):
    """Compile with Triton for ``cuda:arch`` (all stages, cubin included)."""
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    fn = getattr(jax_binding._kernel_module(launch.module, False), launch.kernel)
    signature = {**launch.signature, **dict.fromkeys(launch.constexprs, "constexpr")}
    source = ASTSource(fn, signature=signature, constexprs=dict(launch.constexprs))
    return triton.compile(source, target=GPUTarget("cuda", arch, 32),
                          options={"num_warps": launch.num_warps, "enable_fp_fusion": True})


def _resource_usage(cubin: bytes) -> tuple[int | None, int | None]:
    """(registers per thread, local memory bytes per thread) from ``cuobjdump -res-usage``."""
    import triton

    tool = os.path.join(os.path.dirname(triton.__file__), "backends", "nvidia", "bin",
                        "cuobjdump")
    with tempfile.NamedTemporaryFile(suffix=".cubin") as f:
        f.write(cubin)
        f.flush()
        try:
            text = subprocess.run([tool, "-res-usage", f.name], capture_output=True, text=True,
                                  check=True).stdout
        except (OSError, subprocess.CalledProcessError):
            return None, None
    reg = re.search(r"REG:(\d+)", text)
    local = re.search(r"LOCAL:(\d+)", text)
    return (int(reg.group(1)) if reg else None, int(local.group(1)) if local else None)


def check_all(arch: int = 90, shapes_by_family: dict | None = None) -> list[Compiled]:
    """Record, compile and measure every launch of ``shapes_by_family`` (default SHAPES)."""
    results = []
    for family, shapes in (shapes_by_family or SHAPES).items():
        for shape in shapes:
            for launch in record_launches(family, *shape):
                kernel = compile_launch(launch, arch)
                registers, local = _resource_usage(kernel.asm["cubin"])
                results.append(Compiled(launch, shape, registers, kernel.metadata.shared, local))
    return results


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", type=int, default=90, help="CUDA compute capability x10")
    arch = parser.parse_args().arch
    print("| kernel | B, T, heads x D, dtype | grid | warps | regs/thread | shared B | local B |")
    print("|---|---|---|---|---|---|---|")
    for r in check_all(arch):
        b, t, nh, d, dt = r.shape
        print(f"| {r.launch.kernel} | {b}, {t}, {nh}x{d}, {jnp.dtype(dt).name} "
              f"| {r.launch.grid} | {r.launch.num_warps} | {r.registers} | {r.shared_bytes} "
              f"| {r.local_bytes} |")


if __name__ == "__main__":
    main()
