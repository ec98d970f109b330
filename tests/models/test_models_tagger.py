"""RNNTagger and the masked token loss: a padded batch equals each sentence alone, padding gets no
loss and no gradient; the country-conditioned LM and its sampling."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from rnnjax.losses import masked_cross_entropy
from rnnjax.models import RNNLM, RNNTagger, make_model
from rnnjax.models.sampling import generate

RNG = np.random.default_rng(0)
LENGTHS = jnp.array([7, 3, 5])
TOKENS = jnp.asarray(RNG.integers(1, 20, (3, 7)), jnp.int32)
TAGS = jnp.asarray(RNG.integers(0, 4, (3, 7)), jnp.int32)
PAD = jnp.arange(7)[None, :] >= LENGTHS[:, None]


def tagger(**kwargs) -> RNNTagger:
    return RNNTagger(20, 4, rngs=nnx.Rngs(0), **{"embed_size": 6, "hidden_size": 5, **kwargs})


@nnx.jit
def batch_and_each_sentence_alone(model: RNNTagger) -> tuple[jax.Array, list[jax.Array]]:
    """The tagger's logits on the padded batch and on each sentence alone (unpadded), compiled
    as one program (an eager call compiles each op apart)."""
    alone = [model(TOKENS[b:b + 1, :n], jnp.array([n]))[0] for b, n in enumerate(LENGTHS.tolist())]
    return model(TOKENS, LENGTHS), alone


@pytest.mark.parametrize(("cell", "bidirectional", "layers"), [
    ("gru", False, 1), ("lstm", True, 2)])
def test_padded_batch_equals_each_sentence_alone(cell, bidirectional, layers):
    """Each cell, direction and depth once; the bidirectional stack's second layer reads the
    first layer's padded outputs backwards from each sentence's own end."""
    model = tagger(cell=cell, bidirectional=bidirectional, num_layers=layers)
    logits, each_alone = batch_and_each_sentence_alone(model)
    assert logits.shape == (3, 7, 4) and logits.dtype == jnp.float32
    nll, count = masked_cross_entropy(logits, TAGS, LENGTHS)
    alone_nll = 0.0
    for b, (n, alone) in enumerate(zip(LENGTHS.tolist(), each_alone, strict=True)):
        np.testing.assert_allclose(logits[b, :n], alone, rtol=1e-5, atol=1e-6)
        alone_nll += optax.softmax_cross_entropy_with_integer_labels(alone, TAGS[b, :n]).sum()
    assert int(count) == int(LENGTHS.sum())
    np.testing.assert_allclose(nll, alone_nll, rtol=1e-5)


def test_padding_gets_no_loss_and_no_gradient():
    model = RNNTagger(21, 4, rngs=nnx.Rngs(0), embed_size=6, hidden_size=5, num_layers=2,
                      dropout=0.3)
    key = jax.random.PRNGKey(3)
    garbage_tokens = jnp.where(PAD, 20, TOKENS)  # token 20 occurs only in the padding
    garbage_tags = jnp.where(PAD, 3, TAGS)

    def loss(model, tokens, tags):
        nll, count = masked_cross_entropy(model(tokens, LENGTHS, dropout_key=key), tags, LENGTHS)
        return nll / count

    loss_and_grads = nnx.jit(nnx.value_and_grad(loss))
    clean = loss_and_grads(model, jnp.where(PAD, 0, TOKENS), jnp.where(PAD, 0, TAGS))
    dirty = loss_and_grads(model, garbage_tokens, garbage_tags)
    np.testing.assert_allclose(clean[0], dirty[0], rtol=1e-6)
    embedding_grad = np.asarray(dirty[1]["embed"]["embedding"].value)
    assert not embedding_grad[20].any() and embedding_grad[TOKENS[0, 0]].any()
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7),
                 jax.tree.leaves(clean[1]), jax.tree.leaves(dirty[1]))


def test_filler_rows_of_weight_zero_count_nothing():
    logits = nnx.jit(lambda model: model(TOKENS, LENGTHS))(tagger())
    nll, count = masked_cross_entropy(logits, TAGS, LENGTHS, jnp.array([1.0, 0.0, 1.0]))
    kept = masked_cross_entropy(logits[::2], TAGS[::2], LENGTHS[::2])
    np.testing.assert_allclose(nll, kept[0], rtol=1e-6)
    assert int(count) == 12


def test_make_model_builds_the_tagger_and_errors_name_arguments():
    assert isinstance(make_model({"kind": "rnn_tagger", "embed_size": 4, "hidden_size": 3},
                                 vocab_size=9, num_tags=2, rngs=nnx.Rngs(0)), RNNTagger)
    with pytest.raises(ValueError, match=r"RNNTagger: num_tags must be a positive int, got 0"):
        RNNTagger(20, 0, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match=r"masked_cross_entropy: targets must be of shape"):
        masked_cross_entropy(jnp.zeros((3, 7, 4)), TAGS[:, :5], LENGTHS)


def conditioned_lm() -> RNNLM:
    return RNNLM(12, rngs=nnx.Rngs(0), embed_size=4, hidden_size=6, num_layers=1,
                 num_conditions=3, condition_size=2)


def test_conditioned_lm_depends_on_its_condition_and_checks_it():
    model = conditioned_lm()
    tokens = TOKENS[:2, :4] % 12
    a, b = nnx.jit(lambda m: [m(tokens, condition=jnp.array(c))[0] for c in ([0, 1], [2, 1])])(
        model)
    assert not np.allclose(a[0], b[0]) and np.allclose(a[1], b[1])
    with pytest.raises(TypeError, match=r"RNNLM: condition must be integer class ids \[2\]"):
        model(tokens)
    with pytest.raises(ValueError, match=r"condition must be class ids in \[0, 3\), got values "
                       r"in \[0, 3\]"):
        model(tokens, condition=jnp.array([0, 3]))
    with pytest.raises(ValueError, match="condition must be None for an LM built with "
                       "num_conditions=0"):
        RNNLM(12, rngs=nnx.Rngs(0), embed_size=4, hidden_size=6)(tokens, condition=a[:, 0, 0])


def test_conditioned_sampling_matches_step_by_step_greedy_decoding():
    model = conditioned_lm()
    prime = np.array([[1, 5], [1, 7]], np.int32)
    condition = np.array([2, 0])
    tokens = generate(model, prime, 4, key=jax.random.PRNGKey(0), temperature=0.0,
                      condition=condition)
    # One full forward pass per token over a fixed-length buffer (one compiled program): the LM
    # is causal, so the logits at position t - 1 see only the tokens before t.
    sequence = np.pad(prime, ((0, 0), (0, 4)))
    forward = nnx.jit(lambda model, tokens: model(tokens, condition=jnp.asarray(condition))[0])
    for t in range(2, 6):
        sequence[:, t] = np.asarray(forward(model, jnp.asarray(sequence))[:, t - 1].argmax(-1))
    np.testing.assert_array_equal(tokens, sequence[:, 2:])
    with pytest.raises(ValueError, match=r"generate: condition must be integer class ids of "
                       r"shape \(2,\)"):
        generate(model, prime, 4, key=jax.random.PRNGKey(0), condition=np.array([1]))
