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


@nnx.jit
def scores(model: RNNClassifier, tokens: jax.Array, lengths: jax.Array) -> jax.Array:
    """The model's logits, compiled as one program (an eager call compiles each op apart)."""
    return model(tokens, lengths)


@nnx.jit
def batch_and_each_sentence_alone(model: RNNClassifier) -> tuple[jax.Array, list[jax.Array]]:
    """The logits of the padded batch and of each sentence alone (unpadded), in one program."""
    alone = [model(TOKENS[b:b + 1, :n], jnp.array([n])) for b, n in enumerate(LENGTHS.tolist())]
    return model(TOKENS, LENGTHS), alone


@pytest.mark.parametrize(("pooling", "cell", "bidirectional", "layers"), [
    ("last", "gru", True, 2), ("max", "gru", True, 2), ("mean", "elman_tanh", True, 1),
    ("last", "elman_tanh", True, 1), ("max", "lstm", False, 1)])
def test_padded_batch_equals_each_sentence_alone(pooling, cell, bidirectional, layers):
    """Every pooling with a bidirectional encoder (whose backward pass must start at each
    sentence's own end), every cell / depth at least once; not the full cross product."""
    model = classifier(pooling=pooling, cell=cell, bidirectional=bidirectional,
                       num_layers=layers)
    logits, alone = batch_and_each_sentence_alone(model)
    assert logits.shape == (3, 4) and logits.dtype == jnp.float32
    for b in range(len(LENGTHS)):
        np.testing.assert_allclose(logits[b], alone[b][0], rtol=1e-5, atol=1e-6)


def test_bidirectional_last_is_forward_end_and_backward_start():
    model = classifier(bidirectional=True)

    @nnx.jit
    def logits_and_by_hand(model):
        h, _ = model.rnn(model.embed(TOKENS), seq_lengths=LENGTHS)
        forward = h[jnp.arange(3), LENGTHS - 1, :5]
        return model(TOKENS, LENGTHS), model.out(jnp.concatenate([forward, h[:, 0, 5:]], -1))

    np.testing.assert_allclose(*logits_and_by_hand(model), rtol=1e-5)


def test_pretrained_embeddings_initialise_and_freeze():
    table = np.random.default_rng(1).normal(size=(20, 8)).astype(np.float32)
    frozen = classifier(embeddings=table, freeze_embeddings=True)
    np.testing.assert_array_equal(frozen.embed.embedding[...], table)

    @nnx.jit
    def embedding_grad(model):
        return nnx.grad(lambda model: model(TOKENS, LENGTHS).sum())(model)["embed"]["embedding"]

    assert not np.asarray(embedding_grad(frozen).value).any()
    tuned = classifier(embeddings=table)
    assert np.asarray(embedding_grad(tuned).value).any()


def test_dropout_key_changes_the_output_and_none_is_deterministic():
    model = classifier(dropout=0.5)
    plain, again = scores(model, TOKENS, LENGTHS), scores(model, TOKENS, LENGTHS)
    np.testing.assert_array_equal(plain, again)
    dropped = nnx.jit(lambda m: m(TOKENS, LENGTHS, dropout_key=jax.random.PRNGKey(0)))(model)
    assert not np.allclose(dropped, plain)


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


def test_sigmoid_output_is_a_two_class_softmax_with_one_pinned_logit():
    model = RNNClassifier(20, 2, rngs=nnx.Rngs(0), embed_size=6, hidden_size=5,
                          cell="elman_tanh", output="sigmoid")
    assert model.out.kernel.shape == (5, 1)
    logits = model(TOKENS, LENGTHS)
    assert logits.shape == (3, 2) and not np.asarray(logits[:, 0]).any()
    np.testing.assert_allclose(jax.nn.softmax(logits)[:, 1], jax.nn.sigmoid(logits[:, 1]),
                               rtol=1e-6)
    with pytest.raises(ValueError, match=r"num_classes must be 2 with output='sigmoid', got 4"):
        RNNClassifier(20, 4, rngs=nnx.Rngs(0), output="sigmoid")
