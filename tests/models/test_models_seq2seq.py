"""Seq2Seq: teacher forcing equals the step-by-step decoder, padding is masked, skip variants,
and beam search with beam 1 is greedy decoding."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from rnnjax.models import Seq2Seq
from rnnjax.models.decoding import beam_search, greedy_decode

BOS, EOS = 2, 3
SOURCE = jnp.asarray(np.random.default_rng(0).integers(4, 30, (3, 7)), jnp.int32)
SOURCE_LENGTHS = jnp.asarray([7, 3, 5])
TARGET = jnp.asarray(np.random.default_rng(1).integers(4, 40, (3, 6)), jnp.int32).at[:, 0].set(BOS)


def model(**kwargs) -> Seq2Seq:
    sizes = {"embed_size": 8, "hidden_size": 8, **kwargs}
    return Seq2Seq(30, 40, rngs=nnx.Rngs(0), **sizes)


def nll(logits):
    return optax.softmax_cross_entropy_with_integer_labels(logits[:, :-1], TARGET[:, 1:]).mean()


CASES = [
    {},
    {"input_feeding": True},
    {"cell": "lstm", "attention": "additive", "bidirectional": "first", "encoder_layers": 3},
    {"attention": "dot", "bidirectional": "none", "decoder_skip": "dense", "decoder_layers": 3},
    {"attention": "none", "bridge": "zero", "decoder_cell": "elman_tanh"},
]


@pytest.mark.parametrize("kwargs", CASES)
def test_teacher_forced_loss_equals_the_step_by_step_decoders(kwargs):
    seq2seq = model(dropout=0.3, **kwargs)
    (logits, weights), memory = nnx.jit(lambda m: (m(SOURCE, SOURCE_LENGTHS, TARGET),
                                                   m.encode(SOURCE, SOURCE_LENGTHS)))(seq2seq)
    step = nnx.jit(lambda m, state, token: m.step(memory, state, token))
    state, steps = seq2seq.initial_state(memory), []
    for t in range(TARGET.shape[1]):
        step_logits, state, step_weights = step(seq2seq, state, TARGET[:, t])
        steps.append(step_logits)
        if weights is not None:
            np.testing.assert_allclose(step_weights, weights[:, t], rtol=1e-5, atol=1e-6)
    assert logits.shape == (3, 6, 40)
    np.testing.assert_allclose(nll(jnp.stack(steps, 1)), nll(logits), rtol=1e-6)
    np.testing.assert_allclose(jnp.stack(steps, 1), logits, rtol=1e-4, atol=1e-5)


def test_padding_the_source_changes_nothing():
    seq2seq = model(attention="additive")
    call = nnx.jit(lambda m, source, lengths, target: m(source, lengths, target))
    logits, _ = call(seq2seq, SOURCE, SOURCE_LENGTHS, TARGET)
    padded = jnp.pad(SOURCE, ((0, 0), (0, 5)), constant_values=7)
    padded_logits, padded_weights = call(seq2seq, padded, SOURCE_LENGTHS, TARGET)
    np.testing.assert_allclose(padded_logits, logits, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(padded_weights[..., 7:], 0.0)
    short, _ = call(seq2seq, SOURCE[1:2, :3], SOURCE_LENGTHS[1:2], TARGET[1:2])
    np.testing.assert_allclose(short[0], logits[1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("skip", ["none", "residual", "dense"])
def test_skip_variants_shapes_and_gradients(skip):
    seq2seq = model(encoder_layers=3, decoder_layers=3, encoder_skip=skip, decoder_skip=skip)

    @nnx.jit
    def loss_and_grads(m):
        def loss(m):
            logits, weights = m(SOURCE, SOURCE_LENGTHS, TARGET,
                                dropout_key=jax.random.PRNGKey(0))
            return nll(logits), (logits.shape, weights.shape)
        return nnx.grad(loss, has_aux=True)(m)

    grads, shapes = loss_and_grads(seq2seq)
    assert shapes == ((3, 6, 40), (3, 6, 7))
    assert all(np.isfinite(g).all() and np.abs(g).sum() > 0 for g in jax.tree.leaves(grads))


@nnx.jit
def sequence_log_probs(seq2seq: Seq2Seq, tokens: jax.Array, lengths: jax.Array) -> jax.Array:
    """log P(hypothesis | source) per sentence by teacher forcing: the sum of the log-softmax of
    each token, EOS included (index ``length``) where the sentence ended."""
    inputs = jnp.concatenate([jnp.full((tokens.shape[0], 1), BOS), tokens[:, :-1]], 1)
    logits, _ = seq2seq(SOURCE, SOURCE_LENGTHS, inputs)
    token_log_probs = jnp.take_along_axis(jax.nn.log_softmax(logits), tokens[..., None], -1)[..., 0]
    scored = jnp.arange(tokens.shape[1])[None] <= lengths[:, None]
    return jnp.where(scored, token_log_probs, 0.0).sum(1)


def test_beam_of_one_is_greedy_and_wider_beams_find_likelier_translations():
    """One model with every kind of decoder state the beams reorder: input feeding's h~ and the
    LSTM's (c, h) carries (after a GNMT encoder with additive attention)."""
    seq2seq = model(**CASES[1], **CASES[2])
    ids = {"max_length": 9, "bos_id": BOS, "eos_id": EOS}
    tokens, lengths, weights = greedy_decode(seq2seq, SOURCE, SOURCE_LENGTHS, **ids)
    beam_tokens, beam_lengths, _ = beam_search(seq2seq, SOURCE, SOURCE_LENGTHS, beam_size=1,
                                               alpha=0.0, **ids)
    np.testing.assert_array_equal(beam_tokens, tokens)
    np.testing.assert_array_equal(beam_lengths, lengths)
    assert weights.shape == (3, 9, 7)
    greedy = np.asarray(sequence_log_probs(seq2seq, tokens, lengths))
    wide_tokens, wide_lengths, scores = beam_search(seq2seq, SOURCE, SOURCE_LENGTHS, beam_size=4,
                                                    alpha=0.0, **ids)
    wide = np.asarray(sequence_log_probs(seq2seq, wide_tokens, wide_lengths))
    np.testing.assert_allclose(scores, wide, rtol=1e-5)  # alpha 0: the score is log P
    assert (wide >= greedy - 1e-5).all(), (wide, greedy)
    assert (wide > greedy + 1e-3).any(), "the wider beam found nothing likelier than greedy"


def test_beam_search_ends_sentences_at_eos():
    """A model whose output layer always prefers EOS after BOS: empty translations."""
    seq2seq = model()
    seq2seq.out.bias[...] = seq2seq.out.bias[...].at[EOS].set(50.0)
    tokens, lengths, scores = beam_search(seq2seq, SOURCE, SOURCE_LENGTHS, beam_size=3,
                                          alpha=1.0, max_length=6, bos_id=BOS, eos_id=EOS)
    np.testing.assert_array_equal(lengths, 0)
    np.testing.assert_array_equal(tokens[:, 0], EOS)
    np.testing.assert_array_equal(tokens[:, 1:], 0)
    assert (scores > -1e-3).all()


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"attention": "luong"}, "Seq2Seq: attention must be one of"),
    ({"attention": "none", "input_feeding": True}, "Seq2Seq: input_feeding must be False"),
    ({"bridge": "copy"}, "Seq2Seq: bridge must be one of"),
    ({"bidirectional": "both"}, "Seq2Seq: bidirectional must be one of"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        model(**kwargs)
