"""Recurrences with a hand-written backward pass, for cells whose recurrent term is one matmul.

Per step, with G gate blocks of width H (LSTM G=4, GRU 3, Elman 1):

    x_t = x_t W_x + b                 hoisted out of the loop: one matmul over all steps
    r_t = h_{t-1} W_h + b_h           the recurrent product (b_h: PyTorch's b_hh; only the GRU's
                                      b_hn is not folded into b)
    carry_t, saved_t = math.forward(x_t, r_t, carry_{t-1})      pointwise: LSTM, GRU, Elman

The backward pass (``jax.custom_vjp``) runs the time loop only for what is sequential -- the
pointwise derivative ``math.backward`` and dh_{t-1} += dr_t W_h^T -- and afterwards computes every
weight gradient as ONE matmul over all steps (dW_h = sum_t h_{t-1}^T dr_t), as cuDNN and haste do.
The gradient w.r.t. the hoisted x_t W_x + b is dx_t itself, so dW_x and the input gradient stay
single matmuls in the caller's autodiff.

``lanes_recurrence`` runs L lanes (each with its own weights) in one ``jax.lax.scan``:

* parallel lanes (both directions of a bidirectional layer): every lane reads its own hoisted
  inputs and iteration t runs step t of every lane;
* a wavefront stack (Kalchbrenner-style diagonal schedule): lane l is layer l and reads layer
  l-1's output, times a dropout mask, through W_in[l]. Iteration s runs layer l at step s - l, so
  L layers take T + L - 1 iterations instead of L * T.

Either way each iteration's products are one batched matmul over lanes: [h ; dropout(h_below)] @
[W_h ; W_in], which XLA's CPU backend spreads over cores where a single small matmul would run on
one. Gate blocks enter the pointwise math as separate [L, B, H] arrays: XLA:CPU fuses a slice of a
per-step [B, G*H] input badly (measured 5x slower on 2 cores).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Protocol

import jax
import jax.numpy as jnp

Array = jax.Array
Blocks = tuple[Array, ...]


class CellMath(Protocol):
    """The pointwise part of a cell: gate blocks and carries are tuples of [..., H] arrays."""

    num_gates: int

    def forward(self, x: Blocks, r: Blocks, carry: Blocks) -> tuple[Blocks, Blocks]:
        """(x_t blocks, r_t blocks, carry_{t-1}) -> (carry_t, arrays the backward needs)."""

    def backward(self, saved: Blocks, carry: Blocks, d_carry: Blocks
                 ) -> tuple[Blocks, Blocks | None, tuple[Array | None, ...]]:
        """-> (d x_t, d r_t or None when equal to d x_t, d carry_{t-1} through the pointwise math
        only; None where that path does not exist)."""


def accumulation_dtype(dtype) -> jnp.dtype:
    """float32 for float32/bfloat16/float16 inputs, float64 for float64 (gradient checks)."""
    return jnp.promote_types(dtype, jnp.float32)


def gate_blocks(x: Array, num_gates: int) -> Blocks:
    """[..., G*H] -> G arrays [..., H] (gate-major layout)."""
    return tuple(jnp.split(x, num_gates, axis=-1))


def heads_to_gate_major(x: Array, num_gates: int) -> Array:
    """[..., K, G*D] (per-head gate-major) -> [..., G*K*D] (gate-major over all heads)."""
    *lead, num_heads, width = x.shape
    d = width // num_gates
    x = x.reshape(*lead, num_heads, num_gates, d)
    return jnp.swapaxes(x, -3, -2).reshape(*lead, num_gates * num_heads * d)


def gate_major_to_heads(x: Array, num_heads: int, num_gates: int) -> Array:
    """Inverse of :func:`heads_to_gate_major`: [..., G*H] -> [..., K, G*D]."""
    *lead, width = x.shape
    d = width // (num_gates * num_heads)
    x = x.reshape(*lead, num_gates, num_heads, d)
    return jnp.swapaxes(x, -3, -2).reshape(*lead, num_heads, num_gates * d)


def lane_matmul(h: Array, w: Array, num_gates: int) -> Array:
    """h [U, B, H] times each lane's block-diagonal W [U, K, D, G*D] -> [U, B, G*H] gate-major.

    One batched matmul; the result is in the accumulation dtype whatever the weights' dtype.
    """
    lanes, batch, _ = h.shape
    num_heads, head = w.shape[1], w.shape[2]
    h = h.astype(w.dtype)
    acc = accumulation_dtype(w.dtype)
    if num_heads == 1:
        return jnp.einsum("ubh,uhn->ubn", h, w[:, 0], preferred_element_type=acc)
    out = jnp.einsum("ubkd,ukdn->ubkn", h.reshape(lanes, batch, num_heads, head), w,
                     preferred_element_type=acc)
    return heads_to_gate_major(out, num_gates)


def lane_matmul_transposed(d: Array, w_t: Array, num_gates: int) -> Array:
    """d [U, B, G*H] times each lane's W^T (given as [U, K, G*D, D]) -> [U, B, H]."""
    lanes, batch, _ = d.shape
    num_heads = w_t.shape[1]
    d = d.astype(w_t.dtype)
    acc = accumulation_dtype(w_t.dtype)
    if num_heads == 1:
        return jnp.einsum("ubn,unh->ubh", d, w_t[:, 0], preferred_element_type=acc)
    out = jnp.einsum("ubkn,uknd->ubkd", gate_major_to_heads(d, num_heads, num_gates), w_t,
                     preferred_element_type=acc)
    return out.reshape(lanes, batch, -1)


def lane_weight_gradient(h: Array, d: Array, num_heads: int, num_gates: int) -> Array:
    """sum over steps and batch rows of h^T d, per lane, as one batched matmul.

    h [S, U, B, H], d [S, U, B, G*H] -> [U, K, D, G*D] (block-diagonal over K heads).
    """
    steps, lanes, batch, hidden = h.shape
    rows = steps * batch
    h_rows = jnp.swapaxes(h, 0, 1).reshape(lanes, rows, num_heads, hidden // num_heads)
    d_rows = jnp.swapaxes(d, 0, 1).reshape(lanes, rows, -1)
    if num_heads == 1:
        return jnp.einsum("unh,une->uhe", h_rows[:, :, 0], d_rows)[:, None]
    return jnp.einsum("unkd,unke->ukde", h_rows,
                      gate_major_to_heads(d_rows, num_heads, num_gates))


def time_mask(seq_lengths: Array | None, batch: int, time: int) -> Array:
    """Boolean [T, B]: True where step t is inside sequence b."""
    if seq_lengths is None:
        return jnp.ones((time, batch), bool)
    return jnp.arange(time)[:, None] < seq_lengths[None, :]


def math_step(math: CellMath, w_h: Array, b_h: Array | None, carry: Blocks, x_t: Array
              ) -> Blocks:
    """One step of the module docstring's equations on x_t = x_t W_x + b [B, G*H]: the cells'
    ``step`` and the autodiff references run exactly this."""
    r = lane_matmul(carry[0][None], w_h[None], math.num_gates)[0]
    if b_h is not None:
        r = r + b_h
    x = gate_blocks(x_t.astype(accumulation_dtype(x_t.dtype)), math.num_gates)
    return math.forward(x, gate_blocks(r, math.num_gates), carry)[0]


@dataclass(frozen=True)
class _Layout:
    """Static description of a lanes_recurrence call."""

    lanes: int
    time: int
    stacked: bool
    num_gates: int
    num_heads: int

    @property
    def iterations(self) -> int:
        return self.time + self.lanes - 1 if self.stacked else self.time

    @property
    def delays(self) -> Array:
        """Iteration at which each lane runs step 0."""
        return jnp.arange(self.lanes) if self.stacked else jnp.zeros(self.lanes, int)


def _activity(layout: _Layout, mask: Array | None) -> Array | None:
    """Bool [S, L, B|1, 1]: lane l runs a real step at iteration s (None: always)."""
    if not layout.stacked and mask is None:
        return None
    step = jnp.arange(layout.iterations)[:, None] - layout.delays[None, :]  # [S, L]
    active = ((step >= 0) & (step < layout.time))[..., None]
    if mask is not None:
        active = active & mask[jnp.clip(step, 0, layout.time - 1)]
    return active[..., None]


def _per_iteration(layout: _Layout, x: Array, first_lane: int = 0) -> Array:
    """[T, n, ...] time series of lanes first_lane.. -> [S, n, ...] indexed by iteration."""
    lanes = x.shape[1]
    delays = layout.delays[first_lane:first_lane + lanes]
    index = jnp.clip(jnp.arange(layout.iterations)[:, None] - delays[None, :], 0, layout.time - 1)
    return x[index, jnp.arange(lanes)[None, :]]


def _in_scale(layout: _Layout, in_scale: Array | None) -> tuple[Array | None, Array | None]:
    """Dropout scale on the inputs of lanes 1..L-1: (per-iteration [S, L-1, B, H], shared)."""
    if in_scale is None:
        return None, None
    if in_scale.shape[0] == 1:  # one mask for all steps (variational)
        return None, in_scale[0]
    return _per_iteration(layout, in_scale, first_lane=1), None


def _units(layout: _Layout, w_h: Array, w_in: Array | None) -> Array:
    """The matrices of one iteration's batched matmul: [W_h (L lanes) ; W_in (lanes 1..L-1)]."""
    if not layout.stacked:
        return w_h
    return jnp.concatenate([w_h, w_in[:, None].astype(w_h.dtype)], 0)


def _forward(math: CellMath, layout: _Layout, args: tuple, save: bool):
    x_proj, w_h, b_h, w_in, b_in, carry0, mask, in_scale = args
    lanes, gates = layout.lanes, layout.num_gates
    acc = accumulation_dtype(x_proj.dtype)
    xs = x_proj
    if layout.stacked:  # lane 0's inputs, padded to the wavefront's length
        xs = jnp.pad(xs, ((0, layout.lanes - 1), (0, 0), (0, 0), (0, 0)))
    xs = gate_blocks(xs.astype(acc), gates)  # G x [S, Lx, B, H]
    active = _activity(layout, mask)
    scale_steps, scale_shared = _in_scale(layout, in_scale)
    units = _units(layout, w_h, w_in)
    b_h_blocks = None if b_h is None else gate_blocks(b_h[:, None].astype(acc), gates)
    b_in_blocks = None if b_in is None else gate_blocks(b_in[:, None].astype(acc), gates)

    def body(carry, inputs):
        x_t, active_t, scale_t = inputs
        h = carry[0]
        lhs = h
        if layout.stacked:
            below = h[:-1]
            scale = scale_t if scale_t is not None else scale_shared
            lhs = jnp.concatenate([h, below if scale is None else below * scale], 0)
        out = lane_matmul(lhs, units, gates)
        r = gate_blocks(out[:lanes], gates)
        if b_h_blocks is not None:
            r = tuple(a + b for a, b in zip(r, b_h_blocks, strict=True))
        x = x_t
        if layout.stacked:
            x_in = gate_blocks(out[lanes:], gates)
            x = tuple(jnp.concatenate([x0, xi + bi], 0)
                      for x0, xi, bi in zip(x_t, x_in, b_in_blocks, strict=True))
        new, saved = math.forward(x, r, carry)
        if active_t is not None:
            new = tuple(jnp.where(active_t, n, o) for n, o in zip(new, carry, strict=True))
        if save:
            return new, (new, saved)
        return new, (new[0][-1:] if layout.stacked else new[0])

    final, per_step = jax.lax.scan(body, tuple(c.astype(acc) for c in carry0),
                                   (xs, active, scale_steps))
    carries = per_step[0] if save else None
    y = carries[0] if save else per_step  # [S, L or 1, B, H]
    if layout.stacked:
        y = y[lanes - 1:, -1:]
        active_y = None if active is None else active[lanes - 1:, -1:]
    else:
        active_y = active
    if active_y is not None:
        y = jnp.where(active_y, y, 0.0)
    ys = y.astype(x_proj.dtype)
    residuals = (carries, per_step[1], active, scale_steps, scale_shared, units) if save else None
    return (ys, final), residuals


@partial(jax.custom_vjp, nondiff_argnums=(0, 1))
def _lanes(math, layout, x_proj, w_h, b_h, w_in, b_in, carry0, mask, in_scale):
    return _forward(math, layout, (x_proj, w_h, b_h, w_in, b_in, carry0, mask, in_scale),
                    save=False)[0]


def _lanes_fwd(math, layout, x_proj, w_h, b_h, w_in, b_in, carry0, mask, in_scale):
    args = (x_proj, w_h, b_h, w_in, b_in, carry0, mask, in_scale)
    out, residuals = _forward(math, layout, args, save=True)
    return out, (args, residuals)


def _lanes_bwd(math, layout, res, cotangents):
    (x_proj, w_h, b_h, w_in, b_in, carry0, _, _), residuals = res
    carries, saved, active, scale_steps, scale_shared, units = residuals
    d_ys, d_final = cotangents
    lanes, gates, heads = layout.lanes, layout.num_gates, layout.num_heads
    acc = accumulation_dtype(x_proj.dtype)
    carry0 = tuple(c.astype(acc) for c in carry0)
    previous = tuple(jnp.concatenate([c0[None], c[:-1]], 0) for c0, c in zip(carry0, carries,
                                                                              strict=True))
    d_y = d_ys.astype(acc)  # [T, Ly, B, H]
    if layout.stacked:
        d_y = jnp.pad(d_y, ((lanes - 1, 0), (0, 0), (0, 0), (0, 0)))
        active_y = None if active is None else active[:, -1:]
    else:
        active_y = active
    if active_y is not None:
        d_y = jnp.where(active_y, d_y, 0.0)
    units_t = jnp.swapaxes(units, -1, -2)

    def body(d_carry, inputs):
        d_state, pending = d_carry
        saved_t, previous_t, d_y_t, active_t, scale_t = inputs
        injected = jnp.concatenate([pending, d_y_t], 0) if layout.stacked else d_y_t
        d_new = (d_state[0] + injected, *d_state[1:])
        d_x, d_r, d_through = math.backward(saved_t, previous_t, d_new)
        if active_t is not None:
            d_x = tuple(jnp.where(active_t, d, 0.0) for d in d_x)
            d_r = None if d_r is None else tuple(jnp.where(active_t, d, 0.0) for d in d_r)
        d_x_cat = jnp.concatenate(d_x, -1)
        d_r_cat = d_x_cat if d_r is None else jnp.concatenate(d_r, -1)
        lhs = jnp.concatenate([d_r_cat, d_x_cat[1:]], 0) if layout.stacked else d_r_cat
        out = lane_matmul_transposed(lhs, units_t, gates)
        d_h = out[:lanes] if d_through[0] is None else out[:lanes] + d_through[0]
        d_prev = (d_h, *d_through[1:])
        if active_t is not None:
            d_prev = tuple(jnp.where(active_t, p, n) for p, n in zip(d_prev, d_new, strict=True))
        new_pending = pending
        if layout.stacked:
            scale = scale_t if scale_t is not None else scale_shared
            new_pending = out[lanes:] if scale is None else out[lanes:] * scale
        return (d_prev, new_pending), (d_x_cat, None if d_r is None else d_r_cat)

    batch, hidden = carry0[0].shape[1:]
    pending0 = jnp.zeros((lanes - 1, batch, hidden), acc) if layout.stacked else None
    d_state0 = tuple(d.astype(acc) for d in d_final)
    (d_carry0, _), (d_x_all, d_r_all) = jax.lax.scan(
        body, (d_state0, pending0), (saved, previous, d_y, active, scale_steps), reverse=True)
    d_r_all = d_x_all if d_r_all is None else d_r_all  # [S, L, B, G*H]

    h_prev = previous[0]
    d_w_h = lane_weight_gradient(h_prev, d_r_all, heads, gates).astype(w_h.dtype)
    d_b_h = None if b_h is None else d_r_all.sum((0, 2)).astype(b_h.dtype)
    d_w_in = d_b_in = None
    if layout.stacked:
        below = h_prev[:, :-1]
        scale = scale_steps if scale_steps is not None else scale_shared
        if scale is not None:
            below = below * scale
        d_x_upper = d_x_all[:, 1:]
        d_w_in = lane_weight_gradient(below, d_x_upper, 1, gates)[:, 0].astype(w_in.dtype)
        d_b_in = d_x_upper.sum((0, 2)).astype(b_in.dtype)
        d_x_proj = d_x_all[: layout.time, :1]
    else:
        d_x_proj = d_x_all
    d_x_proj = d_x_proj.astype(x_proj.dtype)
    d_carry0 = tuple(d.astype(c.dtype) for d, c in zip(d_carry0, carry0, strict=True))
    return d_x_proj, d_w_h, d_b_h, d_w_in, d_b_in, d_carry0, None, None


_lanes.defvjp(_lanes_fwd, _lanes_bwd)


def lanes_recurrence(math: CellMath, x_proj: Array, w_h: Array, carry0: Blocks, *,
                     mask: Array | None = None, b_h: Array | None = None,
                     w_in: Array | None = None, b_in: Array | None = None,
                     in_scale: Array | None = None) -> tuple[Array, Blocks]:
    """Run L lanes of one cell kind in one scan; see the module docstring. Time-major.

    x_proj [T, Lx, B, G*H]: hoisted inputs x W_x + b of every lane (parallel), or of lane 0 only
        (stacked: Lx = 1)
    w_h [L, K, D, G*D]: recurrent matrices, block-diagonal over K heads (dense: K = 1)
    carry0: tuple of [L, B, H] float arrays (LSTM (h, c), GRU/Elman (h,))
    mask: bool [T, B] or None: False freezes the carry and zeroes the output (past a length)
    b_h [L, G*H] or None: recurrent bias inside r_t
    stacked (w_in given): w_in [L-1, H, G*H] and b_in [L-1, G*H] project layer l-1's output for
        layer l; in_scale [T or 1, L-1, B, H] or None multiplies that output first (dropout).
    Returns (ys [T, Ly, B, H] in x_proj's dtype: every lane's outputs, or the top layer's when
    stacked; final carries, tuple of [L, B, H]).
    """
    stacked = w_in is not None
    lanes = w_h.shape[0]
    layout = _Layout(lanes=lanes, time=x_proj.shape[0], stacked=stacked,
                     num_gates=math.num_gates, num_heads=w_h.shape[1])
    if stacked and layout.num_heads != 1:
        raise ValueError("lanes_recurrence: w_h must be dense (K = 1) for a stacked wavefront, "
                         f"got {layout.num_heads} heads")
    return _lanes(math, layout, x_proj, w_h, b_h, w_in, b_in, tuple(carry0), mask, in_scale)
