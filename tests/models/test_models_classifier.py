"""RNNClassifier: shapes, padding invariance, bidirectional last pooling, pretrained embeddings."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from rnnjax.models import RNNClassifier, make_model

TOKENS = jnp.asarray(np.random.default_rng(0).integers(1, 20, (3, 7)), jnp.int32)
LENGTHS = jnp.array([7, 3, 5])


def classifier(**kwargs) -> RNNClassifier:
    kwargs = {"embed_size": 6, "hidden_size": 5, **kwargs}
    return RNNClassifier(20, 4, rngs=nnx.Rngs(0), **kwargs)


@pytest.mark.parametrize("pooling", ["last", "max", "mean"])
@pytest.mark.parametrize(("cell", "bidirectional", "layers"), [
    ("lstm", False, 1), ("gru", True, 2), ("elman_tanh", True, 1)])
def test_padded_batch_equals_each_sentence_alone(pooling, cell, bidirectional, layers):
    model = classifier(pooling=pooling, cell=cell, bidirectional=bidirectional,
                       num_layers=layers)
    logits = model(TOKENS, LENGTHS)
    assert logits.shape == (3, 4) and logits.dtype == jnp.float32
    for b, n in enumerate(LENGTHS.tolist()):
        alone = model(TOKENS[b:b + 1, :n], jnp.array([n]))
        np.testing.assert_allclose(logits[b], alone[0], rtol=1e-5, atol=1e-6)


def test_bidirectional_last_is_forward_end_and_backward_start():
    model = classifier(bidirectional=True)
    x = model.embed(TOKENS)
    h, _ = model.rnn(x, seq_lengths=LENGTHS)
    forward = h[jnp.arange(3), LENGTHS - 1, :5]
    expected = model.out(jnp.concatenate([forward, h[:, 0, 5:]], -1))
    np.testing.assert_allclose(model(TOKENS, LENGTHS), expected, rtol=1e-5)


def test_pretrained_embeddings_initialise_and_freeze():
    table = np.random.default_rng(1).normal(size=(20, 8)).astype(np.float32)
    frozen = classifier(embeddings=table, freeze_embeddings=True)
    np.testing.assert_array_equal(frozen.embed.embedding[...], table)

    def loss(model):
        return model(TOKENS, LENGTHS).sum()

    assert not np.asarray(nnx.grad(loss)(frozen)["embed"]["embedding"].value).any()
    tuned = classifier(embeddings=table)
    assert np.asarray(nnx.grad(loss)(tuned)["embed"]["embedding"].value).any()


def test_dropout_key_changes_the_output_and_none_is_deterministic():
    model = classifier(dropout=0.5)
    np.testing.assert_array_equal(model(TOKENS, LENGTHS), model(TOKENS, LENGTHS))
    assert not np.allclose(model(TOKENS, LENGTHS, dropout_key=jax.random.PRNGKey(0)),
                           model(TOKENS, LENGTHS))


def test_make_model_and_errors():
    model = make_model({"kind": "rnn_classifier", "cell": "gru", "embed_size": 4,
                        "hidden_size": 3}, vocab_size=9, num_classes=2, rngs=nnx.Rngs(0))
    assert isinstance(model, RNNClassifier)
    with pytest.raises(ValueError, match=r"RNNClassifier: pooling must be one of"):
        classifier(pooling="attention")
    with pytest.raises(ValueError, match=r"RNNClassifier: embeddings must be an array \[20, "
                       r"embed_size\], got shape \(19, 8\)"):
        classifier(embeddings=np.zeros((19, 8)))
    with pytest.raises(ValueError, match=r"freeze_embeddings must be False without pretrained"):
        classifier(freeze_embeddings=True)
