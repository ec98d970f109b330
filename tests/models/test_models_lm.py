"""RNNLM and BengioLM: shapes, truncated-BPTT carries, initialisation, tying, dropout, errors."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from rnnjax.models import RNNLM, BengioLM, make_model

VOCAB = 11
TOKENS = jnp.asarray(np.random.default_rng(0).integers(0, VOCAB, (2, 7)), jnp.int32)


def lm(**kwargs) -> RNNLM:
    kwargs = {"embed_size": 8, "hidden_size": 8, "num_layers": 2, **kwargs}
    return RNNLM(VOCAB, rngs=nnx.Rngs(0), **kwargs)


@nnx.jit
def one_call_and_two_chunks(model):
    """The model on TOKENS at once, and on its first 3 then last 4 tokens with the carry passed
    on; compiled as one program (an eager call compiles each op apart)."""
    logits, carry = model(TOKENS)
    first, carry_3 = model(TOKENS[:, :3])
    second, carry_7 = model(TOKENS[:, 3:], carry_3)
    return logits, carry, first, second, carry_7


def assert_chunks_match_one_call(model):
    logits, carry, first, second, carry_7 = one_call_and_two_chunks(model)
    assert logits.shape == (2, 7, VOCAB) and logits.dtype == jnp.float32
    np.testing.assert_allclose(jnp.concatenate([first, second], 1), logits, atol=1e-5)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=1e-5), carry_7, carry)


@pytest.mark.parametrize(("cell", "impl"), [("lstm", "xla"), ("gru", "auto"),
                                            ("elman_tanh", "scan")])
def test_rnnlm_carry_continues_a_stream(cell, impl):
    assert_chunks_match_one_call(lm(cell=cell, impl=impl))


def test_bengio_carry_continues_a_stream_and_sees_only_its_window():
    model = BengioLM(VOCAB, rngs=nnx.Rngs(0), context=3, embed_size=4, hidden_size=6)
    assert_chunks_match_one_call(model)
    changed = TOKENS.at[:, 0].set((TOKENS[:, 0] + 1) % VOCAB)
    before, after = nnx.jit(lambda m: (m(TOKENS)[0], m(changed)[0]))(model)
    np.testing.assert_array_equal(before[:, 3:], after[:, 3:])  # windows without token 0
    assert not np.allclose(before[:, :3], after[:, :3])
    assert "direct" not in nnx.state(
        BengioLM(VOCAB, rngs=nnx.Rngs(0), direct=False, context=2))


def test_init_scale_bounds_every_parameter_and_drops_the_forget_bias():
    state = nnx.state(lm(init_scale=0.05))
    leaves = jax.tree.leaves(state)
    assert len(leaves) == 9  # embedding, 2 x (w_x, w_h, b), out kernel and bias
    assert all(float(jnp.abs(leaf).max()) <= 0.05 for leaf in leaves)
    default = nnx.state(lm())
    forget = default["rnn"]["layers"][0]["cell"]["b"][...][8:16]
    np.testing.assert_array_equal(forget, 1.0)  # the cells' default forget bias


def test_tied_embeddings_share_the_embedding_matrix():
    model = lm(tie_embeddings=True)
    assert sorted(nnx.state(model)) == ["embed", "out_bias", "rnn"]
    logits, hidden = nnx.jit(lambda m: (m(TOKENS)[0], m.rnn(m.embed(TOKENS))[0]))(model)
    np.testing.assert_allclose(logits, hidden @ model.embed.embedding[...].T,
                               atol=1e-5)  # out_bias starts at zero
    with pytest.raises(ValueError, match=r"RNNLM: tie_embeddings must be False when hidden_size "
                                         r"\(16\) != embed_size \(8\), got True"):
        lm(tie_embeddings=True, hidden_size=16)


@pytest.mark.parametrize("variational", [False, True])
def test_dropout_acts_only_with_a_key(variational):
    model = lm(dropout=0.5, variational=variational)
    np.testing.assert_array_equal(model(TOKENS)[0], model(TOKENS)[0])
    key_a, key_b = jax.random.split(jax.random.PRNGKey(0))
    a, b = model(TOKENS, dropout_key=key_a)[0], model(TOKENS, dropout_key=key_b)[0]
    assert not np.allclose(a, b)
    np.testing.assert_array_equal(a, model(TOKENS, dropout_key=key_a)[0])


def test_make_model_builds_each_kind():
    assert isinstance(make_model({"kind": "bengio", "context": 2}, vocab_size=VOCAB,
                                 rngs=nnx.Rngs(0)),
                      BengioLM)
    assert isinstance(make_model({"kind": "rnn", "cell": "gru", "num_layers": 1}, vocab_size=VOCAB,
                                 rngs=nnx.Rngs(0)), RNNLM)


@pytest.mark.parametrize(("build", "error", "message"), [
    (lambda: lm(cell="lstm2"), ValueError, "RNNLM: cell must be one of"),
    (lambda: lm(init_scale=-0.1), ValueError, "RNNLM: init_scale must be None or a float > 0"),
    (lambda: lm(dropout=1.0), ValueError, r"RNNLM: dropout must be a float in \[0, 1\), got 1.0"),
    (lambda: lm(embed_size=0), ValueError, "RNNLM: embed_size must be a positive int, got 0"),
    (lambda: lm()(TOKENS.astype(jnp.float32)), TypeError,
     "RNNLM: tokens must be an integer array, got float32"),
    (lambda: lm()(TOKENS[0]), ValueError, r"RNNLM: tokens must be of rank 2 \[batch, time\]"),
    (lambda: BengioLM(VOCAB, rngs=nnx.Rngs(0), context=0), ValueError,
     "BengioLM: context must be a positive int"),
    (lambda: BengioLM(VOCAB, rngs=nnx.Rngs(0), context=2)(TOKENS, jnp.zeros((2, 3), jnp.int32)),
     ValueError, "BengioLM: carry must be a carry shaped"),
    (lambda: make_model({"kind": "gpt"}, vocab_size=VOCAB, rngs=nnx.Rngs(0)), ValueError,
     "make_model: model.kind must be one of"),
    (lambda: make_model({"kind": "rnn", "context": 3}, vocab_size=VOCAB, rngs=nnx.Rngs(0)),
     ValueError, "make_model: model.context must be absent"),
])
def test_bad_arguments(build, error, message):
    with pytest.raises(error, match=message):
        build()


@pytest.mark.parametrize("cell", ["lstm", "layernorm_lstm"])
def test_small_vocabulary_projects_the_embedding_table_with_the_same_result(cell):
    model = lm(cell=cell)
    assert TOKENS.size > VOCAB  # the table path: (E W_x + b)[w_t]

    def loss(model, embedded):
        logits = model(TOKENS)[0] if not embedded else model.out(model.rnn(model.embed(TOKENS))[0])
        return jnp.sum(jnp.sin(logits))

    @nnx.jit
    def losses_and_grads(model):
        return [nnx.value_and_grad(loss)(model, embedded) for embedded in (False, True)]

    (table_loss, table_grads), (embedded_loss, embedded_grads) = losses_and_grads(model)
    np.testing.assert_allclose(table_loss, embedded_loss, rtol=1e-5)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6),
                 table_grads, embedded_grads)
