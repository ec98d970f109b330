"""PaddedBatches: padding, lengths, bucketing, determinism, filler rows, errors."""

from __future__ import annotations

import numpy as np
import pytest

from rnnjax.data.padded import PaddedBatches, padded_length


def examples(n=23, seed=0):
    rng = np.random.default_rng(seed)
    tokens = [rng.integers(1, 50, rng.integers(1, 30)).astype(np.int32) for _ in range(n)]
    return {"tokens": tokens, "label": np.arange(n, dtype=np.int32) % 3}


def test_padded_length_ladder():
    assert [padded_length(n) for n in (1, 8, 9, 12, 13, 17, 25, 33, 49, 65, 100)] == [
        8, 8, 12, 12, 16, 24, 32, 48, 64, 96, 128]


def test_every_example_appears_once_padded_with_its_length():
    data = examples()
    batches = PaddedBatches(data, 5, shuffle=True, seed=3)
    seen = []
    for batch in batches.iter_epoch(0):
        assert batch["tokens"].shape[0] == 5 and batch["tokens"].dtype == np.int32
        assert batch["tokens"].shape[1] == padded_length(batch["tokens_lengths"].max())
        for row, example in enumerate(batch["index"]):
            if example < 0:
                assert batch["weight"][row] == 0 and batch["tokens_lengths"][row] == 1
                continue
            length = len(data["tokens"][example])
            assert batch["tokens_lengths"][row] == length and batch["weight"][row] == 1
            np.testing.assert_array_equal(batch["tokens"][row, :length], data["tokens"][example])
            assert not batch["tokens"][row, length:].any()
            assert batch["label"][row] == data["label"][example]
            seen.append(example)
    assert sorted(seen) == list(range(23))


def test_batches_are_deterministic_per_epoch_and_bucketed_by_length():
    data = examples(200)
    a, b = (PaddedBatches(data, 10, shuffle=True, seed=1) for _ in range(2))
    np.testing.assert_array_equal(a.batch(2, 7)["index"], b.batch(2, 7)["index"])
    assert not np.array_equal(a.batch(1, 0)["index"], a.batch(2, 0)["index"])
    spread = [np.ptp(batch["tokens_lengths"]) for batch in a.iter_epoch(0)]
    assert np.mean(spread) < 5  # random batches of lengths 1..29 spread ~25


def test_in_order_without_shuffle_and_drop_last():
    data = examples(23)
    batches = PaddedBatches(data, 5, shuffle=False)
    assert np.concatenate([b["index"] for b in batches.iter_epoch()]).tolist()[:23] == list(
        range(23))
    assert PaddedBatches(data, 5, shuffle=True, drop_last=True).num_batches() == 4


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"examples": {}}, "examples must be a mapping with at least one field"),
    ({"examples": {"a": [np.ones(2, np.int32)], "b": np.zeros(2)}},
     "examples must be non-empty fields of one length"),
    ({"examples": {"a": [np.ones(2, np.int32), np.array([], np.int32)]}},
     r"examples\['a'\]\[1\] must be a non-empty 1-D integer array"),
    ({"batch_size": 0}, "batch_size must be a positive int"),
    ({"sort_key": "label"}, r"sort_key must be one of the sequence fields \('tokens',\)"),
])
def test_errors(kwargs, message):
    args = {"examples": examples(), "batch_size": 4, **kwargs}
    with pytest.raises(ValueError, match=f"PaddedBatches: {message}"):
        PaddedBatches(args.pop("examples"), args.pop("batch_size"), shuffle=True, **args)
    with pytest.raises(ValueError, match=r"index must be an int in \[0, 6\)"):
        PaddedBatches(examples(), 4, shuffle=False).batch(0, 6)
