"""Skip-gram data: the keep rule, the noise distribution, dynamic windows, phrases, batches."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rnnjax.data.prefetch import Prefetcher
from rnnjax.data.skipgram import (
    AliasSampler,
    SkipGramBatches,
    SkipGramVocab,
    find_phrases,
    keep_probabilities,
    merge_phrases,
    noise_distribution,
    phrase_scores,
    skipgram_pairs,
    text_sentences,
)


def test_keep_probability_is_the_lecture_formula():
    counts = np.array([5000, 1000, 50, 1])
    total, t = counts.sum(), 1e-3
    expected = [min(1.0, (math.sqrt(c / total / t) + 1) * t / (c / total)) for c in counts]
    np.testing.assert_allclose(keep_probabilities(counts, t), expected, rtol=1e-12)
    # z = 0.826 at t = 1e-3: (sqrt(826) + 1) * 1e-3 / 0.826 = 0.0360
    assert keep_probabilities(counts, t)[0] == pytest.approx(0.03600, abs=1e-4)
    np.testing.assert_array_equal(keep_probabilities(counts, 0.0), 1.0)
    assert keep_probabilities(counts, 1e-5)[0] < keep_probabilities(counts, 1e-3)[0]


def test_subsampling_keeps_each_word_at_its_rate():
    counts = np.array([20000, 5000, 500])
    ids = np.repeat(np.arange(3, dtype=np.int32), counts)
    keep = keep_probabilities(counts, 1e-2)
    # with window 1 a kept word is in 4 pairs: twice as a centre, twice as a context
    contexts, centres = skipgram_pairs(ids, np.zeros_like(ids), keep, 1, np.random.default_rng(0))
    kept = np.bincount(np.concatenate([contexts, centres]), minlength=3) / 4
    np.testing.assert_allclose(kept / counts, keep, rtol=0.08)


def test_alias_sampler_draws_unigram_to_three_quarters():
    counts = np.array([900, 400, 100, 10, 1, 1])
    p = counts ** 0.75 / (counts ** 0.75).sum()
    np.testing.assert_allclose(noise_distribution(counts), p, rtol=1e-12)
    sampler = AliasSampler.build(noise_distribution(counts))
    np.testing.assert_allclose(sampler.probabilities(), p, rtol=1e-9, atol=1e-15)
    draws = sampler.sample(np.random.default_rng(0), (400_000,))
    frequencies = np.bincount(draws, minlength=len(p)) / draws.size
    np.testing.assert_allclose(frequencies, p, atol=4 * np.sqrt(p * (1 - p) / draws.size).max())


def test_dynamic_window_pairs_distance_d_with_probability_of_reach_at_least_d():
    window, n = 4, 60_000
    ids = np.arange(n, dtype=np.int32) % 1000
    positions = np.arange(n, dtype=np.int32)  # ids carry the position: distances are readable
    contexts, centres = skipgram_pairs(positions, np.zeros(n, np.int32), np.ones(n), window,
                                       np.random.default_rng(1))
    distance = np.abs(contexts - centres)
    assert distance.min() == 1 and distance.max() == window
    for d in range(1, window + 1):
        share = np.mean(distance == d) * (np.mean(distance == d) > 0)
        expected = 2 * (window - d + 1) / window  # pairs per centre at distance d
        assert share * distance.size / n == pytest.approx(expected, rel=0.03)
    # corpus order: centre by centre, contexts from left to right
    assert np.all(np.diff(centres) >= 0)
    del ids


def test_windows_stay_inside_sentences():
    ids = np.arange(12, dtype=np.int32)
    sentences = np.repeat(np.arange(4, dtype=np.int32), 3)
    contexts, centres = skipgram_pairs(ids, sentences, np.ones(12), 5, np.random.default_rng(0))
    np.testing.assert_array_equal(sentences[contexts], sentences[centres])
    assert len(contexts) > 0


def test_text_sentences_lines_paragraphs_and_words():
    text = "The cat's x-ray, said: \"Hi\"!\nSecond line_here 42\n\n  \nNew paragraph."
    assert text_sentences(text, "line") == [["the", "cat's", "x-ray", "said", "hi"],
                                            ["second", "line", "here", "42"],
                                            ["new", "paragraph"]]
    assert text_sentences(text, "paragraph", lowercase=False) == [
        ["The", "cat's", "x-ray", "said", "Hi", "Second", "line", "here", "42"],
        ["New", "paragraph"]]
    with pytest.raises(ValueError, match="unit must be one of"):
        text_sentences(text, "page")


def test_phrase_score_is_mikolovs_and_merges_greedily():
    sentences = [["new", "york", "is", "big"]] * 6 + [["new", "ideas"], ["york", "minster"]] * 2
    scores = phrase_scores(sentences, discount=2)
    total = 6 * 4 + 2 * 4
    # count(new york) = 6, count(new) = 8, count(york) = 8
    assert scores[("new", "york")] == pytest.approx((6 - 2) / (8 * 8) * total)
    assert ("new", "ideas") in scores
    assert ("new", "ideas") not in phrase_scores(sentences, discount=3)  # "ideas": 2 < 3
    phrases = find_phrases(sentences, discount=2, threshold=1.5)
    assert ("new", "york") in phrases
    assert merge_phrases([["new", "york", "york", "is"]], {("new", "york"), ("york", "is")}) == [
        ["new_york", "york_is"]]


def test_vocab_min_count_order_and_errors():
    vocab = SkipGramVocab.build([["b", "a", "b", "c"], ["a", "b"]], min_count=2)
    assert vocab.words == ("b", "a") and vocab.counts.tolist() == [3, 2]
    ids, sentences = vocab.encode([["c", "a", "b"], ["b"]])
    assert ids.tolist() == [1, 0, 0] and sentences.tolist() == [0, 0, 1]
    with pytest.raises(ValueError, match=r"config.data.min_count must be at most the count of "
                       r"the corpus's most frequent word \(3\).*got 4"):
        SkipGramVocab.build([["b", "a", "b", "c"], ["a", "b"]], 4, field="config.data.min_count")
    with pytest.raises(ValueError, match="the corpus must be text with at least one word"):
        SkipGramVocab.build([], 1)


def test_batches_are_deterministic_padded_and_skip_noise_equal_to_the_centre():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 3, 500).astype(np.int32)  # a tiny vocabulary: collisions happen
    batches = SkipGramBatches(ids, np.zeros_like(ids), np.bincount(ids), window=3, negatives=4,
                              sample=0.0, batch_size=256, seed=7)
    count = batches.num_batches(0)
    last = batches.batch(0, count - 1)
    real = batches.num_pairs(0) - (count - 1) * 256
    assert last["targets"].shape == (256, 5) and last["weights"].dtype == np.float32
    np.testing.assert_array_equal(last["weights"][real:], 0.0)
    first = batches.batch(0, 0)
    collide = first["targets"][:, 1:] == first["targets"][:, :1]
    assert collide.any()
    np.testing.assert_array_equal(first["weights"][:, 1:], ~collide)
    np.testing.assert_array_equal(first["weights"][:, 0], 1.0)
    again = SkipGramBatches(ids, np.zeros_like(ids), np.bincount(ids), window=3, negatives=4,
                            sample=0.0, batch_size=256, seed=7)
    for key in first:
        np.testing.assert_array_equal(again.batch(0, 0)[key], first[key])
    assert not np.array_equal(batches.batch(1, 0)["targets"], first["targets"])
    with pytest.raises(ValueError, match="sample must be a number in"):
        SkipGramBatches(ids, ids, np.bincount(ids), window=3, negatives=4, sample=1.5,
                        batch_size=8)


def test_prefetcher_returns_what_make_returns_and_builds_ahead():
    made = []

    def make(epoch, index):
        made.append((epoch, index))
        return epoch * 100 + index

    prefetch = Prefetcher(make, depth=2)
    assert [prefetch.get(0, i, 4) for i in range(4)] == [0, 1, 2, 3]
    assert prefetch.get(1, 2, 4) == 102  # a jump (e.g. a resume) is served directly
    prefetch.get(1, 3, 4)
    assert sorted(made) == [(0, 0), (0, 1), (0, 2), (0, 3), (1, 2), (1, 3)]
