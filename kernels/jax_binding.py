"""JAX binding of the Triton LSTM kernels: input checks, ``jax.custom_vjp``, launches.

    lstm_recurrence(gates_x, w_h, h0, c0, seq_lengths=None, *, impl) -> (hs, h_last, c_last)

Layout and math: docs/CONTRACTS.md ("The LSTM recurrence"). Forward and backward each run the
kernels of ``impl``; the weight gradient is one matmul over all steps afterwards,

    dW_h[k] = sum_{b, t} h_{t-1}[b, head k]^T d pre_t[b, head k columns],

and the gradient of gates_x is d pre itself.

impl            kernel                           runs on
"triton"        whole sequence (lstm_sequence)   CUDA GPU, jax-triton ``triton_call``
"triton_cell"   one cell launch per step         CUDA GPU, jax-triton ``triton_call``
"triton_interpret", "triton_cell_interpret"      the same kernel source under the Triton CPU
                                                 interpreter, via ``jax.pure_callback`` (tests)

Under the interpreter every output buffer is filled with NaN before the launch, so an element a
kernel fails to write shows up as NaN.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import sys
import types
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array

#: Largest head size (D) of the whole-sequence kernel: W_h[head] (4 D x D) stays on chip.
MAX_HEAD_SIZE = 64
#: impl -> (kernel family, run under the CPU interpreter)
IMPLS: dict[str, tuple[str, bool]] = {
    "triton": ("sequence", False),
    "triton_cell": ("cell", False),
    "triton_interpret": ("sequence", True),
    "triton_cell_interpret": ("cell", True),
}
_WHERE = "lstm_recurrence"
_MIN_BLOCK = 16  # tl.dot needs every block dimension >= 16
_INTERPRETED = f"{__package__}._interpreted"


def gpu_available() -> bool:
    """True when JAX sees a CUDA GPU and jax-triton imports (it needs a GPU jaxlib)."""
    try:
        if not jax.devices("gpu"):
            return False
    except RuntimeError:
        return False
    try:
        import jax_triton  # noqa: F401
    except ImportError:
        return False
    return True


def lstm_recurrence(
    gates_x: Array,
    w_h: Array,
    h0: Array,
    c0: Array,
    seq_lengths: Array | None = None,
    *,
    impl: str = "triton",
) -> tuple[Array, Array, Array]:
    """LSTM recurrence over all T steps with Triton kernels; see the module docstring.

    gates_x [B, T, 4H] (f32/bf16), w_h [NH, D, 4D] (dtype of gates_x), h0, c0 [B, H] f32,
    seq_lengths None or int [B] in [1, T]. Returns hs [B, T, H] (dtype of gates_x), h_last,
    c_last [B, H] f32. Differentiable in gates_x, w_h, h0, c0.
    """
    lengths = _check_inputs(gates_x, w_h, h0, c0, seq_lengths, impl)
    return _recurrence(gates_x, w_h, h0, c0, lengths, impl)


# ----------------------------------------------------------------------------- input checks


def _fail(name: str, expected: str, actual: Any, exc: type[Exception] = ValueError):
    raise exc(f"{_WHERE}: {name} must be {expected}, got {actual}")


def _check_array(name: str, x: Any, ndim: int, dtypes: Sequence[Any]) -> None:
    if not hasattr(x, "shape") or not hasattr(x, "dtype"):
        _fail(name, f"an array of rank {ndim}", type(x).__name__, TypeError)
    if x.ndim != ndim:
        _fail(name, f"of rank {ndim}", f"shape {tuple(x.shape)}")
    if x.dtype not in [jnp.dtype(d) for d in dtypes]:
        names = " or ".join(jnp.dtype(d).name for d in dtypes)
        _fail(name, f"of dtype {names}", f"dtype {x.dtype}", TypeError)


def check_arrays(gates_x: Any, w_h: Any, h0: Any, c0: Any, impl: str) -> None:
    """Raise (ValueError / TypeError naming the argument) unless ``impl``'s kernel accepts arrays
    of these shapes and dtypes. Reads only ``.shape``/``.dtype`` (``jax.ShapeDtypeStruct`` will
    do), computes nothing and does not look for a GPU, so a caller can ask ahead of a call."""
    if impl not in IMPLS:
        _fail("impl", f"one of {tuple(IMPLS)}", repr(impl))
    _check_array("gates_x", gates_x, 3, (jnp.float32, jnp.bfloat16))
    batch, time, four_h = gates_x.shape
    if batch < 1 or time < 1 or four_h < 4 or four_h % 4:
        _fail("gates_x", "of shape [B >= 1, T >= 1, 4H] with H >= 1", f"shape {gates_x.shape}")
    hidden = four_h // 4
    _check_array("w_h", w_h, 3, (gates_x.dtype,))
    num_heads, head, four_d = w_h.shape
    if num_heads * head != hidden or four_d != 4 * head:
        _fail("w_h", f"of shape [num_heads, D, 4D] with num_heads * D = H = {hidden}",
              f"shape {w_h.shape}")
    for name, carry in (("h0", h0), ("c0", c0)):
        _check_array(name, carry, 2, (jnp.float32,))
        if tuple(carry.shape) != (batch, hidden):
            _fail(name, f"of shape ({batch}, {hidden})", f"shape {tuple(carry.shape)}")
    if IMPLS[impl][0] == "sequence" and head > MAX_HEAD_SIZE:
        _fail("w_h", f"of head size (axis 1) <= {MAX_HEAD_SIZE} for the whole-sequence kernel "
              f"(impl={impl!r}; use impl='triton_cell' or more heads)", f"head size {head}")


def _check_inputs(gates_x, w_h, h0, c0, seq_lengths, impl) -> Array:
    """Validate every argument; return int32 lengths ([T] * B when seq_lengths is None)."""
    check_arrays(gates_x, w_h, h0, c0, impl)
    batch, time, _ = gates_x.shape
    if not IMPLS[impl][1] and not gpu_available():
        raise RuntimeError(
            f"{_WHERE}: impl={impl!r} needs a CUDA GPU and jax-triton, got backend "
            f"{jax.default_backend()!r}; impl='triton_interpret' runs the same kernels on CPU")
    if seq_lengths is None:
        return jnp.full((batch,), time, jnp.int32)
    if not hasattr(seq_lengths, "dtype") or not jnp.issubdtype(seq_lengths.dtype, jnp.integer):
        actual = getattr(seq_lengths, "dtype", type(seq_lengths).__name__)
        _fail("seq_lengths", "an integer array", f"dtype {actual}", TypeError)
    if tuple(seq_lengths.shape) != (batch,):
        _fail("seq_lengths", f"of shape ({batch},)", f"shape {tuple(seq_lengths.shape)}")
    try:
        values = np.asarray(seq_lengths)
    except jax.errors.TracerArrayConversionError:  # under jit: values unknown until run time
        values = None
    if values is not None and (values.min() < 1 or values.max() > time):
        _fail("seq_lengths", f"in [1, {time}]", f"values in [{values.min()}, {values.max()}]")
    return jnp.asarray(seq_lengths, jnp.int32)


# ----------------------------------------------------------------------------- launching


@contextlib.contextmanager
def _interpret_mode():
    """TRITON_INTERPRET=1 while our kernel modules are decorated: Triton reads it in @triton.jit."""
    before = os.environ.get("TRITON_INTERPRET")
    os.environ["TRITON_INTERPRET"] = "1"
    try:
        yield
    finally:
        if before is None:
            del os.environ["TRITON_INTERPRET"]
        else:
            os.environ["TRITON_INTERPRET"] = before


def _kernel_module(name: str, interpret: bool) -> types.ModuleType:
    """``kernels.<name>``; with ``interpret``, a second import of the same source files under
    ``kernels._interpreted`` decorated in interpreter mode, so both modes coexist in a process.

    Triton's own library is imported (and decorated) in compiled mode first, so the kernels call
    only builtins of ``triton.language`` (``tl.full``, not the @jit ``tl.zeros``).
    """
    if not interpret:
        return importlib.import_module(f"{__package__}.{name}")
    if _INTERPRETED not in sys.modules:
        package = types.ModuleType(_INTERPRETED)
        package.__path__ = [os.path.dirname(os.path.abspath(__file__))]
        sys.modules[_INTERPRETED] = package
    full_name = f"{_INTERPRETED}.{name}"
    if full_name not in sys.modules:
        import triton.language  # noqa: F401  (Triton's own @jit functions: decorated normally)

        with _interpret_mode():
            importlib.import_module(full_name)
    return sys.modules[full_name]


def _to_torch(torch, x: np.ndarray):
    x = np.array(x)  # writable, contiguous copy
    if x.dtype == jnp.bfloat16:
        return torch.from_numpy(x.view(np.int16)).view(torch.bfloat16)
    return torch.from_numpy(x)


def _to_numpy(torch, x) -> np.ndarray:
    if x.dtype == torch.bfloat16:
        return x.view(torch.int16).numpy().view(jnp.bfloat16)
    return x.numpy()


def _poisoned(torch, shape: jax.ShapeDtypeStruct):
    """A torch CPU buffer for an output, filled with NaN."""
    dtype = torch.bfloat16 if shape.dtype == jnp.bfloat16 else getattr(torch, shape.dtype.name)
    return torch.full(shape.shape, float("nan"), dtype=dtype)


def _launch(module: str, kernel: str, interpret: bool, grid: tuple[int, ...],
            inputs: Sequence[Array], outputs: Sequence[jax.ShapeDtypeStruct], num_warps: int,
            **meta: Any) -> list[Array]:
    """Run ``kernel(*inputs, *outputs, **meta)`` over ``grid``; returns the outputs."""
    fn = getattr(_kernel_module(module, interpret), kernel)
    if not interpret:
        import jax_triton

        return list(jax_triton.triton_call(*inputs, kernel=fn, out_shape=list(outputs),
                                           grid=grid, num_warps=num_warps, **meta))

    def host(*arrays):
        import torch

        args = [_to_torch(torch, a) for a in arrays]
        outs = [_poisoned(torch, s) for s in outputs]
        fn[grid](*args, *outs, **meta)
        return tuple(_to_numpy(torch, o) for o in outs)

    return list(jax.pure_callback(host, tuple(outputs), *inputs))


def _pow2_at_least(n: int, low: int = _MIN_BLOCK) -> int:
    return max(low, 1 << (n - 1).bit_length())


def _sizes(gates_x: Array, w_h: Array) -> tuple[int, int, int, int, int]:
    batch, time, _ = gates_x.shape
    num_heads, head, _ = w_h.shape
    return batch, time, num_heads, head, num_heads * head


# ----------------------------------------------------------------------------- whole sequence


def _sequence_config(batch: int, num_heads: int, head: int):
    block_b, block_d = _MIN_BLOCK, _pow2_at_least(head)
    grid = (-(-batch // block_b), num_heads)
    return grid, 4 if block_d <= 32 else 8, {"BLOCK_B": block_b, "BLOCK_D": block_d}


def _sequence_fwd(interpret, gates_x, w_h, h0, c0, lengths):
    batch, time, num_heads, head, hidden = _sizes(gates_x, w_h)
    grid, warps, blocks = _sequence_config(batch, num_heads, head)
    f32 = jnp.float32
    hs, h, c, acts, cs = _launch(
        "lstm_sequence", "lstm_sequence_fwd_kernel", interpret, grid,
        (gates_x, w_h, h0, c0, lengths),
        (jax.ShapeDtypeStruct((batch, time, hidden), gates_x.dtype),
         jax.ShapeDtypeStruct((batch, hidden), f32), jax.ShapeDtypeStruct((batch, hidden), f32),
         jax.ShapeDtypeStruct((batch, time, 4 * hidden), f32),
         jax.ShapeDtypeStruct((batch, time + 1, hidden), f32)),
        warps, B=batch, T=time, NH=num_heads, D=head, UPCAST_DOT=interpret, **blocks)
    return (hs, h, c), (acts, cs)


def _sequence_bwd(interpret, w_h, c0, lengths, saved, cotangents):
    del c0  # saved in cs[:, 0]
    acts, cs = saved
    d_hs, d_h, d_c = cotangents
    batch, time, hidden = d_hs.shape
    num_heads, head, _ = w_h.shape
    grid, warps, blocks = _sequence_config(batch, num_heads, head)
    f32 = jnp.float32
    dgates, dh0, dc0 = _launch(
        "lstm_sequence", "lstm_sequence_bwd_kernel", interpret, grid,
        (d_hs, d_h, d_c, acts, cs, w_h, lengths),
        (jax.ShapeDtypeStruct((batch, time, 4 * hidden), w_h.dtype),
         jax.ShapeDtypeStruct((batch, hidden), f32), jax.ShapeDtypeStruct((batch, hidden), f32)),
        warps, B=batch, T=time, NH=num_heads, D=head, UPCAST_DOT=interpret, **blocks)
    return dgates, dh0, dc0


# ----------------------------------------------------------------------------- cell per step


def _cell_config(batch: int, num_heads: int, head: int):
    block_b = min(64, _pow2_at_least(batch))
    block_d = min(32, _pow2_at_least(head))
    grid = (-(-batch // block_b), num_heads, -(-head // block_d))
    return grid, 4, {"BLOCK_B": block_b, "BLOCK_D": block_d}


def _cell_fwd(interpret, gates_x, w_h, h0, c0, lengths):
    batch, time, num_heads, head, hidden = _sizes(gates_x, w_h)
    grid, warps, blocks = _cell_config(batch, num_heads, head)
    carry = jax.ShapeDtypeStruct((batch, hidden), jnp.float32)
    outputs = (carry, carry, jax.ShapeDtypeStruct((batch, hidden), gates_x.dtype),
               jax.ShapeDtypeStruct((batch, 4 * hidden), jnp.float32))
    valid = (jnp.arange(time)[:, None] < lengths[None, :]).astype(jnp.int32)  # [T, B]

    def step(state, xs):
        gx, v = xs
        h, c, y, acts = _launch("lstm_cell", "lstm_cell_fwd_kernel", interpret, grid,
                                (gx, w_h, *state, v), outputs, warps,
                                B=batch, NH=num_heads, D=head, UPCAST_DOT=interpret, **blocks)
        return (h, c), (y, acts, c)

    (h, c), (ys, acts, cs) = jax.lax.scan(step, (h0, c0), (jnp.swapaxes(gates_x, 0, 1), valid))
    return (jnp.swapaxes(ys, 0, 1), h, c), (valid, acts, cs)


def _cell_bwd(interpret, w_h, c0, lengths, saved, cotangents):
    del lengths  # saved as valid [T, B]
    valid, acts, cs = saved
    d_hs, d_h, d_c = cotangents
    batch, _, hidden = d_hs.shape
    num_heads, head, _ = w_h.shape
    grid, warps, blocks = _cell_config(batch, num_heads, head)
    carry = jax.ShapeDtypeStruct((batch, hidden), jnp.float32)
    outputs = (jax.ShapeDtypeStruct((batch, 4 * hidden), w_h.dtype), carry, carry)
    c_prev = jnp.concatenate([c0[None], cs[:-1]], axis=0)

    def step(state, xs):
        dgates, dh, dc = _launch("lstm_cell", "lstm_cell_bwd_kernel", interpret, grid,
                                 (xs[0], *state, *xs[1:], w_h), outputs, warps,
                                 B=batch, NH=num_heads, D=head, UPCAST_DOT=interpret, **blocks)
        return (dh, dc), dgates

    (dh0, dc0), dgates = jax.lax.scan(
        step, (d_h, d_c), (jnp.swapaxes(d_hs, 0, 1), acts, cs, c_prev, valid), reverse=True)
    return jnp.swapaxes(dgates, 0, 1), dh0, dc0


# ----------------------------------------------------------------------------- custom VJP

_FAMILIES = {"sequence": (_sequence_fwd, _sequence_bwd), "cell": (_cell_fwd, _cell_bwd)}


def _weight_gradient(h_prev: Array, dgates: Array, w_h: Array) -> Array:
    """dW_h[k, j, g*D + m] = sum_n h_prev[n, k*D + j] dgates[n, g*H + k*D + m]: one batched
    matmul over all B*T rows (float32 accumulation)."""
    num_heads, head, _ = w_h.shape
    h = h_prev.reshape(-1, num_heads, head)
    d = dgates.reshape(-1, 4, num_heads, head)
    dw = jnp.einsum("nkj,ngkm->kjgm", h, d, preferred_element_type=jnp.float32,
                    precision=jax.lax.Precision.HIGHEST)
    return dw.reshape(w_h.shape).astype(w_h.dtype)


@functools.partial(jax.custom_vjp, nondiff_argnums=(5,))
def _recurrence(gates_x, w_h, h0, c0, lengths, impl):
    return _recurrence_fwd(gates_x, w_h, h0, c0, lengths, impl)[0]


def _recurrence_fwd(gates_x, w_h, h0, c0, lengths, impl):
    kind, interpret = IMPLS[impl]
    outputs, saved = _FAMILIES[kind][0](interpret, gates_x, w_h, h0, c0, lengths)
    return outputs, (w_h, h0, c0, lengths, outputs[0], saved)


def _recurrence_bwd(impl, residuals, cotangents):
    kind, interpret = IMPLS[impl]
    w_h, h0, c0, lengths, hs, saved = residuals
    dgates, dh0, dc0 = _FAMILIES[kind][1](interpret, w_h, c0, lengths, saved, cotangents)
    # h_{t-1} as the forward's matmul saw it (in W_h's dtype); at steps past a sequence's end hs
    # is 0 and so is d pre, so they add nothing.
    h_prev = jnp.concatenate([h0[:, None].astype(hs.dtype), hs[:, :-1]], axis=1)
    return dgates, _weight_gradient(h_prev, dgates, w_h), dh0, dc0, None


_recurrence.defvjp(_recurrence_fwd, _recurrence_bwd)
