"""Language-model batches for truncated backpropagation through time.

The token stream is cut into ``batch_size`` contiguous streams laid side by side (the layout of
Zaremba et al.'s ``ptb_word_lm``): row ``b`` of every batch continues row ``b`` of the previous one,
so a trainer carries the recurrent state from batch to batch and resets it at the start of an epoch.
Batch ``k`` of an epoch covers steps ``[s_k, s_{k+1})`` of every stream; targets are the inputs
shifted by one step. With ``random_bptt`` the chunk lengths follow Merity et al. (2017): ``bptt``
with probability 0.95, else ``bptt / 2``, then ``max(5, int(N(that, 5)))``. They are drawn from
a generator seeded by ``(seed, epoch)``, so batch ``k`` of epoch ``e`` is the same whenever it is
asked for, which lets a trainer resume at an exact batch index.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from rnnjax.validation import check_positive_int, fail

_WHERE = "LMBatches"


def _check_index(name: str, value: object, stop: int | None = None) -> int:
    """A non-negative int, below ``stop`` when given."""
    upper = float("inf") if stop is None else stop
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not 0 <= value < upper:
        expected = "a non-negative int" if stop is None else f"an int in [0, {stop})"
        fail(_WHERE, name, expected, repr(value))
    return int(value)


class LMBatches:
    """``(inputs [B, T] int32, targets [B, T] int32)`` chunks of a token stream, by epoch and index.

    ``drop_last`` drops a final chunk that is shorter than the length drawn for it (with a fixed
    ``bptt`` this is the remainder that ``ptb_word_lm`` drops); keep it for evaluation so that every
    token is scored.
    """

    def __init__(self, ids: np.ndarray, batch_size: int, bptt: int, *, random_bptt: bool = False,
                 seed: int = 0, drop_last: bool = False):
        ids = np.asarray(ids)
        if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
            fail(_WHERE, "ids", "a 1-D integer array", f"shape {ids.shape}, dtype {ids.dtype}")
        self.batch_size = check_positive_int(_WHERE, "batch_size", batch_size)
        self.bptt = check_positive_int(_WHERE, "bptt", bptt)
        needed = self.batch_size * (self.bptt + 1)
        if needed > ids.size:
            fail(_WHERE, "batch_size * (bptt + 1)", f"at most the number of tokens ({ids.size})",
                 f"{self.batch_size} * ({self.bptt} + 1) = {needed}")
        self.random_bptt = bool(random_bptt)
        self.seed = _check_index("seed", seed)
        self.drop_last = bool(drop_last)
        stream_len = ids.size // self.batch_size
        self._data = ids[: self.batch_size * stream_len].astype(np.int32).reshape(
            self.batch_size, stream_len)
        self._steps = stream_len - 1  # the last token of a stream is only a target
        self._bounds: tuple[int, np.ndarray] | None = None

    @property
    def tokens_per_epoch(self) -> int:
        """Number of (input, target) pairs in one epoch when nothing is dropped."""
        return self.batch_size * self._steps

    def _boundaries(self, epoch: int) -> np.ndarray:
        """Chunk start steps of ``epoch`` followed by the end of the last chunk."""
        epoch = _check_index("epoch", epoch)
        if self._bounds is not None and self._bounds[0] == epoch:
            return self._bounds[1]
        if self.random_bptt:
            rng = np.random.default_rng([self.seed, epoch])
            lengths, total = [], 0
            while total < self._steps:
                base = self.bptt if rng.random() < 0.95 else self.bptt / 2
                lengths.append(max(5, int(rng.normal(base, 5))))
                total += lengths[-1]
        else:
            lengths = [self.bptt] * -(-self._steps // self.bptt)
        bounds = np.minimum(np.cumsum([0, *lengths]), self._steps)
        if self.drop_last and bounds[-1] - bounds[-2] < lengths[-1]:
            bounds = bounds[:-1]
        self._bounds = (epoch, bounds)
        return bounds

    def num_batches(self, epoch: int = 0) -> int:
        """Number of batches in ``epoch`` (depends on the epoch only with ``random_bptt``)."""
        return len(self._boundaries(epoch)) - 1

    def batch(self, epoch: int, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Batch ``index`` of ``epoch``: inputs and targets, both int32 of shape [B, T_index]."""
        bounds = self._boundaries(epoch)
        index = _check_index("index", index, len(bounds) - 1)
        start, stop = int(bounds[index]), int(bounds[index + 1])
        return self._data[:, start:stop], self._data[:, start + 1 : stop + 1]

    def iter_epoch(self, epoch: int, start: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Batches ``start, start + 1, ...`` of ``epoch`` (``start`` resumes mid-epoch)."""
        count = self.num_batches(epoch)
        start = _check_index("start", start, count + 1)
        return (self.batch(epoch, index) for index in range(start, count))
