"""Character ids of the words of tagged sentences, padded per batch to [B, T, W] with word lengths
[B, T], for the character-level word features of ``rnnjax.models.char_features``.

A word longer than ``max_word_length`` keeps its first ``max_word_length - 1`` characters and its
last one (suffixes matter most for tagging); characters unseen in training map to ``<unk>``
(id 0). W is ``padded_length(max_word_length)`` for every batch (so a jitted step compiles once
per sentence length only); padded characters and padded words are 0 with length 0.
``SplitChars`` holds the ``CharWords`` of every split of a tagging task and adds their arrays to
the split's ``PaddedBatches`` batches.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from rnnjax.data.padded import padded_length
from rnnjax.data.vocab import Vocab
from rnnjax.validation import check_positive_int, fail

_WHERE = "CharWords"


def char_vocab(sentences: Iterable[Sequence[str]], min_count: int = 1) -> Vocab:
    """The characters of the training words seen ``min_count`` times or more."""
    counts = Counter(char for words in sentences for word in words for char in word)
    return Vocab.from_counts(counts, "char", min_count=min_count)


class CharWords:
    """The character ids of every word of ``sentences`` (each a sequence of words)."""

    def __init__(self, sentences: Sequence[Sequence[str]], vocab: Vocab, *,
                 max_word_length: int = 16):
        self.max_word_length = check_positive_int(_WHERE, "max_word_length", max_word_length)
        if vocab.level != "char":
            fail(_WHERE, "vocab", "a char-level Vocab", repr(vocab))
        keep = max_word_length
        self.words = [[vocab.lookup(w if len(w) <= keep else w[:keep - 1] + w[-1]) for w in words]
                      for words in sentences]

    def __len__(self) -> int:
        return len(self.words)

    def batch(self, index: np.ndarray, time: int) -> tuple[np.ndarray, np.ndarray]:
        """(chars int32 [B, time, W], char_lengths int32 [B, time]) of the sentences at
        ``index`` (a ``PaddedBatches`` batch's "index"; -1 rows are filler, all zeros)."""
        rows = [self.words[i] if i >= 0 else [] for i in np.asarray(index).tolist()]
        if any(len(words) > time for words in rows):
            fail(_WHERE, "time", "at least the longest sentence's length",
                 f"{time} < {max(map(len, rows))}")
        lengths = np.zeros((len(rows), time), np.int32)
        for b, words in enumerate(rows):
            lengths[b, :len(words)] = [len(w) for w in words]
        chars = np.zeros((len(rows), time, padded_length(self.max_word_length)), np.int32)
        for b, words in enumerate(rows):
            for t, ids in enumerate(words):
                chars[b, t, :len(ids)] = ids
        return chars, lengths


class SplitChars:
    """The characters of the words of every split's tagged sentences ((words, tags) pairs), or
    nothing when ``vocab`` is None (a model without character features)."""

    def __init__(self, splits: Mapping[str, Sequence[tuple[Sequence[str], Sequence[str]]]],
                 vocab: Vocab | None, *, max_word_length: int = 16):
        self.char_words = None if vocab is None else {
            split: CharWords([words for words, _ in sentences], vocab,
                             max_word_length=max_word_length)
            for split, sentences in splits.items()}

    def batch(self, batch: Mapping[str, np.ndarray], split: str, fields: Iterable[str]
              ) -> dict[str, np.ndarray]:
        """``batch``'s ``fields``, with "chars" [B, T, W] and "char_lengths" [B, T] of its
        sentences (``batch["index"]`` into ``split``, T = ``batch["words"]``' length) when
        there is a character vocabulary."""
        out = {name: batch[name] for name in fields}
        if self.char_words is not None:
            out["chars"], out["char_lengths"] = self.char_words[split].batch(
                batch["index"], batch["words"].shape[1])
        return out
