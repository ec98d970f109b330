"""Skip-gram training data with negative sampling (Mikolov et al. 2013a,b), as word2vec.c makes it.

Text -> sentences of lower-cased words (``text_sentences``) -> optional phrases (``find_phrases``,
``merge_phrases``) -> a vocabulary of the words seen at least ``min_count`` times, most frequent
first (``SkipGramVocab``) -> the corpus as word ids, words below ``min_count`` dropped
(``SkipGramVocab.encode``) -> per epoch, on the host with numpy (``SkipGramBatches``):

* subsampling: a word of corpus fraction z = count / (total count of the vocabulary's words) is
  kept with probability ``min(1, (sqrt(z / t) + 1) * t / z)`` (t = ``sample``; word2vec.c and
  gensim); the dropped words are removed before windows are taken, as in word2vec.c;
* dynamic window: each kept position draws its reach b uniformly from 1..``window`` and pairs with
  the words at most b positions away in the same sentence (word2vec.c's ``window - b``);
* each (context, centre) pair trains the context word's input vector against the centre word's
  output vector (word2vec.c's skip-gram: syn0[context] . syn1neg[centre]) and ``negatives`` noise
  words drawn from the unigram distribution raised to 3/4; a noise word equal to the centre word
  is skipped (weight 0), as in word2vec.c.

Batches hold ``batch_size`` pairs in corpus order; the pairs of an epoch are a function of
(seed, epoch) and each batch's noise words of (seed, epoch, index), so any batch can be rebuilt
(exact resumes). The last batch of an epoch is completed with weight-0 rows.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from rnnjax.validation import check_choice, check_positive_int, fail

SENTENCE_UNITS = ("line", "paragraph")
# Longer sentences are cut into pieces of this many words (gensim's limit, so that gensim sees
# the same sentences in the comparisons).
MAX_SENTENCE_LENGTH = 10_000
# Words: runs of letters and digits, joined by inner apostrophes or hyphens ("don't", "x-ray").
WORD = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")
NOISE_POWER = 0.75  # negatives ~ unigram^(3/4) (Mikolov et al. 2013b)
_PAIR_CHUNK = 1 << 18  # centre positions whose window candidates are materialised at once

Sentences = list[list[str]]


def text_sentences(text: str, unit: str = "paragraph", *, lowercase: bool = True) -> Sentences:
    """The words of every line (``unit="line"``) or blank-line-separated paragraph of ``text``.

    Windows never cross a sentence; sentences longer than ``MAX_SENTENCE_LENGTH`` are cut.
    """
    check_choice("text_sentences", "unit", unit, SENTENCE_UNITS)
    blocks = text.split("\n") if unit == "line" else re.split(r"\n[ \t\r\f\v]*\n", text)
    sentences = []
    for block in blocks:
        words = WORD.findall(block.lower() if lowercase else block)
        sentences += [words[i:i + MAX_SENTENCE_LENGTH]
                      for i in range(0, len(words), MAX_SENTENCE_LENGTH)]
    return sentences


def phrase_scores(sentences: Sentences, discount: int) -> dict[tuple[str, str], float]:
    """Mikolov et al. 2013b's score of every adjacent word pair (a, b) of ``sentences``:

        score(a, b) = (count(a b) - discount) / (count(a) * count(b)) * total words

    (word2phrase.c's scaling by the number of words); pairs with a word seen fewer than
    ``discount`` times are not scored.
    """
    unigrams = Counter(word for sentence in sentences for word in sentence)
    bigrams = Counter(pair for sentence in sentences for pair in pairwise(sentence))
    total = sum(unigrams.values())
    return {(a, b): (n - discount) / (unigrams[a] * unigrams[b]) * total
            for (a, b), n in bigrams.items()
            if unigrams[a] >= discount and unigrams[b] >= discount}


def find_phrases(sentences: Sentences, discount: int, threshold: float
                 ) -> set[tuple[str, str]]:
    """The pairs whose ``phrase_scores`` exceed ``threshold``."""
    check_positive_int("find_phrases", "discount", discount)
    return {pair for pair, score in phrase_scores(sentences, discount).items() if score > threshold}


def merge_phrases(sentences: Sentences, phrases: set[tuple[str, str]], joiner: str = "_"
                  ) -> Sentences:
    """Each phrase pair joined into one token ("new_york"), greedily from the left."""
    merged = []
    for sentence in sentences:
        out, i = [], 0
        while i < len(sentence):
            if i + 1 < len(sentence) and (sentence[i], sentence[i + 1]) in phrases:
                out.append(sentence[i] + joiner + sentence[i + 1])
                i += 2
            else:
                out.append(sentence[i])
                i += 1
        merged.append(out)
    return merged


def keep_probabilities(counts: np.ndarray, sample: float) -> np.ndarray:
    """P(keep) of each word: ``min(1, (sqrt(z / t) + 1) * t / z)``, z = count / sum(counts),
    t = ``sample`` (0: keep every word)."""
    counts = np.asarray(counts, np.float64)
    if sample == 0:
        return np.ones_like(counts)
    z = counts / counts.sum()
    return np.minimum(1.0, (np.sqrt(z / sample) + 1.0) * sample / z)


def noise_distribution(counts: np.ndarray, power: float = NOISE_POWER) -> np.ndarray:
    """P(noise word) = count^power / sum(count^power)."""
    weights = np.asarray(counts, np.float64) ** power
    return weights / weights.sum()


@dataclass(frozen=True)
class AliasSampler:
    """Exact O(1) draws from a discrete distribution (Walker 1977's alias method, Vose's
    construction): draw a column j uniformly, keep it with probability ``accept[j]``, else take
    ``alias[j]``. Column j thus gives ``accept[j] / V`` to j and ``(1 - accept[j]) / V`` to
    ``alias[j]``; the construction makes these sum to ``p`` for every outcome."""

    accept: np.ndarray  # float64 [V]
    alias: np.ndarray  # int32 [V]

    @classmethod
    def build(cls, p: np.ndarray) -> AliasSampler:
        scaled = np.asarray(p, np.float64) * (len(p) / np.sum(p))
        accept, alias = np.ones(len(p)), np.arange(len(p), dtype=np.int32)
        small = [i for i, x in enumerate(scaled) if x < 1.0]
        large = [i for i, x in enumerate(scaled) if x >= 1.0]
        while small and large:
            lo, hi = small.pop(), large.pop()
            accept[lo], alias[lo] = scaled[lo], hi
            scaled[hi] -= 1.0 - scaled[lo]
            (small if scaled[hi] < 1.0 else large).append(hi)
        return cls(accept, alias)  # leftovers (rounding) keep accept 1

    def probabilities(self) -> np.ndarray:
        """The distribution the table draws from."""
        size = len(self.accept)
        return (self.accept + np.bincount(self.alias, 1.0 - self.accept, size)) / size

    def sample(self, rng: np.random.Generator, shape: Sequence[int]) -> np.ndarray:
        column = rng.integers(0, len(self.accept), shape, dtype=np.int32)
        return np.where(rng.random(shape) < self.accept[column], column, self.alias[column])


@dataclass(frozen=True)
class SkipGramVocab:
    """Words seen at least ``min_count`` times, most frequent first (ties: alphabetical)."""

    words: tuple[str, ...]
    counts: np.ndarray  # int64 [V]

    @classmethod
    def build(cls, sentences: Sentences, min_count: int, *, max_size: int | None = None,
              field: str = "min_count") -> SkipGramVocab:
        """The vocabulary of ``sentences``; ``field`` names ``min_count`` in errors."""
        min_count = check_positive_int("SkipGramVocab.build", field, min_count)
        counts = Counter(word for sentence in sentences for word in sentence)
        if not counts:
            fail("SkipGramVocab.build", "the corpus", "text with at least one word",
                 f"{len(sentences)} sentences and no word")
        ranked = sorted((w for w, n in counts.items() if n >= min_count),
                        key=lambda w: (-counts[w], w))[:max_size]
        if not ranked:
            fail("SkipGramVocab.build", field, "at most the count of the corpus's most frequent "
                 f"word ({max(counts.values())}), so that the vocabulary is not empty",
                 min_count)
        return cls(tuple(ranked), np.asarray([counts[w] for w in ranked], np.int64))

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, sentences: Sentences) -> tuple[np.ndarray, np.ndarray]:
        """(word ids int32 [N], sentence number int32 [N]) of the in-vocabulary words."""
        index = {word: i for i, word in enumerate(self.words)}
        ids, numbers = [], []
        for number, sentence in enumerate(sentences):
            known = [index[w] for w in sentence if w in index]
            ids += known
            numbers += [number] * len(known)
        return np.asarray(ids, np.int32), np.asarray(numbers, np.int32)


def skipgram_pairs(ids: np.ndarray, sentences: np.ndarray, keep: np.ndarray, window: int,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(context ids, centre ids) of one pass: subsample, then pair every kept centre with the
    kept words at most its reach b ~ U{1..window} away in its sentence, in corpus order (centre by
    centre, contexts left to right)."""
    kept = rng.random(ids.size) < keep[ids]
    ids, sentences = ids[kept], sentences[kept]
    reach = rng.integers(1, window + 1, ids.size)
    offsets = np.concatenate([np.arange(-window, 0), np.arange(1, window + 1)])
    contexts, centres = [], []
    for start in range(0, ids.size, _PAIR_CHUNK):
        centre = np.arange(start, min(start + _PAIR_CHUNK, ids.size))
        context = centre[:, None] + offsets
        valid = (np.abs(offsets) <= reach[centre, None]) & (context >= 0) & (context < ids.size)
        context = np.where(valid, context, centre[:, None])
        valid &= sentences[context] == sentences[centre, None]
        contexts.append(ids[context[valid]])
        centres.append(np.broadcast_to(ids[centre, None], valid.shape)[valid])
    return (np.concatenate(contexts).astype(np.int32, copy=False),
            np.concatenate(centres).astype(np.int32, copy=False))


class SkipGramBatches:
    """Batches of (context, centre, noise words) for skip-gram with negative sampling.

    ``batch(epoch, index)`` -> {"inputs": int32 [B] (context words: input vectors),
    "targets": int32 [B, 1 + negatives] (the centre word, then the noise words: output vectors),
    "weights": float32 [B, 1 + negatives] (0 for filler rows and for noise words equal to the
    centre word)}. The pairs of the current epoch are kept (8 bytes per pair).
    """

    def __init__(self, ids: np.ndarray, sentences: np.ndarray, counts: np.ndarray, *,
                 window: int, negatives: int, sample: float, batch_size: int, seed: int = 0):
        where = "SkipGramBatches"
        self.window = check_positive_int(where, "window", window)
        self.negatives = check_positive_int(where, "negatives", negatives)
        self.batch_size = check_positive_int(where, "batch_size", batch_size)
        if isinstance(sample, bool) or not isinstance(sample, int | float) or not (
                0 <= sample < 1):
            fail(where, "sample", "a number in [0, 1) (0: no subsampling)", repr(sample))
        if ids.shape != sentences.shape or ids.ndim != 1 or ids.size == 0:
            fail(where, "ids, sentences", "equal non-empty 1-D arrays",
                 f"shapes {ids.shape} and {sentences.shape}")
        self.ids, self.sentences, self.seed = ids, sentences, seed
        self.keep = keep_probabilities(counts, sample)
        self.noise = AliasSampler.build(noise_distribution(counts))
        self._epoch: int | None = None
        self._pairs: tuple[np.ndarray, np.ndarray] = (np.empty(0, np.int32),) * 2
        self._lock = threading.Lock()  # batches may be built by a prefetching thread

    def pairs(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        """(context ids, centre ids) of ``epoch`` (computed once per epoch)."""
        with self._lock:
            if self._epoch != epoch:
                rng = np.random.default_rng([self.seed, epoch])
                self._pairs = skipgram_pairs(self.ids, self.sentences, self.keep, self.window,
                                             rng)
                self._epoch = epoch
            return self._pairs

    def num_pairs(self, epoch: int) -> int:
        return self.pairs(epoch)[0].size

    def num_batches(self, epoch: int) -> int:
        return max(1, -(-self.num_pairs(epoch) // self.batch_size))

    def batch(self, epoch: int, index: int) -> dict[str, np.ndarray]:
        contexts, centres = self.pairs(epoch)
        if not 0 <= index < self.num_batches(epoch):
            fail("SkipGramBatches.batch", "index", f"in [0, {self.num_batches(epoch)})", index)
        size = self.batch_size
        rows = slice(index * size, (index + 1) * size)
        real = contexts[rows].size
        inputs = np.zeros(size, np.int32)
        inputs[:real] = contexts[rows]
        targets = np.zeros((size, 1 + self.negatives), np.int32)
        targets[:real, 0] = centres[rows]
        rng = np.random.default_rng([self.seed, epoch, index, 1])
        targets[:, 1:] = self.noise.sample(rng, (size, self.negatives))
        weights = np.zeros(targets.shape, np.float32)
        weights[:real, 0] = 1.0
        weights[:real, 1:] = targets[:real, 1:] != targets[:real, :1]
        return {"inputs": inputs, "targets": targets, "weights": weights}

    def iter_epoch(self, epoch: int) -> Iterator[dict[str, np.ndarray]]:
        for index in range(self.num_batches(epoch)):
            yield self.batch(epoch, index)
