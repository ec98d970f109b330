"""The LSTM recurrence at array level, in pure JAX (see docs/CONTRACTS.md for the layout).

    pre_t = gates_x[:, t] + h_{t-1} W_h                      (gates_x = x_t W_x + b, hoisted)
    i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of the four gate-major blocks of pre_t
    c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t)         (Hochreiter & Schmidhuber 1997;
                                                               forget gate: Gers et al. 2000)

``LSTM_MATH`` is the pointwise part and its hand-written derivative; ``lstm_recurrence_scan`` is
the reference (``jax.lax.scan`` + autodiff, which accumulates dW_h with one small matmul per step)
and ``lstm_recurrence_xla`` runs the same forward with the backward of ``rnnjax.recurrence``
(dW_h as one matmul after the loop).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from rnnjax.recurrence import Blocks, lanes_recurrence, math_step, time_mask
from rnnjax.validation import check_float_array, check_seq_lengths, fail

Array = jax.Array


def lstm_gates(pre: Array) -> tuple[Array, Array, Array, Array]:
    """Gate activations (i, f, g, o) of the float32 pre-activations [B, 4H]."""
    i, f, g, o = jnp.split(pre, 4, axis=-1)
    return jax.nn.sigmoid(i), jax.nn.sigmoid(f), jnp.tanh(g), jax.nn.sigmoid(o)


class LSTMMath:
    """Pointwise LSTM step on gate blocks (i, f, g, o); carry (h, c)."""

    num_gates = 4

    def forward(self, x: Blocks, r: Blocks, carry: Blocks) -> tuple[Blocks, Blocks]:
        _, c = carry
        i = jax.nn.sigmoid(x[0] + r[0])
        f = jax.nn.sigmoid(x[1] + r[1])
        g = jnp.tanh(x[2] + r[2])
        o = jax.nn.sigmoid(x[3] + r[3])
        c_new = f * c + i * g
        tanh_c = jnp.tanh(c_new)
        return (o * tanh_c, c_new), (i, f, g, o, tanh_c)

    def backward(self, saved: Blocks, carry: Blocks, d_carry: Blocks):
        """dc_t += dh_t o (1 - tanh^2 c_t); dpre = (dc g i(1-i), dc c_{t-1} f(1-f), dc i (1-g^2),
        dh tanh(c_t) o(1-o)); dc_{t-1} = dc f. h_{t-1} enters only through r_t."""
        i, f, g, o, tanh_c = saved
        _, c = carry
        d_h, d_c = d_carry
        d_c = d_c + d_h * o * (1.0 - tanh_c * tanh_c)
        d_pre = (d_c * g * i * (1.0 - i), d_c * c * f * (1.0 - f), d_c * i * (1.0 - g * g),
                 d_h * tanh_c * o * (1.0 - o))
        return d_pre, None, (None, d_c * f)


LSTM_MATH = LSTMMath()


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


def lstm_recurrence_scan(gates_x, w_h, h0, c0, seq_lengths=None):
    """Reference LSTM recurrence (lax.scan + autodiff). Returns (hs [B,T,H], h_last, c_last)."""
    check_recurrence_inputs("lstm_recurrence_scan", gates_x, w_h, h0, c0, seq_lengths)
    batch, time, _ = gates_x.shape

    def body(carry, inputs):
        x_t, m = inputs
        new = math_step(LSTM_MATH, w_h, None, carry, x_t)
        new = tuple(jnp.where(m[:, None], n, o) for n, o in zip(new, carry, strict=True))
        return new, jnp.where(m[:, None], new[0], 0.0)

    (h, c), ys = jax.lax.scan(body, (h0, c0), (jnp.swapaxes(gates_x, 0, 1),
                                              time_mask(seq_lengths, batch, time)))
    return jnp.swapaxes(ys, 0, 1).astype(gates_x.dtype), h, c


def lstm_recurrence_xla(gates_x, w_h, h0, c0, seq_lengths=None):
    """LSTM recurrence with the hand-written backward. Same contract as the scan reference."""
    check_recurrence_inputs("lstm_recurrence_xla", gates_x, w_h, h0, c0, seq_lengths)
    batch, time, _ = gates_x.shape
    mask = None if seq_lengths is None else time_mask(seq_lengths, batch, time)
    ys, (h, c) = lanes_recurrence(LSTM_MATH, jnp.swapaxes(gates_x, 0, 1)[:, None], w_h[None],
                                  (h0[None], c0[None]), mask=mask)
    return jnp.swapaxes(ys[:, 0], 0, 1), h[0], c[0]
