"""The LSTM recurrence at array level, in pure JAX (see docs/CONTRACTS.md for the layout).

    pre_t = gates_x[:, t] + h_{t-1} W_h                      (gates_x = x_t W_x + b, hoisted)
    i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of the four gate-major blocks of pre_t
    c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t)         (Hochreiter & Schmidhuber 1997;
                                                               forget gate: Gers et al. 2000)

``lstm_recurrence_scan`` is the reference: ``jax.lax.scan`` + autodiff, which accumulates dW_h with
one small matmul per step. ``lstm_recurrence_xla`` has the same forward and a hand-written backward
(``jax.custom_vjp``) whose time loop does only the sequential part (dh_{t-1} = dpre_t W_h^T)
and then computes dW_h = sum_t h_{t-1}^T dpre_t as ONE matmul over all steps, as cuDNN and haste do.
The gradient w.r.t. gates_x is dpre itself, so dW_x and dx become single matmuls in the caller's
autodiff of the hoisted input projection.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from rnnjax.validation import check_float_array, check_seq_lengths, fail

Array = jax.Array


def accumulation_dtype(dtype) -> jnp.dtype:
    """float32 for float32/bfloat16/float16 inputs, float64 for float64 (gradient checks)."""
    return jnp.promote_types(dtype, jnp.float32)


def recurrent_matmul(h: Array, w_h: Array) -> Array:
    """h [B, H] times the block-diagonal W_h [K, D, 4D] -> [B, 4H] gate-major, float32 result."""
    num_heads, head_size, _ = w_h.shape
    h = h.astype(w_h.dtype)
    if num_heads == 1:
        return jnp.matmul(h, w_h[0], preferred_element_type=accumulation_dtype(w_h.dtype))
    batch = h.shape[0]
    out = jnp.einsum(
        "bkd,kde->bke", h.reshape(batch, num_heads, head_size), w_h,
        preferred_element_type=accumulation_dtype(w_h.dtype),
    )
    return heads_to_gate_major(out)


def heads_to_gate_major(x: Array) -> Array:
    """[..., K, 4D] (per-head gate-major) -> [..., 4*K*D] (gate-major over all heads)."""
    *lead, num_heads, four_d = x.shape
    d = four_d // 4
    x = x.reshape(*lead, num_heads, 4, d)
    return jnp.swapaxes(x, -3, -2).reshape(*lead, 4 * num_heads * d)


def gate_major_to_heads(x: Array, num_heads: int) -> Array:
    """Inverse of :func:`heads_to_gate_major`: [..., 4H] -> [..., K, 4D]."""
    *lead, four_h = x.shape
    d = four_h // (4 * num_heads)
    x = x.reshape(*lead, 4, num_heads, d)
    return jnp.swapaxes(x, -3, -2).reshape(*lead, num_heads, 4 * d)


def lstm_gates(pre: Array) -> tuple[Array, Array, Array, Array]:
    """Gate activations (i, f, g, o) of the float32 pre-activations [B, 4H]."""
    i, f, g, o = jnp.split(pre, 4, axis=-1)
    return jax.nn.sigmoid(i), jax.nn.sigmoid(f), jnp.tanh(g), jax.nn.sigmoid(o)


def lstm_step(w_h: Array, carry: tuple[Array, Array], gates_x_t: Array):
    """One LSTM step: (h_{t-1}, c_{t-1}), x_t W_x + b -> ((h_t, c_t), gate activations)."""
    h, c = carry
    pre = gates_x_t.astype(accumulation_dtype(gates_x_t.dtype)) + recurrent_matmul(h, w_h)
    i, f, g, o = lstm_gates(pre)
    c_new = f * c + i * g
    h_new = o * jnp.tanh(c_new)
    return (h_new, c_new), (i, f, g, o)


def check_recurrence_inputs(where: str, gates_x, w_h, h0, c0, seq_lengths) -> None:
    """Shapes of docs/CONTRACTS.md: gates_x [B,T,4H], w_h [K,D,4D] with K*D = H, h0/c0 [B,H]."""
    check_float_array(where, "w_h", w_h, 3)
    num_heads, head, four_head = w_h.shape
    if four_head != 4 * head:
        fail(where, "w_h", "of shape [num_heads, D, 4D]", f"shape {tuple(w_h.shape)}")
    hidden = num_heads * head
    check_float_array(where, "gates_x", gates_x, 3, 4 * hidden)
    batch, time, _ = gates_x.shape
    for name, state in (("h0", h0), ("c0", c0)):
        check_float_array(where, name, state, 2, hidden)
        if state.shape[0] != batch:
            fail(where, name, f"of shape ({batch}, {hidden})", f"shape {tuple(state.shape)}")
    check_seq_lengths(where, seq_lengths, batch, time)


def time_mask(seq_lengths: Array | None, batch: int, time: int) -> Array:
    """Boolean [T, B]: True where step t is inside sequence b."""
    if seq_lengths is None:
        return jnp.ones((time, batch), bool)
    return jnp.arange(time)[:, None] < seq_lengths[None, :]


def _forward(gates_x, w_h, h0, c0, mask):
    """Shared forward loop; returns outputs [T,B,H], final carry and per-step gates and cells."""

    def body(carry, inputs):
        gx, m = inputs
        (h_new, c_new), gates = lstm_step(w_h, carry, gx)
        h_new = jnp.where(m[:, None], h_new, carry[0])
        c_new = jnp.where(m[:, None], c_new, carry[1])
        y = jnp.where(m[:, None], h_new, 0.0)
        return (h_new, c_new), (y, jnp.concatenate(gates, -1), c_new)

    (h, c), (ys, gates, cs) = jax.lax.scan(body, (h0, c0), (jnp.swapaxes(gates_x, 0, 1), mask))
    return ys, h, c, gates, cs


def lstm_recurrence_scan(gates_x, w_h, h0, c0, seq_lengths=None):
    """Reference LSTM recurrence (lax.scan + autodiff). Returns (hs [B,T,H], h_last, c_last)."""
    check_recurrence_inputs("lstm_recurrence_scan", gates_x, w_h, h0, c0, seq_lengths)
    batch, time, _ = gates_x.shape
    ys, h, c, _, _ = _forward(gates_x, w_h, h0, c0, time_mask(seq_lengths, batch, time))
    return jnp.swapaxes(ys, 0, 1).astype(gates_x.dtype), h, c


@jax.custom_vjp
def _recurrence_xla(gates_x, w_h, h0, c0, mask):
    ys, h, c, _, _ = _forward(gates_x, w_h, h0, c0, mask)
    return jnp.swapaxes(ys, 0, 1).astype(gates_x.dtype), h, c


def _recurrence_xla_fwd(gates_x, w_h, h0, c0, mask):
    ys, h, c, gates, cs = _forward(gates_x, w_h, h0, c0, mask)
    out = (jnp.swapaxes(ys, 0, 1).astype(gates_x.dtype), h, c)
    return out, (w_h, h0, c0, mask, ys, gates, cs)


def _recurrence_xla_bwd(residuals, cotangents):
    w_h, h0, c0, mask, ys, gates, cs = residuals
    d_hs, d_h_last, d_c_last = cotangents
    num_heads = w_h.shape[0]
    c_prev = jnp.concatenate([c0[None], cs[:-1]], 0)
    w_h_t = jnp.swapaxes(w_h, 1, 2)  # [K, 4D, D]

    def body(carry, inputs):
        dh, dc = carry
        dy, gates_t, c_t, c_prev_t, m = inputs
        i, f, g, o = jnp.split(gates_t, 4, axis=-1)
        dh = dh + dy
        tanh_c = jnp.tanh(c_t)
        dc_total = dc + dh * o * (1.0 - tanh_c**2)
        dpre = jnp.concatenate(
            [dc_total * g * i * (1.0 - i), dc_total * c_prev_t * f * (1.0 - f),
             dc_total * i * (1.0 - g**2), dh * tanh_c * o * (1.0 - o)], -1,
        )
        dpre = jnp.where(m[:, None], dpre, 0.0)
        dh_prev = jnp.where(m[:, None], recurrent_matmul_transposed(dpre, w_h_t), dh)
        dc_prev = jnp.where(m[:, None], dc_total * f, dc)
        return (dh_prev, dc_prev), dpre

    d_ys = jnp.swapaxes(d_hs, 0, 1).astype(d_h_last.dtype) * mask[..., None]
    (dh0, dc0), dpre = jax.lax.scan(
        body, (d_h_last, d_c_last), (d_ys, gates, cs, c_prev, mask), reverse=True
    )
    h_prev = jnp.concatenate([h0[None], ys[:-1]], 0)  # zeros at masked steps, whose dpre is 0
    d_w_h = weight_gradient(h_prev, dpre, num_heads).astype(w_h.dtype)
    return jnp.swapaxes(dpre, 0, 1).astype(d_hs.dtype), d_w_h, dh0, dc0, None


def recurrent_matmul_transposed(dpre: Array, w_h_t: Array) -> Array:
    """dpre [B, 4H] times W_h^T (block-diagonal, given as [K, 4D, D]) -> dh [B, H] float32."""
    num_heads = w_h_t.shape[0]
    dpre = dpre.astype(w_h_t.dtype)
    if num_heads == 1:
        return jnp.matmul(dpre, w_h_t[0], preferred_element_type=accumulation_dtype(dpre.dtype))
    out = jnp.einsum(
        "bke,ked->bkd", gate_major_to_heads(dpre, num_heads), w_h_t,
        preferred_element_type=accumulation_dtype(dpre.dtype),
    )
    return out.reshape(dpre.shape[0], -1)


def weight_gradient(h_prev: Array, dpre: Array, num_heads: int) -> Array:
    """dW_h = sum over all steps and batch rows of h_{t-1}^T dpre_t, as one (batched) matmul.

    h_prev [T, B, H], dpre [T, B, 4H] -> [K, D, 4D].
    """
    rows = h_prev.shape[0] * h_prev.shape[1]
    h_rows = h_prev.reshape(rows, num_heads, -1)
    d_rows = gate_major_to_heads(dpre.reshape(rows, -1), num_heads)
    return jnp.einsum("nkd,nke->kde", h_rows, d_rows)


_recurrence_xla.defvjp(_recurrence_xla_fwd, _recurrence_xla_bwd)


def lstm_recurrence_xla(gates_x, w_h, h0, c0, seq_lengths=None):
    """LSTM recurrence with the hand-written backward. Same contract as the scan reference."""
    check_recurrence_inputs("lstm_recurrence_xla", gates_x, w_h, h0, c0, seq_lengths)
    batch, time, _ = gates_x.shape
    return _recurrence_xla(gates_x, w_h, h0, c0, time_mask(seq_lengths, batch, time))
