"""Regularisers of recurrent networks; each takes an explicit PRNG key (None = evaluation)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

Array = jax.Array


def dropout_scale(rate: float, key: Array, shape: tuple[int, ...], dtype=jnp.float32) -> Array:
    """Inverted-dropout multipliers of ``shape``: 0 with probability ``rate``, else 1/(1-rate)."""
    keep = jax.random.bernoulli(key, 1.0 - rate, shape)
    return jnp.where(keep, 1.0 / (1.0 - rate), 0.0).astype(dtype)


def dropout(x: Array, rate: float, key: Array | None, *, locked: bool = False) -> Array:
    """Inverted dropout on x [B, T, F]; ``locked=True`` shares one mask over time.

    The locked ("variational") form is Gal & Ghahramani 2016 / Merity et al. 2017's LockedDropout:
    the mask has shape [B, 1, F].
    """
    if key is None or rate == 0.0:
        return x
    return x * dropout_scale(rate, key, dropout_shape(x.shape, locked), x.dtype)


def dropout_shape(shape: tuple[int, ...], locked: bool) -> tuple[int, ...]:
    """The mask shape of :func:`dropout` on an input of ``shape`` [B, T, ...]."""
    return (shape[0], 1, *shape[2:]) if locked else tuple(shape)


def dropconnect(params: dict[str, Array], names: tuple[str, ...], rate: float,
                key: Array | None) -> dict[str, Array]:
    """DropConnect (Wan et al. 2013) on the recurrent matrices, one mask per sequence batch.

    This is the weight-dropped LSTM of Merity et al. 2017: entries of W_h are zeroed with
    probability ``rate`` (and the rest scaled by 1/(1-rate)) once per call, shared over time.
    """
    if key is None or rate == 0.0:
        return params
    keys = dict(zip(names, jax.random.split(key, len(names)), strict=True))
    return {name: (value * dropout_scale(rate, keys[name], value.shape, value.dtype)
                   if name in keys else value)
            for name, value in params.items()}


def zoneout(previous, new, rate: float, key: Array | None):
    """Zoneout (Krueger et al. 2017) on every carry leaf.

    Training: each unit keeps its previous value with probability ``rate``;
    evaluation: the expectation, rate * previous + (1 - rate) * new.
    """
    if rate == 0.0:
        return new
    leaves, treedef = jax.tree.flatten(new)
    if key is None:
        return jax.tree.map(lambda p, n: rate * p + (1.0 - rate) * n, previous, new)
    keys = jax.tree.unflatten(treedef, list(jax.random.split(key, len(leaves))))
    return jax.tree.map(
        lambda p, n, k: jnp.where(jax.random.bernoulli(k, rate, n.shape), p, n), previous, new, keys
    )
