"""``Prefetcher``: a task's next host batches computed in a background thread.

The run harness asks for ``batch(epoch, index)``, dispatches the step and waits for its loss;
while it waits (XLA runs without the GIL) a worker thread builds the following batches, so numpy
batch assembly overlaps the device step. Batches stay a function of (epoch, index): the worker
computes exactly what ``make(epoch, index)`` returns, only earlier.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from rnnjax.validation import check_positive_int


class Prefetcher:
    """``get(epoch, index, count)`` = ``make(epoch, index)``, with ``make(epoch, index + 1 ..
    index + depth)`` (within the epoch's ``count`` batches) started in the background."""

    def __init__(self, make: Callable[[int, int], Any], depth: int = 2):
        self.make = make
        self.depth = check_positive_int("Prefetcher", "depth", depth)
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="prefetch")
        self._pending: dict[tuple[int, int], Future] = {}

    def get(self, epoch: int, index: int, count: int) -> Any:
        future = self._pending.pop((epoch, index), None)
        for key in [k for k in self._pending if k[0] != epoch or k[1] < index]:
            self._pending.pop(key).cancel()  # e.g. after a resume elsewhere
        for ahead in range(index + 1, min(index + 1 + self.depth, count)):
            if (epoch, ahead) not in self._pending:
                self._pending[epoch, ahead] = self._pool.submit(self.make, epoch, ahead)
        return future.result() if future is not None else self.make(epoch, index)
