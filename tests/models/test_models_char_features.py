"""Character-level word features: padding of characters and words changes nothing, the CNN equals
a hand computation, and the tagger's char / CRF options."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from rnnjax.data.chars import CharWords, char_vocab
from rnnjax.models import RNNTagger
from rnnjax.models.char_features import CharBiLSTM, CharCNN

SENTENCES = [["Harry", "Potter", "met", "Hermione", "Granger"], ["Yesterday", "."]]
VOCAB = char_vocab(SENTENCES)


def _batch(index, time):
    chars, lengths = CharWords(SENTENCES, VOCAB, max_word_length=12).batch(np.asarray(index), time)
    return jnp.asarray(chars), jnp.asarray(lengths)


@nnx.jit
def word_features(model: nnx.Module, chars: jax.Array, lengths: jax.Array) -> jax.Array:
    """An encoder's features compiled as one program (an eager call compiles each op apart)."""
    return model(chars, lengths)


@nnx.jit
def tag_logits(model: RNNTagger, tokens: jax.Array, lengths: jax.Array, chars: jax.Array,
               char_lengths: jax.Array) -> jax.Array:
    return model(tokens, lengths, chars=chars, char_lengths=char_lengths)


@pytest.mark.parametrize("encoder", [
    lambda: CharBiLSTM(len(VOCAB), rngs=nnx.Rngs(0), embed_size=4, hidden_size=3),
    lambda: CharCNN(len(VOCAB), rngs=nnx.Rngs(0), embed_size=4, num_filters=5)])
def test_padding_of_chars_and_words_changes_nothing(encoder):
    model = encoder()
    chars, lengths = _batch([0, 1, -1], 5)
    assert chars.shape == (3, 5, 12) and lengths[1].tolist() == [9, 1, 0, 0, 0]
    features = word_features(model, chars, lengths)
    assert features.shape == (3, 5, model.output_size)
    wide = jnp.pad(chars, ((0, 0), (0, 2), (0, 8)), constant_values=7)  # garbage padding
    wide_lengths = jnp.pad(lengths, ((0, 0), (0, 2)))
    np.testing.assert_allclose(word_features(model, wide, wide_lengths)[:, :5], features,
                               atol=1e-6)
    assert not np.asarray(features[1, 2:]).any() and not np.asarray(features[2]).any()
    for b, t in ((0, 3), (1, 0)):  # each word alone
        n = int(lengths[b, t])
        alone = word_features(model, chars[b:b + 1, t:t + 1, :n], lengths[b:b + 1, t:t + 1])
        np.testing.assert_allclose(alone[0, 0], features[b, t], rtol=1e-5, atol=1e-6)


def test_cnn_equals_a_hand_computation():
    model = CharCNN(6, rngs=nnx.Rngs(1), embed_size=2, num_filters=3, width=3)
    table = np.asarray(model.embed.embedding[...])
    kernel, bias = np.asarray(model.conv.kernel[...]), np.asarray(model.conv.bias[...])
    word = [3, 1, 4, 5]
    chars = jnp.asarray([[[*word, 2, 2]]], jnp.int32)
    out = np.asarray(model(chars, jnp.asarray([[4]], jnp.int32)))[0, 0]
    c = np.concatenate([np.zeros((1, 2)), table[word], np.zeros((1, 2))])  # zero padding
    conv = [sum(c[i + d] @ kernel[d] for d in range(3)) + bias for i in range(4)]
    np.testing.assert_allclose(out, np.max(conv, axis=0), rtol=1e-5, atol=1e-6)


def test_long_words_keep_their_last_character():
    ids = CharWords([["abcdefg"]], char_vocab([["abcdefg"]]), max_word_length=4).words[0][0]
    assert VOCAB.decode(ids) != "" and char_vocab([["abcdefg"]]).decode(ids) == "abcg"


def test_tagger_with_chars_and_crf_pads_cleanly_and_learns(char_encoder="cnn"):
    """The tagger's tags depend only on the words' capitalisation, which the word ids hide (every
    word is <unk>): the character features must carry it."""
    import optax

    rng = np.random.default_rng(0)
    words = [["".join(rng.choice(list("abcd"), 3)).capitalize() if rng.random() < 0.4 else
              "".join(rng.choice(list("abcd"), 3)) for _ in range(6)] for _ in range(16)]
    tags = jnp.asarray([[int(w[0].isupper()) for w in s] for s in words], jnp.int32)
    chars, char_lengths = map(jnp.asarray, CharWords(words, char_vocab(words)).batch(
        np.arange(16), 6))
    lengths = jnp.full(16, 6, jnp.int32)
    tokens = jnp.zeros((16, 6), jnp.int32)
    model = RNNTagger(3, 2, rngs=nnx.Rngs(0), embed_size=4, hidden_size=8, crf=True,
                      char_encoder=char_encoder, num_chars=len(char_vocab(words)),
                      char_embed_size=6, char_size=6)
    optimizer = nnx.Optimizer(model, optax.adam(0.03), wrt=nnx.Param)

    @nnx.jit
    def step(model, optimizer):
        def loss(model):
            logits = model(tokens, lengths, chars=chars, char_lengths=char_lengths)
            nll, count = model.tag_loss(logits, tags, lengths)
            return nll / count
        value, grads = nnx.value_and_grad(loss)(model)
        optimizer.update(model, grads)
        return value

    for _ in range(40):
        step(model, optimizer)
    logits = tag_logits(model, tokens, lengths, chars, char_lengths)
    decoded = nnx.jit(lambda model, logits: model.decode(logits, lengths))(model, logits)
    assert float((decoded == tags).mean()) > 0.95
    # a shorter sentence padded to 6 gets the logits it has alone
    short = tag_logits(model, tokens[:1, :3], jnp.asarray([3]), chars[:1, :3],
                       char_lengths[:1, :3])
    padded = tag_logits(model, tokens[:1], jnp.asarray([3]), chars[:1],
                        char_lengths[:1].at[:, 3:].set(0))
    np.testing.assert_allclose(padded[0, :3], short[0], rtol=1e-5, atol=1e-6)


def test_tagger_options_are_checked_and_default_is_unchanged():
    sizes = {"embed_size": 3, "hidden_size": 4}  # small: each new shape compiles its init
    with pytest.raises(ValueError, match="RNNTagger: char_encoder must be one of"):
        RNNTagger(5, 2, rngs=nnx.Rngs(0), char_encoder="rnn", **sizes)
    with pytest.raises(ValueError, match="RNNTagger: crf_scheme must be 'none' without crf"):
        RNNTagger(5, 2, rngs=nnx.Rngs(0), crf_scheme="IOB2", **sizes)
    with pytest.raises(ValueError, match="RNNTagger: chars must be given"):
        RNNTagger(5, 2, rngs=nnx.Rngs(0), char_encoder="cnn", num_chars=4, char_embed_size=6,
                  char_size=6, **sizes)(jnp.zeros((1, 2), jnp.int32), jnp.asarray([2]))
    plain = RNNTagger(5, 2, rngs=nnx.Rngs(0), **sizes)
    assert plain.chars is None and plain.crf is None
    logits = plain(jnp.ones((1, 3), jnp.int32), jnp.asarray([3]))
    np.testing.assert_array_equal(plain.decode(logits, jnp.asarray([3])), logits.argmax(-1))
    assert jax.tree.structure(nnx.state(plain, nnx.Param)) == jax.tree.structure(
        nnx.state(RNNTagger(5, 2, rngs=nnx.Rngs(1), embed_size=3, hidden_size=4), nnx.Param))
