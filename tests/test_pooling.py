"""Masked pooling over time."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rnnjax.pooling import pool

Y = jax.random.normal(jax.random.PRNGKey(0), (3, 5, 4))
LENGTHS = jnp.array([5, 2, 3])


def test_each_pooling_equals_the_unpadded_computation():
    for b, n in enumerate(LENGTHS.tolist()):
        valid = np.asarray(Y[b, :n])
        np.testing.assert_allclose(pool(Y, LENGTHS, "last")[b], valid[-1])
        np.testing.assert_allclose(pool(Y, LENGTHS, "max")[b], valid.max(0))
        np.testing.assert_allclose(pool(Y, LENGTHS, "mean")[b], valid.mean(0), rtol=1e-6)
        both = pool(Y, LENGTHS, "last", backward_size=1)[b]
        np.testing.assert_allclose(both, np.concatenate([valid[-1, :3], valid[0, 3:]]))


@pytest.mark.parametrize("how", ["last", "max", "mean"])
def test_padding_gets_no_gradient_even_when_it_is_nan(how):
    poisoned = jnp.where(jnp.arange(5)[None, :, None] < LENGTHS[:, None, None], Y, jnp.nan)
    grad = jax.grad(lambda y: pool(y, LENGTHS, how).sum())(poisoned)
    assert np.isfinite(np.asarray(pool(poisoned, LENGTHS, how))).all()
    mask = np.arange(5)[None, :] >= np.asarray(LENGTHS)[:, None]
    np.testing.assert_array_equal(np.asarray(grad)[mask], 0.0)


@pytest.mark.parametrize(("args", "message"), [
    ((Y, LENGTHS, "median"), r"pool: how must be one of \('last', 'max', 'mean'\)"),
    ((Y[0], LENGTHS, "max"), "pool: y must be of rank 3"),
    ((Y, LENGTHS + 3, "max"), r"pool: seq_lengths must be in \[1, 5\]"),
])
def test_errors(args, message):
    with pytest.raises(ValueError, match=message):
        pool(*args)
    with pytest.raises(ValueError, match=r"backward_size must be an int in \[0, 4\]"):
        pool(Y, LENGTHS, "last", backward_size=5)
