"""The NTM and ACT task generators: layouts of the input and target channels, determinism, the
copy/recall/parity targets recomputed from the inputs, and the bits-per-sequence cost."""

import math

import numpy as np
import pytest

from rnnjax.data.algorithmic import (
    associative_recall_task,
    bit_errors_per_sequence,
    bits_per_sequence,
    copy_task,
    parity_task,
    repeat_copy_task,
)


def rng(seed=0):
    return np.random.default_rng(seed)


def test_copy_targets_are_the_inputs_after_the_delimiter():
    batch = copy_task(rng(), 16, 1, 5)
    assert batch.inputs.shape == (16, 11, 9) and batch.targets.shape == (16, 11, 8)
    for inputs, targets, mask in zip(*batch, strict=True):
        length = int(np.argmax(inputs[:, 8]))
        assert inputs[:, 8].sum() == 1 and 1 <= length <= 5
        np.testing.assert_array_equal(targets[length + 1:2 * length + 1], inputs[:length, :8])
        np.testing.assert_array_equal(np.flatnonzero(mask), np.arange(length + 1, 2 * length + 1))
        assert not inputs[length + 1:].any() and not targets[:length + 1].any()


def test_generators_are_deterministic_and_pad_to_steps():
    first, second = copy_task(rng(3), 4, steps=50), copy_task(rng(3), 4, steps=50)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    assert first.inputs.shape[1] == 50
    assert not np.array_equal(copy_task(rng(4), 4).inputs, copy_task(rng(3), 4).inputs)


def test_repeat_copy_layout():
    batch = repeat_copy_task(rng(1), 8, 1, 3, 1, 4)
    assert batch.inputs.shape == (8, 3 * 5 + 2, 10) and batch.targets.shape[-1] == 9
    for inputs, targets, mask in zip(*batch, strict=True):
        length = int(np.argmax(inputs[:, 8]))
        repeats = round(inputs[length, 9] * 10)
        end = length + 1 + repeats * length
        np.testing.assert_array_equal(targets[length + 1:end, :8],
                                      np.tile(inputs[:length, :8], (repeats, 1)))
        assert targets[end, 8] == 1 and targets[:, 8].sum() == 1
        np.testing.assert_array_equal(np.flatnonzero(mask), np.arange(length + 1, end + 1))


def test_associative_recall_answer_is_the_item_after_the_query():
    batch = associative_recall_task(rng(2), 8, 2, 4)
    assert batch.inputs.shape == (8, 24, 8)
    for inputs, targets, mask in zip(*batch, strict=True):
        starts = np.flatnonzero(inputs[:, 6])
        items = [inputs[s + 1:s + 4, :6] for s in starts]
        first_query = np.flatnonzero(inputs[:, 7])[0]
        query = inputs[first_query + 1:first_query + 4, :6]
        index = next(i for i, item in enumerate(items[:-1]) if np.array_equal(item, query))
        scored = np.flatnonzero(mask)
        np.testing.assert_array_equal(scored, first_query + 5 + np.arange(3))
        np.testing.assert_array_equal(targets[scored], items[index + 1])


def test_parity_target_counts_the_plus_ones():
    batch = parity_task(rng(5), 64)
    assert batch.inputs.shape == (64, 1, 64) and batch.targets.shape == (64, 1, 1)
    values = batch.inputs[:, 0]
    assert set(np.unique(values)) <= {-1.0, 0.0, 1.0} and (np.abs(values).sum(1) >= 1).all()
    np.testing.assert_array_equal(batch.targets[:, 0, 0], [(v == 1).sum() % 2 for v in values])
    assert 0.2 < batch.targets.mean() < 0.8


def test_bits_per_sequence_against_the_formula():
    logits = np.array([[[2.0, -1.0], [0.5, 0.0]]], np.float32)
    targets = np.array([[[1.0, 1.0], [0.0, 1.0]]], np.float32)
    mask = np.array([[1.0, 0.0]])

    def bits(z, y):
        p = 1 / (1 + math.exp(-z))
        return -(y * math.log2(p) + (1 - y) * math.log2(1 - p))

    expected = bits(2.0, 1.0) + bits(-1.0, 1.0)
    assert float(bits_per_sequence(logits, targets, mask)) == pytest.approx(expected, rel=1e-5)
    assert float(bit_errors_per_sequence(logits, targets, mask)) == 1.0


@pytest.mark.parametrize(("call", "message"), [
    (lambda: copy_task(rng(), 2, 0, 3), "copy_task: min_length must be a positive int, got 0"),
    (lambda: copy_task(rng(), 2, 5, 3), "copy_task: max_length must be >= min_length=5, got 3"),
    (lambda: copy_task(rng(), 2, 1, 3, steps=5), "copy_task: steps must be 0 or >= 7"),
    (lambda: associative_recall_task(rng(), 2, 1, 3), "associative_recall_task: min_items"),
])
def test_bad_arguments_raise_one_line(call, message):
    with pytest.raises(ValueError, match="^" + message):
        call()
