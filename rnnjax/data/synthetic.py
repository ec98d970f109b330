"""Synthetic long-range memory tasks, generated from a seed (the same arrays on every machine).

Adding problem (Hochreiter & Schmidhuber 1997, in the two-channel form of Le, Jaitly & Hinton
2015): x_t = (v_t, m_t) for t < T with v_t ~ U[0, 1] and a marker m_t that is 1 at exactly two
positions, one drawn uniformly in the first half [0, T/2) and one in the second half [T/2, T),
0 elsewhere; the target is y = Σ_t v_t m_t. The trivial baseline predicts E[y] = 1 and has
mean squared error Var(v_a + v_b) = 2 / 12 = 1/6 ≈ 0.167.

Copy memory (Arjovsky, Shah & Bengio 2016, as used by Chang et al. 2017): categories 0 (blank),
1..8 (symbols) and 9 (delimiter). The input (length T + 20) is 10 symbols drawn uniformly from
1..8, T - 1 blanks, the delimiter, then 10 blanks; the target is T + 10 blanks followed by the 10
symbols. The memoryless baseline (blank for T + 10 steps, then uniform over the 8 symbols) has
cross-entropy 10 ln 8 / (T + 20) per step.

Each batch is drawn from ``np.random.default_rng((seed, stream, index))``: ``stream`` separates
training batches (0, ``index`` = step) from the test set (1) and the validation set (2).
"""

from __future__ import annotations

import math

import numpy as np

from rnnjax.validation import check_positive_int, fail

COPY_SYMBOLS = 10  # symbols to remember
COPY_ALPHABET = 8  # drawn from categories 1..8
COPY_BLANK, COPY_DELIMITER = 0, 9
COPY_CLASSES = 10
STREAMS = {"train": 0, "test": 1, "valid": 2}


def rng_for(seed: int, split: str, index: int = 0) -> np.random.Generator:
    """The generator of batch ``index`` of ``split`` ("train" | "valid" | "test")."""
    return np.random.default_rng((seed, STREAMS[split], index))


def adding_problem(rng: np.random.Generator, count: int, length: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(inputs [count, T, 2] float32 (value, marker), targets [count] float32), T = ``length``
    >= 2: one marker in each half, target = the sum of the two marked values."""
    count = check_positive_int("adding_problem", "count", count)
    length = check_positive_int("adding_problem", "length", length)
    if length < 2:
        fail("adding_problem", "length", "an int >= 2 (two markers)", length)
    values = rng.uniform(0.0, 1.0, (count, length)).astype(np.float32)
    half = length // 2
    first = rng.integers(0, half, count)
    second = rng.integers(half, length, count)
    markers = np.zeros((count, length), np.float32)
    rows = np.arange(count)
    markers[rows, first] = markers[rows, second] = 1.0
    targets = values[rows, first] + values[rows, second]
    return np.stack([values, markers], -1), targets.astype(np.float32)


def adding_baseline_mse() -> float:
    """MSE of always predicting 1 (E[y]): Var(U + U') = 2/12."""
    return 2.0 / 12.0


def copy_memory(rng: np.random.Generator, count: int, blanks: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """(inputs [count, T + 20] int32, targets [count, T + 20] int32) for T = ``blanks``."""
    count = check_positive_int("copy_memory", "count", count)
    blanks = check_positive_int("copy_memory", "blanks", blanks)
    total = blanks + 2 * COPY_SYMBOLS
    symbols = rng.integers(1, COPY_ALPHABET + 1, (count, COPY_SYMBOLS)).astype(np.int32)
    inputs = np.full((count, total), COPY_BLANK, np.int32)
    inputs[:, :COPY_SYMBOLS] = symbols
    inputs[:, blanks + COPY_SYMBOLS - 1] = COPY_DELIMITER
    targets = np.full((count, total), COPY_BLANK, np.int32)
    targets[:, -COPY_SYMBOLS:] = symbols
    return inputs, targets


def copy_recall_positions(blanks: int) -> slice:
    """The positions whose targets are the remembered symbols (the last 10)."""
    return slice(blanks + COPY_SYMBOLS, blanks + 2 * COPY_SYMBOLS)


def copy_baseline_cross_entropy(blanks: int) -> float:
    """Per-step cross-entropy (nats) of the memoryless baseline: 10 ln 8 / (T + 20)."""
    return COPY_SYMBOLS * math.log(COPY_ALPHABET) / (blanks + 2 * COPY_SYMBOLS)
