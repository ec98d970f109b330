"""Token-level losses over padded sequences.

For logits z [B, T, C], targets y [B, T], lengths n [B] and example weights w [B] (0 for the
filler rows of ``rnnjax.data.padded.PaddedBatches``):

    mask[b, t]  = w_b * [t < n_b]
    NLL sum     = sum_{b,t} mask[b, t] * (logsumexp(z[b, t]) - z[b, t, y[b, t]])
    token count = sum_{b,t} mask[b, t]

The mean token NLL is their ratio. Positions past a length get no loss and no gradient, whatever
the padding holds.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from rnnjax.validation import check_float_array, fail

Array = jax.Array


def sequence_mask(lengths: Array, time: int, weight: Array | None = None) -> Array:
    """float32 [B, T]: w_b where t < lengths[b], else 0 (w = 1 without ``weight``)."""
    mask = (jnp.arange(time)[None, :] < lengths[:, None]).astype(jnp.float32)
    return mask if weight is None else mask * weight[:, None].astype(jnp.float32)


def masked_cross_entropy(logits: Array, targets: Array, lengths: Array,
                         weight: Array | None = None) -> tuple[Array, Array]:
    """(NLL summed over the unmasked tokens, their number); see the module docstring."""
    where = "masked_cross_entropy"
    check_float_array(where, "logits", logits, 3)
    if tuple(targets.shape) != tuple(logits.shape[:2]):
        fail(where, "targets", f"of shape {tuple(logits.shape[:2])} (logits' [B, T])",
             f"shape {tuple(targets.shape)}")
    if tuple(lengths.shape) != (logits.shape[0],):
        fail(where, "lengths", f"of shape ({logits.shape[0]},)", f"shape {tuple(lengths.shape)}")
    mask = sequence_mask(lengths, logits.shape[1], weight)
    nll = optax.softmax_cross_entropy_with_integer_labels(logits.astype(jnp.float32), targets)
    return jnp.sum(jnp.where(mask > 0, nll, 0.0) * mask), jnp.sum(mask)
