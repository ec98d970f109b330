"""Pooling of per-step outputs over time, masked by sequence lengths.

    last:  y[b, len_b - 1]  (a bidirectional layer's backward half: y[b, 0], where that direction
           ends; pass its width as ``backward_size``)
    max:   max over t < len_b of y[b, t]          (max over time, Collobert et al. 2011; Kim 2014)
    mean:  sum over t < len_b of y[b, t] / len_b
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from rnnjax.validation import check_choice, check_float_array, check_seq_lengths, fail

Array = jax.Array
POOLINGS = ("last", "max", "mean")


def pool(y: Array, lengths: Array, how: str, *, backward_size: int = 0) -> Array:
    """y [B, T, F] and lengths [B] (values in [1, T]) -> [B, F]."""
    where = "pool"
    check_choice(where, "how", how, POOLINGS)
    check_float_array(where, "y", y, 3)
    batch, time, features = y.shape
    check_seq_lengths(where, lengths, batch, time)
    if isinstance(backward_size, bool) or not isinstance(backward_size, int) or not (
            0 <= backward_size <= features):
        fail(where, "backward_size", f"an int in [0, {features}]", repr(backward_size))
    valid = jnp.arange(time)[None, :] < lengths[:, None]  # [B, T]
    if how == "max":
        return jnp.where(valid[..., None], y, -jnp.inf).max(axis=1)
    if how == "mean":
        total = jnp.where(valid[..., None], y, 0.0).sum(axis=1)
        return total / lengths[:, None].astype(y.dtype)
    last = jnp.take_along_axis(y, (lengths - 1)[:, None, None], axis=1)[:, 0]
    if backward_size:
        last = jnp.concatenate([last[:, : features - backward_size],
                                y[:, 0, features - backward_size:]], axis=-1)
    return last
