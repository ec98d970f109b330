"""Padded, length-bucketed batches of variable-length examples (classification, tagging, seq2seq).

An epoch shuffles the examples (seeded by ``(seed, epoch)``), sorts them by length within pools of
``pool`` batches so that each batch holds sequences of similar length, cuts the pools into
batches and shuffles the batch order. Each batch pads its sequences with zeros to
``padded_length`` of its longest one, a short ladder of lengths (8, 12, 16, 24, 32, 48, ...), so
that a jit-compiled step sees few distinct shapes. A short last batch is completed with filler
rows of weight 0, so every batch has ``batch_size`` rows (and divides over devices).
``batch(epoch, index)`` returns the same arrays whenever asked for, which lets a trainer resume at
an exact batch index.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from rnnjax.validation import check_positive_int, fail

_WHERE = "PaddedBatches"


def padded_length(n: int) -> int:
    """The smallest of 8, 12, 16, 24, 32, 48, 64, ... (8 * 2^k and 12 * 2^k) that is >= n."""
    length = 8
    while length < n:
        length = length * 3 // 2 if length & (length - 1) == 0 else length * 4 // 3
    return length


def _is_sequence_field(values: Any) -> bool:
    return isinstance(values, list | tuple)


class PaddedBatches:
    """Batches of ``examples``: fields that are sequences of 1-D int arrays (padded per batch)
    or arrays with one row per example.

    ``batch(epoch, index)`` -> {f: int32 [B, T_f], f + "_lengths": int32 [B]} for each sequence
    field, {f: [B, ...]} for each row field, "weight": float32 [B] (0 for filler rows) and
    "index": int32 [B] (the example's position in ``examples``, -1 for filler rows).
    ``shuffle=False`` keeps the examples in order (evaluation). ``drop_last`` drops a short last
    batch instead of filling it.
    """

    def __init__(self, examples: Mapping[str, Sequence[np.ndarray] | np.ndarray], batch_size: int,
                 *, shuffle: bool, seed: int = 0, drop_last: bool = False,
                 sort_key: str | None = None, pool: int = 50):
        self.batch_size = check_positive_int(_WHERE, "batch_size", batch_size)
        self.pool = check_positive_int(_WHERE, "pool", pool)
        if not examples:
            fail(_WHERE, "examples", "a mapping with at least one field", repr(examples))
        sizes = {name: len(values) for name, values in examples.items()}
        if len(set(sizes.values())) != 1 or not next(iter(sizes.values())):
            fail(_WHERE, "examples", "non-empty fields of one length", sizes)
        self.num_examples = next(iter(sizes.values()))
        self.sequences = {name: [np.asarray(s) for s in values]
                          for name, values in examples.items() if _is_sequence_field(values)}
        self.rows = {name: np.asarray(values) for name, values in examples.items()
                     if not _is_sequence_field(values)}
        for name, values in self.sequences.items():
            bad = next((i for i, s in enumerate(values) if s.ndim != 1 or not s.size
                        or not np.issubdtype(s.dtype, np.integer)), None)
            if bad is not None:
                fail(_WHERE, f"examples[{name!r}][{bad}]", "a non-empty 1-D integer array",
                     f"shape {values[bad].shape}, dtype {values[bad].dtype}")
        self.lengths = {name: np.fromiter(map(len, values), np.int64, len(values))
                        for name, values in self.sequences.items()}
        if sort_key is None:
            sort_key = next(iter(self.sequences), None)
        if sort_key is not None and sort_key not in self.sequences:
            fail(_WHERE, "sort_key", f"one of the sequence fields {tuple(self.sequences)}",
                 repr(sort_key))
        self.sort_key = sort_key
        self.shuffle, self.seed, self.drop_last = bool(shuffle), int(seed), bool(drop_last)
        self._order: tuple[int, list[np.ndarray]] | None = None

    def _batches(self, epoch: int) -> list[np.ndarray]:
        """The example indices of every batch of ``epoch``."""
        if self._order is not None and self._order[0] == epoch:
            return self._order[1]
        n, size = self.num_examples, self.batch_size
        if self.shuffle:
            rng = np.random.default_rng([self.seed, epoch])
            order = rng.permutation(n)
            if self.sort_key is not None:
                lengths, chunk = self.lengths[self.sort_key], size * self.pool
                order = np.concatenate([
                    part[np.argsort(lengths[part], kind="stable")]
                    for part in np.array_split(order, range(chunk, n, chunk))])
            batches = np.array_split(order, range(size, n, size))
            if self.drop_last and len(batches[-1]) < size:
                batches.pop()
            batches = [batches[i] for i in rng.permutation(len(batches))]
        else:
            batches = np.array_split(np.arange(n), range(size, n, size))
            if self.drop_last and len(batches[-1]) < size:
                batches.pop()
        self._order = (epoch, batches)
        return batches

    def num_batches(self, epoch: int = 0) -> int:
        return len(self._batches(epoch))

    def batch(self, epoch: int, index: int) -> dict[str, np.ndarray]:
        """Batch ``index`` of ``epoch`` (see the class docstring for its arrays)."""
        batches = self._batches(epoch)
        if isinstance(index, bool) or not isinstance(index, int | np.integer) or not (
                0 <= index < len(batches)):
            fail(_WHERE, "index", f"an int in [0, {len(batches)})", repr(index))
        rows = batches[index]
        real, size = len(rows), self.batch_size
        out: dict[str, np.ndarray] = {}
        for name, values in self.sequences.items():
            lengths = np.ones(size, np.int32)
            lengths[:real] = self.lengths[name][rows]
            padded = np.zeros((size, padded_length(int(lengths.max()))), np.int32)
            for row, example in enumerate(rows):
                padded[row, : lengths[row]] = values[example]
            out[name], out[f"{name}_lengths"] = padded, lengths
        for name, values in self.rows.items():
            column = np.zeros((size, *values.shape[1:]), values.dtype)
            column[:real] = values[rows]
            out[name] = column
        out["weight"] = (np.arange(size) < real).astype(np.float32)
        out["index"] = np.full(size, -1, np.int32)
        out["index"][:real] = rows
        return out

    def iter_epoch(self, epoch: int = 0) -> Iterator[dict[str, np.ndarray]]:
        return (self.batch(epoch, index) for index in range(self.num_batches(epoch)))
