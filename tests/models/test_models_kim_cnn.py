"""KimCNN: padding invariance, the channels of rand/static/non-static/multichannel, errors."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from rnnjax.models import KimCNN, make_model

TOKENS = jnp.asarray(np.random.default_rng(0).integers(1, 20, (3, 9)), jnp.int32)
LENGTHS = jnp.array([9, 2, 5])
TABLE = np.random.default_rng(1).normal(size=(20, 6)).astype(np.float32)


def cnn(**kwargs) -> KimCNN:
    return KimCNN(20, 3, rngs=nnx.Rngs(0), **{"embed_size": 6, "feature_maps": 4, **kwargs})


@nnx.jit
def scores(model: KimCNN, tokens: jax.Array, lengths: jax.Array,
           dropout_key: jax.Array | None = None) -> jax.Array:
    """The model's logits, compiled as one program (the eager call compiles every op apart)."""
    return model(tokens, lengths, dropout_key=dropout_key)


def test_a_sentence_scores_the_same_alone_as_in_a_padded_batch():
    model = cnn(windows=(2, 5))
    logits = scores(model, TOKENS, LENGTHS)
    assert logits.shape == (3, 3) and logits.dtype == jnp.float32
    for b, n in enumerate(LENGTHS.tolist()):
        alone = scores(model, TOKENS[b:b + 1, :n], jnp.array([n]))
        np.testing.assert_allclose(logits[b], alone[0], rtol=1e-5, atol=1e-6)


def test_max_over_time_of_relu_windows_with_h_minus_1_zero_pads():
    model = cnn(windows=(3,), dropout=0.0)
    n = 2
    x = np.pad(np.asarray(model.embedding[...])[np.asarray(TOKENS[1, :n])], ((2, 2), (0, 0)))
    kernel = np.asarray(model.filters[0][...]).reshape(3, 6, 4)
    bias = np.asarray(model.biases[0][...]) + 0.5
    model.biases[0][...] = bias  # a non-zero bias
    windows = [np.maximum(np.einsum("hd,hdm->m", x[i:i + 3], kernel) + bias, 0)
               for i in range(n + 2)]
    z = np.max(windows, axis=0)
    expected = z @ np.asarray(model.out.kernel[...]) + np.asarray(model.out.bias[...])
    np.testing.assert_allclose(model(TOKENS[1:2, :n], jnp.array([n]))[0], expected, rtol=1e-5,
                               atol=1e-6)


@nnx.jit
def embedding_grads(model):
    grads = nnx.grad(lambda m: m(TOKENS, LENGTHS).sum())(model)
    return grads["embedding"].value, None if model.tuned is None else grads["tuned"].value


def test_rand_static_nonstatic_multichannel():
    rand = cnn()
    assert np.abs(np.asarray(rand.embedding[...])).max() <= 0.25  # Kim's U[-0.25, 0.25]
    static = cnn(embeddings=TABLE, freeze_embeddings=True)
    np.testing.assert_array_equal(static.embedding[...], TABLE)
    assert not np.asarray(embedding_grads(static)[0]).any()
    assert np.asarray(embedding_grads(cnn(embeddings=TABLE))[0]).any()
    frozen, tuned = embedding_grads(cnn(embeddings=TABLE, multichannel=True))
    assert not np.asarray(frozen).any() and np.asarray(tuned).any()


def test_dropout_and_make_model_and_errors():
    model = make_model({"kind": "kim_cnn", "embed_size": 6, "feature_maps": 4}, vocab_size=20,
                       num_classes=3, rngs=nnx.Rngs(0))  # cnn()'s sizes: its compiled inits
    assert isinstance(model, KimCNN)
    assert not np.allclose(scores(model, TOKENS, LENGTHS, jax.random.PRNGKey(0)),
                           scores(model, TOKENS, LENGTHS))
    with pytest.raises(ValueError, match=r"KimCNN: windows must be a non-empty sequence of "
                       r"positive ints, got \(3, 0\)"):
        cnn(windows=(3, 0))
    with pytest.raises(ValueError, match=r"freeze_embeddings and multichannel must be False "
                       r"without pretrained embeddings"):
        cnn(multichannel=True)
    with pytest.raises(ValueError, match=r"embeddings must be an array \[20, embed_size\], got "
                       r"shape \(19, 6\)"):
        cnn(embeddings=TABLE[:19])
    with pytest.raises(ValueError, match=r"KimCNN: seq_lengths must be in \[1, 9\], got values "
                       r"in \[0, 9\]"):
        model(TOKENS, jnp.array([9, 0, 5]))
