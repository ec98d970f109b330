"""Synthetic algorithmic tasks: the NTM tasks (Graves, Wayne & Danihelka 2014, section 4) and
the parity task of Adaptive Computation Time (Graves 2016, section 3.1).

Each generator draws a batch from a ``numpy.random.Generator`` (so ``default_rng((seed, epoch,
index))`` gives the same batch whenever asked) and returns an ``AlgorithmicBatch`` of float32
arrays, padded at the end to a fixed number of steps (one compiled program for every batch):
``inputs`` [B, T, I], ``targets`` [B, T, O] (binary) and ``mask`` [B, T], 1 at the steps whose
targets are scored. A network reads the inputs step by step; padding comes after every scored
step, so a causal network needs no lengths.

The metric of the NTM paper's figures is the cost in bits per sequence,

    cost = (1/B) sum_b sum_t mask[b, t] sum_o -[y log2 p + (1 - y) log2 (1 - p)],

p = sigmoid(logit): :func:`bits_per_sequence`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from rnnjax.validation import check_positive_int, fail

#: bits per vector of the copy and repeat-copy tasks
COPY_WIDTH = 8
#: bits per vector of associative recall, and vectors per item
RECALL_WIDTH, RECALL_ITEM_LENGTH = 6, 3
#: elements of a parity input vector
PARITY_SIZE = 64


class AlgorithmicBatch(NamedTuple):
    inputs: np.ndarray  # [B, T, I]
    targets: np.ndarray  # [B, T, O], 0/1
    mask: np.ndarray  # [B, T], 1 where the targets are scored


def _check_range(where: str, name: str, low: int, high: int) -> tuple[int, int]:
    low = check_positive_int(where, f"min_{name}", low)
    high = check_positive_int(where, f"max_{name}", high)
    if high < low:
        fail(where, f"max_{name}", f">= min_{name}={low}", high)
    return low, high


def _check_pad(where: str, steps: int, longest: int) -> int:
    """``steps`` (0: the longest sequence ``longest``), at least ``longest``."""
    if steps == 0:
        return longest
    if check_positive_int(where, "steps", steps) < longest:
        fail(where, "steps", f"0 or >= {longest} (the longest sequence)", steps)
    return steps


def _bits(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.integers(0, 2, size=shape).astype(np.float32)


def copy_task(rng: np.random.Generator, batch_size: int, min_length: int = 1,
              max_length: int = 20, *, steps: int = 0) -> AlgorithmicBatch:
    """Copy (section 4.1): L ~ U{min_length..max_length} random 8-bit vectors, then a delimiter;
    the network must then output the L vectors again, with no further input.

    Inputs [B, T, 9]: channels 0-7 the bits (steps 0..L-1), channel 8 the delimiter (step L).
    Targets [B, T, 8]: the vectors at steps L+1 .. 2L, scored there. T = ``steps`` or
    2 max_length + 1.
    """
    where = "copy_task"
    batch_size = check_positive_int(where, "batch_size", batch_size)
    low, high = _check_range(where, "length", min_length, max_length)
    time = _check_pad(where, steps, 2 * high + 1)
    inputs = np.zeros((batch_size, time, COPY_WIDTH + 1), np.float32)
    targets = np.zeros((batch_size, time, COPY_WIDTH), np.float32)
    mask = np.zeros((batch_size, time), np.float32)
    for b, length in enumerate(rng.integers(low, high + 1, size=batch_size)):
        sequence = _bits(rng, length, COPY_WIDTH)
        inputs[b, :length, :COPY_WIDTH] = sequence
        inputs[b, length, COPY_WIDTH] = 1.0
        targets[b, length + 1:2 * length + 1] = sequence
        mask[b, length + 1:2 * length + 1] = 1.0
    return AlgorithmicBatch(inputs, targets, mask)


def repeat_copy_task(rng: np.random.Generator, batch_size: int, min_length: int = 1,
                     max_length: int = 10, min_repeats: int = 1, max_repeats: int = 10, *,
                     repeat_scale: int = 10, steps: int = 0) -> AlgorithmicBatch:
    """Repeat copy (section 4.2): L random 8-bit vectors, then the number of copies n on a channel
    of its own; the network must output the sequence n times, then an end marker.

    Inputs [B, T, 10]: bits (steps 0..L-1), delimiter on channel 8 and n / ``repeat_scale`` on
    channel 9 (both at step L; the paper normalises n, the scale is not given: 10, the largest
    training n). Targets [B, T, 9]: the n copies at steps L+1 .. L+nL on channels 0-7, the end
    marker on channel 8 at step L+nL+1; scored from step L+1 to the end marker.
    T = ``steps`` or max_length (max_repeats + 1) + 2.
    """
    where = "repeat_copy_task"
    batch_size = check_positive_int(where, "batch_size", batch_size)
    low, high = _check_range(where, "length", min_length, max_length)
    fewest, most = _check_range(where, "repeats", min_repeats, max_repeats)
    scale = check_positive_int(where, "repeat_scale", repeat_scale)
    time = _check_pad(where, steps, high * (most + 1) + 2)
    inputs = np.zeros((batch_size, time, COPY_WIDTH + 2), np.float32)
    targets = np.zeros((batch_size, time, COPY_WIDTH + 1), np.float32)
    mask = np.zeros((batch_size, time), np.float32)
    lengths = rng.integers(low, high + 1, size=batch_size)
    repeats = rng.integers(fewest, most + 1, size=batch_size)
    for b, (length, count) in enumerate(zip(lengths, repeats, strict=True)):
        sequence = _bits(rng, length, COPY_WIDTH)
        inputs[b, :length, :COPY_WIDTH] = sequence
        inputs[b, length, COPY_WIDTH:] = 1.0, count / scale
        end = length + 1 + count * length
        targets[b, length + 1:end, :COPY_WIDTH] = np.tile(sequence, (count, 1))
        targets[b, end, COPY_WIDTH] = 1.0
        mask[b, length + 1:end + 1] = 1.0
    return AlgorithmicBatch(inputs, targets, mask)


def associative_recall_task(rng: np.random.Generator, batch_size: int, min_items: int = 2,
                            max_items: int = 6, *, steps: int = 0) -> AlgorithmicBatch:
    """Associative recall (section 4.3): k items of three random 6-bit vectors, each after an
    item delimiter; then a query delimiter, a copy of one item (not the last), a query delimiter
    again; the network must output the item that followed the queried one.

    Inputs [B, T, 8]: bits on channels 0-5, the item delimiter on channel 6, the query delimiter
    on channel 7. Step layout: 4k steps of items (delimiter + 3 vectors), then query delimiter,
    query (3), query delimiter, then the 3 target steps, scored. Targets [B, T, 6].
    T = ``steps`` or 4 max_items + 8.
    """
    where = "associative_recall_task"
    batch_size = check_positive_int(where, "batch_size", batch_size)
    low, high = _check_range(where, "items", min_items, max_items)
    if low < 2:
        fail(where, "min_items", ">= 2 (the queried item must have a successor)", low)
    size = RECALL_ITEM_LENGTH
    time = _check_pad(where, steps, 4 * high + 2 * size + 2)
    inputs = np.zeros((batch_size, time, RECALL_WIDTH + 2), np.float32)
    targets = np.zeros((batch_size, time, RECALL_WIDTH), np.float32)
    mask = np.zeros((batch_size, time), np.float32)
    for b, count in enumerate(rng.integers(low, high + 1, size=batch_size)):
        items = _bits(rng, count, size, RECALL_WIDTH)
        for i, item in enumerate(items):
            inputs[b, 4 * i, RECALL_WIDTH] = 1.0
            inputs[b, 4 * i + 1:4 * i + 1 + size, :RECALL_WIDTH] = item
        query = rng.integers(0, count - 1)
        start = 4 * count
        inputs[b, start, RECALL_WIDTH + 1] = 1.0
        inputs[b, start + 1:start + 1 + size, :RECALL_WIDTH] = items[query]
        inputs[b, start + 1 + size, RECALL_WIDTH + 1] = 1.0
        answer = slice(start + 2 + size, start + 2 + 2 * size)
        targets[b, answer] = items[query + 1]
        mask[b, answer] = 1.0
    return AlgorithmicBatch(inputs, targets, mask)


def parity_task(rng: np.random.Generator, batch_size: int, size: int = PARITY_SIZE
                ) -> AlgorithmicBatch:
    """Parity (Graves 2016, section 3.1): a vector of ``size`` elements, of which a random number
    m ~ U{1..size} at random places are +1 or -1 (each with probability 1/2), the rest 0; the
    target is 1 if the number of +1 entries is odd, else 0. One step per sequence:
    inputs [B, 1, size], targets [B, 1, 1], mask ones [B, 1].
    """
    where = "parity_task"
    batch_size = check_positive_int(where, "batch_size", batch_size)
    size = check_positive_int(where, "size", size)
    inputs = np.zeros((batch_size, 1, size), np.float32)
    for b, count in enumerate(rng.integers(1, size + 1, size=batch_size)):
        places = rng.permutation(size)[:count]
        inputs[b, 0, places] = rng.choice(np.array([-1.0, 1.0], np.float32), size=count)
    targets = ((inputs == 1.0).sum(-1, keepdims=True) % 2).astype(np.float32)
    return AlgorithmicBatch(inputs, targets, np.ones((batch_size, 1), np.float32))


#: task name -> generator, as configs name them
TASKS = {"copy": copy_task, "repeat_copy": repeat_copy_task,
         "associative_recall": associative_recall_task, "parity": parity_task}


def bits_per_sequence(logits: jax.Array, targets: jax.Array, mask: jax.Array) -> jax.Array:
    """The mean over sequences of the binary cross-entropy in bits summed over the scored steps
    and output channels (the cost of the NTM paper's figures): logits, targets [B, T, O],
    mask [B, T] -> scalar."""
    nats = optax.sigmoid_binary_cross_entropy(logits, targets).sum(-1)
    return jnp.sum(nats * mask) / (math.log(2.0) * logits.shape[0])


def bit_errors_per_sequence(logits: jax.Array, targets: jax.Array, mask: jax.Array) -> jax.Array:
    """The mean over sequences of the scored output bits whose thresholded prediction
    (logit > 0) differs from the target."""
    wrong = ((logits > 0) != (targets > 0.5)).sum(-1)
    return jnp.sum(wrong * mask) / logits.shape[0]
