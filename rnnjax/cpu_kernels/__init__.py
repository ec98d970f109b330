"""Fused CPU LSTM recurrence: a C++ kernel (``lstm.cc``) called through XLA's FFI.

    lstm_recurrence_cpu(gates_x, w_h, h0, c0, seq_lengths=None, reverse=False)
        -> (hs, h_last, c_last)
    bidirectional_lstm_recurrence_cpu(gates_x, w_h, h0, c0, seq_lengths=None)
        -> (hs, h_last, c_last), each with a leading direction axis of 2

Same contract as ``rnnjax.lstm_xla`` and the Triton kernels (docs/CONTRACTS.md, "The LSTM
recurrence (array level)"): pre_t = gates_x[:, t] + h_{t-1} W_h; i, f, g, o = sigmoid, sigmoid,
tanh, sigmoid of its gate-major blocks; c_t = f c_{t-1} + i g; h_t = o tanh(c_t) (Hochreiter &
Schmidhuber 1997, forget gate of Gers et al. 2000). The forward runs all T steps in one call: per
step OpenBLAS products and the fused gate math on P cores, which split either the batch rows
([B/P, H] x [H, 4H] each, no synchronisation) or, for wide single-head layers, the hidden units
([B, H] x [H, 4H/P] each: a thread's slice of W_h stays in its cache; one barrier per step). The
backward (``jax.custom_vjp``) loops backwards over the steps for dh and dc only and computes
dW_h = sum_t h_{t-1}^T d pre_t as one product over all B*T rows afterwards.

``reverse=True`` runs the steps of each row backwards within its length (a backward-direction
RNN) with inputs and outputs in input order, so no reversal gathers surround the call;
``bidirectional_lstm_recurrence_cpu`` runs a forward and a reversed direction in one call, side
by side on the cores.

The extension is optional: ``pip install -e .`` builds it (``setup.py``, BUILD.md); when it is
missing or fails to load, ``available()`` is False, ``load_error()`` says why and rnnjax works
without it. ``RNNJAX_CPU_THREADS`` overrides the number of threads (default: the CPUs this
process may run on), ``RNNJAX_CPU_SPLIT=rows|columns`` the split of one direction's work.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.util
import os

import jax
import jax.numpy as jnp
import numpy as np

from rnnjax.lstm_xla import check_recurrence_inputs
from rnnjax.validation import fail

Array = jax.Array

#: XLA FFI target name -> symbol of the extension
_TARGETS = {"rnnjax_lstm_forward": "RnnjaxLstmForward",
            "rnnjax_lstm_backward": "RnnjaxLstmBackward"}
_EXTENSION = f"{__name__}._lstm"
_WHERE = "lstm_recurrence_cpu"


def load_error() -> str | None:
    """None once the extension is loaded and its FFI targets registered; else the reason."""
    return _load(_EXTENSION)


@functools.cache
def _load(extension: str) -> str | None:
    spec = importlib.util.find_spec(extension)
    if spec is None or spec.origin is None:
        return (f"the extension {extension} is not built (`pip install -e .` builds it with a "
                "C++17 compiler; see BUILD.md)")
    try:
        import scipy_openblas32

        # The extension links libscipy_openblas.so by name: load the wheel's copy first.
        ctypes.CDLL(os.path.join(scipy_openblas32.get_lib_dir(),
                                 scipy_openblas32.get_library(fullname=True)),
                    mode=ctypes.RTLD_GLOBAL)
        library = ctypes.CDLL(spec.origin)
    except (ImportError, OSError) as error:
        return f"the extension {extension} does not load: {error}"
    for target, symbol in _TARGETS.items():
        jax.ffi.register_ffi_target(target, jax.ffi.pycapsule(getattr(library, symbol)),
                                    platform="cpu")
    return None


def available() -> bool:
    """True when the fused CPU kernel can run in this process."""
    return load_error() is None


def lstm_recurrence_cpu(gates_x: Array, w_h: Array, h0: Array, c0: Array,
                        seq_lengths: Array | None = None, reverse: bool = False
                        ) -> tuple[Array, Array, Array]:
    """LSTM recurrence over all T steps with the fused CPU kernel; see the module docstring.

    gates_x [B, T, 4H] float32 or bfloat16, w_h [num_heads, D, 4D] of the same dtype, h0, c0
    [B, H] float32, seq_lengths None or int [B] (steps t >= len_b freeze the carry and give
    hs = 0; values are clamped to [0, T]). ``reverse``: row b reads t = len_b - 1, ..., 0 (hs
    stays in input order). Returns hs [B, T, H] (dtype of gates_x), h_last, c_last [B, H]
    float32. Differentiable in gates_x, w_h, h0, c0.
    """
    _check_inputs(_WHERE, gates_x, w_h, h0, c0, seq_lengths)
    hs, h_last, c_last = _recurrence(gates_x[None], w_h[None], h0[None], c0[None],
                                     _lengths(gates_x, seq_lengths), int(bool(reverse)))
    return hs[0], h_last[0], c_last[0]


def bidirectional_lstm_recurrence_cpu(gates_x: Array, w_h: Array, h0: Array, c0: Array,
                                      seq_lengths: Array | None = None
                                      ) -> tuple[Array, Array, Array]:
    """A forward and a backward-direction LSTM recurrence in one call of the fused kernel.

    Every argument has a leading axis of 2 (direction 0 forward, direction 1 reversed within the
    lengths as ``lstm_recurrence_cpu(..., reverse=True)``) over the shapes of
    ``lstm_recurrence_cpu``; seq_lengths is shared. Returns hs [2, B, T, H] (both in input
    order), h_last, c_last [2, B, H]. With two cores each direction runs on its own core.
    """
    where = "bidirectional_lstm_recurrence_cpu"
    for name, value in (("gates_x", gates_x), ("w_h", w_h), ("h0", h0), ("c0", c0)):
        if getattr(value, "ndim", 0) < 1 or value.shape[0] != 2:
            fail(where, name, "an array with a leading direction axis of 2",
                 f"shape {tuple(getattr(value, 'shape', ()))}")
    _check_inputs(where, gates_x[0], w_h[0], h0[0], c0[0], seq_lengths)
    return _recurrence(gates_x, w_h, h0, c0, _lengths(gates_x[0], seq_lengths), 0b10)


def _check_inputs(where: str, gates_x: Array, w_h: Array, h0: Array, c0: Array,
                  seq_lengths: Array | None) -> None:
    """One direction's arrays: the contract's shapes and the kernel's dtypes."""
    check_recurrence_inputs(where, gates_x, w_h, h0, c0, seq_lengths)
    if gates_x.dtype not in (jnp.float32, jnp.bfloat16):
        fail(where, "gates_x", "of dtype float32 or bfloat16", f"dtype {gates_x.dtype}",
             TypeError)
    if w_h.dtype != gates_x.dtype:
        fail(where, "w_h", f"of gates_x's dtype {gates_x.dtype}", f"dtype {w_h.dtype}",
             TypeError)
    for name, carry in (("h0", h0), ("c0", c0)):
        if carry.dtype != jnp.float32:
            fail(where, name, "of dtype float32", f"dtype {carry.dtype}", TypeError)
    if not available():
        raise RuntimeError(f"{where}: {load_error()}")


def _lengths(gates_x: Array, seq_lengths: Array | None) -> Array:
    """int32 [B] lengths clamped to [0, T] (all T when None)."""
    batch, time, _ = gates_x.shape
    if seq_lengths is None:
        return jnp.full((batch,), time, jnp.int32)
    return jnp.clip(seq_lengths, 0, time).astype(jnp.int32)


# Below, every array has a leading direction axis N; bit n of `reversed` reverses direction n.

def _forward(gates_x, w_h, h0, c0, lengths, reversed_):
    directions, batch, time, gates = gates_x.shape
    hidden = gates // 4
    carry = jax.ShapeDtypeStruct((directions, batch, hidden), jnp.float32)
    hs, h_last, c_last, acts, cs = jax.ffi.ffi_call(
        "rnnjax_lstm_forward",
        (jax.ShapeDtypeStruct((directions, batch, time, hidden), gates_x.dtype), carry, carry,
         jax.ShapeDtypeStruct((directions, batch, time, gates), jnp.float32),
         jax.ShapeDtypeStruct((directions, batch, time, hidden), jnp.float32)),
        vmap_method="sequential",
    )(gates_x, w_h, h0, c0, lengths, reversed=np.int64(reversed_))
    return (hs, h_last, c_last), (acts, cs, h0, c0, hs, w_h, lengths)


def _backward(reversed_, residuals, cotangents):
    acts, cs, h0, c0, hs, w_h, lengths = residuals
    d_hs, d_h, d_c = cotangents
    carry = jax.ShapeDtypeStruct(h0.shape, jnp.float32)
    d_gates, dh0, dc0, dw_h = jax.ffi.ffi_call(
        "rnnjax_lstm_backward",
        (jax.ShapeDtypeStruct(acts.shape, w_h.dtype), carry, carry,
         jax.ShapeDtypeStruct(w_h.shape, w_h.dtype)),
        vmap_method="sequential",
    )(d_hs.astype(hs.dtype), d_h.astype(jnp.float32), d_c.astype(jnp.float32), acts, cs, h0,
      c0, hs, w_h, lengths, reversed=np.int64(reversed_))
    return d_gates, dw_h, dh0, dc0, None


@functools.partial(jax.custom_vjp, nondiff_argnums=(5,))
def _recurrence(gates_x, w_h, h0, c0, lengths, reversed_):
    return _forward(gates_x, w_h, h0, c0, lengths, reversed_)[0]


_recurrence.defvjp(_forward, _backward)
