"""SGNS: the loss formula, gensim's and word2vec.c's initialisation, and sparse updates equal
dense SGD."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from rnnjax.models.word2vec import SkipGram, make_sparse_train_step, sgns_loss


def _batch(seed: int, vocab: int, size: int, negatives: int = 3):
    rng = np.random.default_rng(seed)
    inputs = rng.integers(0, vocab, size).astype(np.int32)
    targets = rng.integers(0, vocab, (size, 1 + negatives)).astype(np.int32)
    weights = (rng.random((size, 1 + negatives)) > 0.2).astype(np.float32)
    weights[:, 0] = 1.0
    return inputs, targets, weights


def _trained_model(vocab: int = 12, dim: int = 6) -> SkipGram:
    model = SkipGram(vocab, dim, rngs=nnx.Rngs(0))
    model.output_vectors.set_value(jax.random.normal(jax.random.PRNGKey(1), (vocab, dim)) * 0.3)
    model.input_vectors.set_value(model.input_vectors[...] * 50)
    return model


def test_loss_is_negative_log_sigmoid_of_positive_and_negated_noise_scores():
    rng = np.random.default_rng(0)
    v, u = rng.normal(size=(2, 5)), rng.normal(size=(2, 3, 5))
    w = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
    sigmoid = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    expected = [-np.log(sigmoid(v[b] @ u[b, 0]))
                - sum(w[b, j] * np.log(sigmoid(-(v[b] @ u[b, j]))) for j in (1, 2))
                for b in range(2)]
    np.testing.assert_allclose(sgns_loss(jnp.asarray(v), jnp.asarray(u), jnp.asarray(w)),
                               expected, rtol=1e-5)


def test_initialisation_is_gensims_or_word2vec_cs():
    # gensim 4: U[-1/D, 1/D) (std 1/(D sqrt 3) = 0.0115 for D = 50); word2vec.c: U[-0.5/D, 0.5/D]
    for init_range, bound in ((None, 0.02), (0.5, 0.01)):
        options = {} if init_range is None else {"init_range": init_range}
        model = SkipGram(1000, 50, rngs=nnx.Rngs(0), **options)
        values = np.asarray(model.input_vectors[...])
        assert values.min() >= -bound and values.max() <= bound
        assert values.std() == pytest.approx(bound / np.sqrt(3), rel=0.02)
        np.testing.assert_array_equal(model.output_vectors[...], 0.0)
    with pytest.raises(ValueError, match="SkipGram: dim must be a positive int, got 0"):
        SkipGram(10, 0, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="SkipGram: init_range must be a number > 0, got 0"):
        SkipGram(10, 4, rngs=nnx.Rngs(0), init_range=0)


@jax.jit
@partial(jax.grad, argnums=(0, 1))
def _dense_gradient(input_vectors, output_vectors, inputs, targets, weights):
    """The gradient of the batch's summed loss w.r.t. both full matrices (one compiled program)."""
    return sgns_loss(input_vectors[inputs], output_vectors[targets], weights).sum()


def _dense_sgd(model: SkipGram, inputs, targets, weights, lr) -> tuple[np.ndarray, np.ndarray]:
    """One step of SGD with the dense gradient of the summed loss w.r.t. both full matrices."""
    grad_in, grad_out = _dense_gradient(model.input_vectors[...], model.output_vectors[...],
                                        inputs, targets, weights)
    return (np.asarray(model.input_vectors[...] - lr * grad_in),
            np.asarray(model.output_vectors[...] - lr * grad_out))


def test_sparse_update_equals_sgd_with_the_dense_gradient():
    inputs, targets, weights = _batch(0, vocab=12, size=32)  # many repeated rows
    model = _trained_model()
    want_in, want_out = _dense_sgd(model, inputs, targets, weights, 0.1)
    model.sparse_sgd_update(jnp.asarray(inputs), jnp.asarray(targets), jnp.asarray(weights), 0.1)
    np.testing.assert_allclose(model.input_vectors[...], want_in, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.output_vectors[...], want_out, rtol=1e-5, atol=1e-6)


def test_chunked_updates_equal_sequential_dense_sgd_steps_and_the_jitted_step():
    inputs, targets, weights = _batch(1, vocab=12, size=32)
    reference = _trained_model()
    for chunk in np.split(np.arange(32), 4):
        want_in, want_out = _dense_sgd(reference, inputs[chunk], targets[chunk], weights[chunk],
                                       0.05)
        reference.input_vectors.set_value(jnp.asarray(want_in))
        reference.output_vectors.set_value(jnp.asarray(want_out))
    model = _trained_model()
    before = float(model(inputs, targets, weights).mean())
    graphdef, params = nnx.split(model)
    batch = {"inputs": inputs, "targets": targets, "weights": weights}
    params, _, _, loss = make_sparse_train_step(graphdef, 8)(params, None, {}, batch, None, 0.05)
    model = nnx.merge(graphdef, params)
    np.testing.assert_allclose(model.input_vectors[...], reference.input_vectors[...],
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.output_vectors[...], reference.output_vectors[...],
                               rtol=1e-5, atol=1e-6)
    assert float(loss) < before  # each chunk's loss is measured before its own update
    with pytest.raises(ValueError, match="the batch size must be a multiple of pairs_per_update"):
        nnx.merge(graphdef, params).sparse_sgd_update(inputs, targets, weights, 0.1, 5)
