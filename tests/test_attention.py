"""Attention over a padded memory: padding never changes the result."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from rnnjax.attention import Attention, memory_mask


@pytest.mark.parametrize("kind", ["additive", "dot", "general"])
def test_padded_memory_equals_unpadded(kind):
    rng = np.random.default_rng(0)
    attention = Attention(kind, 6, 6, rngs=nnx.Rngs(0), attention_size=5)
    memory = jnp.asarray(rng.standard_normal((2, 4, 6)), jnp.float32)
    query = jnp.asarray(rng.standard_normal((2, 3, 6)), jnp.float32)  # three queries at once
    lengths = jnp.asarray([4, 2])
    padded = jnp.concatenate([memory, jnp.asarray(9.0 * rng.standard_normal((2, 5, 6)),
                                                  jnp.float32)], 1)
    attend = nnx.jit(lambda attention, *args: attention(*args))
    context, weights = attend(attention, query, padded, memory_mask(lengths, 9))
    assert weights.shape == (2, 3, 9)
    np.testing.assert_array_equal(weights[1, :, 2:], 0.0)
    np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-6)
    for b, n in enumerate([4, 2]):
        alone, alone_weights = attend(attention, query[b:b + 1], memory[b:b + 1, :n],
                                      jnp.ones((1, n), bool))
        np.testing.assert_allclose(context[b], alone[0], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(weights[b, :, :n], alone_weights[0], rtol=1e-5, atol=1e-6)
    # one query [B, Q]
    single, _ = attend(attention, query[:, 1], padded, memory_mask(lengths, 9))
    np.testing.assert_allclose(single, context[:, 1], rtol=1e-5, atol=1e-6)


def test_bad_kind_and_sizes_are_named():
    with pytest.raises(ValueError, match=r"Attention: kind must be one of \('additive', 'dot', "
                       r"'general'\), got 'bahdanau'"):
        Attention("bahdanau", 4, 4, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="Attention: query_size must be the memory size 8"):
        Attention("dot", 4, 8, rngs=nnx.Rngs(0))
