"""Shared inputs, losses and error measures for the LSTM kernel tests (interpreter and GPU)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

TOLERANCE = {jnp.dtype(jnp.float32): 1e-5, jnp.dtype(jnp.bfloat16): 1e-2}


def make_inputs(batch, time, num_heads, head, dtype, seed=0, scale=1.0):
    """gates_x [B, T, 4H], w_h [NH, D, 4D] (scaled 1/sqrt(D)), h0, c0 [B, H] float32."""
    k = jax.random.split(jax.random.PRNGKey(seed), 4)
    hidden = num_heads * head
    gates_x = (scale * jax.random.normal(k[0], (batch, time, 4 * hidden))).astype(dtype)
    w_h = (jax.random.normal(k[1], (num_heads, head, 4 * head)) / np.sqrt(head)).astype(dtype)
    h0 = 0.5 * jax.random.normal(k[2], (batch, hidden), jnp.float32)
    c0 = 0.5 * jax.random.normal(k[3], (batch, hidden), jnp.float32)
    return gates_x, w_h, h0, c0


def lengths_array(lengths):
    return None if lengths is None else jnp.asarray(lengths, jnp.int32)


def outputs_and_grads(fn, args, seq_lengths):
    """(hs, h_last, c_last) and the gradients w.r.t. (gates_x, w_h, h0, c0) of a loss that
    weighs every output element differently."""
    out, vjp = jax.vjp(lambda *a: fn(*a, seq_lengths), *args)
    cotangents = tuple(
        jnp.cos(jnp.arange(o.size, dtype=jnp.float32) * (0.7 + k)).reshape(o.shape).astype(o.dtype)
        for k, o in enumerate(out)
    )
    return out, vjp(cotangents)


def rel_error(actual, expected) -> float:
    """||actual - expected|| / ||expected|| (Frobenius, computed in float64)."""
    a = np.asarray(jnp.asarray(actual, jnp.float32), np.float64)
    b = np.asarray(jnp.asarray(expected, jnp.float32), np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


def assert_close(actual_tree, expected_tree, dtype, names):
    """Every pair within the dtype's relative tolerance; shapes and dtypes equal."""
    tol = TOLERANCE[jnp.dtype(dtype)]
    errors = {}
    for name, a, b in zip(names, actual_tree, expected_tree, strict=True):
        assert a.shape == b.shape, f"{name}: shape {a.shape} != {b.shape}"
        assert a.dtype == b.dtype, f"{name}: dtype {a.dtype} != {b.dtype}"
        assert np.all(np.isfinite(np.asarray(a, np.float32))), f"{name}: non-finite values"
        errors[name] = rel_error(a, b)
    bad = {k: v for k, v in errors.items() if not v <= tol}
    assert not bad, f"relative errors above {tol}: {bad} (all: {errors})"


OUTPUT_NAMES = ("hs", "h_last", "c_last")
GRAD_NAMES = ("d_gates_x", "d_w_h", "d_h0", "d_c0")
