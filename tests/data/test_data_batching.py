"""LMBatches: stream layout, chunk boundaries, random BPTT determinism and resumption."""

from __future__ import annotations

import numpy as np
import pytest

from rnnjax.data import LMBatches


def epoch_arrays(batches: LMBatches, epoch: int = 0) -> tuple[np.ndarray, np.ndarray]:
    inputs, targets = zip(*batches.iter_epoch(epoch), strict=True)
    return np.concatenate(inputs, axis=1), np.concatenate(targets, axis=1)


def test_streams_are_contiguous_and_targets_shift_across_chunks():
    ids = np.arange(103)
    batches = LMBatches(ids, batch_size=4, bptt=6)  # 25 tokens per stream, 24 steps
    assert batches.num_batches() == 4 and batches.tokens_per_epoch == 96
    inputs, targets = batches.batch(0, 0)
    assert inputs.shape == targets.shape == (4, 6) and inputs.dtype == np.int32
    np.testing.assert_array_equal(inputs[:, 0], [0, 25, 50, 75])
    all_inputs, all_targets = epoch_arrays(batches)
    streams = ids[:100].reshape(4, 25)
    np.testing.assert_array_equal(all_inputs, streams[:, :24])
    np.testing.assert_array_equal(all_targets, streams[:, 1:])
    assert batches.batch(0, 1)[0][0, 0] == batches.batch(0, 0)[1][0, -1]  # carried across chunks


def test_remainder_is_kept_or_dropped():
    ids = np.arange(2 * 21)  # 20 steps per stream
    kept = LMBatches(ids, 2, 6)
    assert [kept.batch(0, i)[0].shape[1] for i in range(kept.num_batches())] == [6, 6, 6, 2]
    dropped = LMBatches(ids, 2, 6, drop_last=True)
    assert dropped.num_batches() == 3 and epoch_arrays(dropped)[0].shape == (2, 18)
    exact = LMBatches(np.arange(2 * 19), 2, 6, drop_last=True)
    assert exact.num_batches() == 3


def test_random_bptt_is_a_function_of_seed_and_epoch():
    ids = np.arange(20_000)
    make = lambda seed: LMBatches(ids, 8, 35, random_bptt=True, seed=seed)  # noqa: E731
    a, b = make(0), make(0)
    lengths = [a.batch(1, i)[0].shape[1] for i in range(a.num_batches(1))]
    assert lengths == [b.batch(1, i)[0].shape[1] for i in range(b.num_batches(1))]
    assert min(lengths[:-1]) >= 5 and len(set(lengths)) > 5
    assert sum(lengths) == 20_000 // 8 - 1  # the epoch covers every step
    assert any(n < 25 for n in lengths), "about 5% of chunks draw bptt / 2"
    other_epoch = [a.batch(2, i)[0].shape[1] for i in range(a.num_batches(2))]
    other_seed = make(1)
    assert other_epoch != lengths
    assert [other_seed.batch(1, i)[0].shape[1] for i in range(other_seed.num_batches(1))] != lengths
    np.testing.assert_array_equal(epoch_arrays(a, 1)[1], epoch_arrays(make(0), 1)[1])
    dropped = LMBatches(ids, 8, 35, random_bptt=True, seed=0, drop_last=True)
    assert [dropped.batch(1, i)[0].shape[1] for i in range(dropped.num_batches(1))] == lengths[:-1]


@pytest.mark.parametrize("random_bptt", [False, True])
def test_resume_at_index_gives_the_same_batches(random_bptt):
    ids = np.random.default_rng(0).integers(0, 50, 5_000)
    batches = LMBatches(ids, 5, 20, random_bptt=random_bptt, seed=3)
    full = list(batches.iter_epoch(4))
    resumed = list(LMBatches(ids, 5, 20, random_bptt=random_bptt, seed=3).iter_epoch(4, start=7))
    assert len(resumed) == len(full) - 7
    for (x, y), (rx, ry) in zip(full[7:], resumed, strict=True):
        np.testing.assert_array_equal(x, rx)
        np.testing.assert_array_equal(y, ry)
    assert list(batches.iter_epoch(4, start=len(full))) == []


@pytest.mark.parametrize("args, kwargs, message", [
    ((np.arange(100), 10, 10), {}, r"LMBatches: batch_size \* \(bptt \+ 1\) must be at most the "
                                   r"number of tokens \(100\), got 10 \* \(10 \+ 1\) = 110"),
    ((np.arange(100).reshape(10, 10), 2, 3), {}, "LMBatches: ids must be a 1-D integer array"),
    ((np.linspace(0, 1, 100), 2, 3), {}, "ids must be a 1-D integer array, got shape"),
    ((np.arange(100), 0, 3), {}, "LMBatches: batch_size must be a positive int, got 0"),
    ((np.arange(100), 2, 2.5), {}, "LMBatches: bptt must be a positive int, got 2.5"),
    ((np.arange(100), 2, 3), {"seed": -1}, "LMBatches: seed must be a non-negative int, got -1"),
])
def test_bad_construction(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        LMBatches(*args, **kwargs)


def test_bad_epoch_and_index():
    batches = LMBatches(np.arange(100), 2, 7)  # 49 steps -> 7 batches
    with pytest.raises(ValueError, match=r"LMBatches: index must be an int in \[0, 7\), got 7"):
        batches.batch(0, 7)
    with pytest.raises(ValueError, match="LMBatches: epoch must be a non-negative int, got -1"):
        batches.num_batches(-1)
    with pytest.raises(ValueError, match=r"LMBatches: start must be an int in \[0, 8\), got 9"):
        batches.iter_epoch(0, start=9)
