"""The hashed character n-gram bag: its bucket ids against a plain-Python hash of every framed
window, its feature against the mean of the table's rows, padding that changes nothing, and a
classifier that learns a bigram rule only with the bag."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from rnnjax.models import RNNClassifier
from rnnjax.models.char_ngrams import CharNgramBag, ngram_buckets


def python_buckets(chars: list[int], num_chars: int, max_order: int, buckets: int) -> list[int]:
    """The module docstring's hash (32-bit FNV-1a), one window at a time."""
    framed = [num_chars, *chars, num_chars]
    ids = []
    for order in range(1, max_order + 1):
        for start in range(len(framed) - order + 1):
            h = 2166136261
            for x in (order, *(symbol + 1 for symbol in framed[start:start + order])):
                h = ((h ^ x) * 16777619) % 2**32
            ids.append(h % buckets)
    return ids


BATCH = np.random.default_rng(1).integers(0, 50, (5, 7))
LENGTHS = np.asarray([1, 7, 3, 5, 2])


def test_bucket_ids_are_the_hash_of_every_framed_window():
    ids, valid = jax.jit(partial(ngram_buckets, num_chars=50, max_order=4, num_buckets=2**17))(
        jnp.asarray(BATCH), jnp.asarray(LENGTHS))
    for row, length in enumerate(LENGTHS):
        expected = python_buckets(BATCH[row, :length].tolist(), 50, 4, 2**17)
        assert len(expected) == sum(length + 3 - n for n in range(1, 5) if length + 3 - n > 0)
        got = np.asarray(ids[row])[np.asarray(valid[row])].tolist()
        assert sorted(got) == sorted(expected)


def test_feature_is_the_mean_row_and_padding_changes_nothing():
    bag = CharNgramBag(50, rngs=nnx.Rngs(0), max_order=3, num_buckets=1000, embed_size=4)
    table = np.asarray(bag.embed.embedding[...])
    garbage = np.where(np.arange(7) < LENGTHS[:, None], BATCH, 13)
    wide = np.pad(garbage, ((0, 0), (0, 4)), constant_values=29)
    features, wide_features = nnx.jit(lambda bag: [bag(jnp.asarray(chars), jnp.asarray(LENGTHS))
                                                   for chars in (BATCH, wide)])(bag)
    for row, length in enumerate(LENGTHS):
        rows = table[python_buckets(BATCH[row, :length].tolist(), 50, 3, 1000)]
        np.testing.assert_allclose(features[row], rows.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(wide_features, features, rtol=1e-6, atol=1e-7)


def test_errors_name_the_field():
    with pytest.raises(ValueError, match="num_buckets"):
        CharNgramBag(50, rngs=nnx.Rngs(0), num_buckets=0)
    with pytest.raises(ValueError, match="ngram_order"):
        RNNClassifier(50, 3, rngs=nnx.Rngs(0), ngram_order=-1)


def test_classifier_concatenates_the_bag_with_the_final_state():
    model = RNNClassifier(50, 3, rngs=nnx.Rngs(0), embed_size=4, hidden_size=5,
                          ngram_order=2, ngram_buckets=100, ngram_size=6)
    chars, lengths = jnp.asarray(BATCH), jnp.asarray(LENGTHS)

    @nnx.jit
    def logits_states_and_bag(model):
        h, _ = model.rnn(model.embed(chars), seq_lengths=lengths)
        return model(chars, lengths), h, model.ngrams(chars, lengths)

    logits, h, bag = logits_states_and_bag(model)
    last = np.asarray(h)[np.arange(5), LENGTHS - 1]
    joined = np.concatenate([last, np.asarray(bag)], axis=1)
    expected = joined @ np.asarray(model.out.kernel[...]) + np.asarray(model.out.bias[...])
    np.testing.assert_allclose(logits, expected, rtol=1e-4, atol=1e-5)


def bag_train_accuracy(max_order: int) -> float:
    """A linear softmax over the n-gram bag, trained on 'more "ab" than "ba"?' (strings over a b
    c d): bigram counts decide it, unigram counts cannot."""
    rng = np.random.default_rng(0)
    chars = rng.integers(0, 4, (128, 8))  # a b c d = 0 1 2 3

    def count(first, second):
        return ((chars[:, :-1] == first) & (chars[:, 1:] == second)).sum(1)

    labels = jnp.asarray((count(0, 1) > count(1, 0)).astype(np.int32))
    chars, lengths = jnp.asarray(chars), jnp.full(128, 8)

    class BagClassifier(nnx.Module):
        def __init__(self):
            self.bag = CharNgramBag(4, rngs=nnx.Rngs(0), max_order=max_order, num_buckets=512,
                                    embed_size=8)
            self.out = nnx.Linear(8, 2, rngs=nnx.Rngs(1))

        def __call__(self):
            return self.out(self.bag(chars, lengths))

    model = BagClassifier()
    optimizer = nnx.Optimizer(model, optax.adam(0.1), wrt=nnx.Param)

    @nnx.jit
    def step(model, optimizer):
        def loss(model):
            return optax.softmax_cross_entropy_with_integer_labels(model(), labels).mean()
        optimizer.update(model, nnx.grad(loss)(model))

    for _ in range(300):
        step(model, optimizer)
    return float((model().argmax(-1) == labels).mean())


def test_the_bag_learns_a_bigram_rule_that_unigrams_cannot_express():
    with jax.default_matmul_precision("float32"):
        assert bag_train_accuracy(2) >= 0.97
        assert bag_train_accuracy(1) <= 0.85
