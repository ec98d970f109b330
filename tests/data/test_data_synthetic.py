"""Adding problem and copy memory statistics against their formulas; the IDX reader; pixel order."""

import gzip
import math

import numpy as np
import pytest

from rnnjax.data.images import parse_idx, pixel_order, pixel_sequences
from rnnjax.data.synthetic import (
    COPY_DELIMITER,
    adding_baseline_mse,
    adding_problem,
    copy_baseline_cross_entropy,
    copy_memory,
    copy_recall_positions,
    rng_for,
)


def test_adding_problem_markers_targets_and_trivial_baseline():
    inputs, targets = adding_problem(rng_for(0, "test"), 40000, 10)
    values, markers = inputs[..., 0], inputs[..., 1]
    assert np.all(markers[:, :5].sum(1) == 1) and np.all(markers[:, 5:].sum(1) == 1)
    np.testing.assert_allclose(targets, (values * markers).sum(1), rtol=1e-6)
    # always predicting 1 (E[y]) has MSE Var(U + U') = 1/6; standard error here ~0.001
    mse = float(np.mean((targets - 1.0) ** 2))
    assert adding_baseline_mse() == pytest.approx(1 / 6)
    assert mse == pytest.approx(1 / 6, abs=0.005)
    assert float(values.min()) >= 0 and float(values.max()) <= 1


def test_copy_memory_layout_and_memoryless_baseline():
    blanks = 30
    inputs, targets = copy_memory(rng_for(1, "train", 3), 5000, blanks)
    assert inputs.shape == targets.shape == (5000, blanks + 20)
    recall = copy_recall_positions(blanks)
    np.testing.assert_array_equal(targets[:, recall], inputs[:, :10])
    assert np.all(inputs[:, blanks + 9] == COPY_DELIMITER)
    assert np.all(np.delete(targets, np.arange(blanks + 10, blanks + 20), 1) == 0)
    assert np.all(inputs[:, 10:blanks + 9] == 0) and np.all(inputs[:, blanks + 10:] == 0)
    counts = np.bincount(inputs[:, :10].ravel(), minlength=10)
    assert counts[0] == counts[9] == 0
    np.testing.assert_allclose(counts[1:9] / counts.sum(), 1 / 8, atol=0.005)
    # the memoryless baseline: blank with certainty, then uniform over the 8 symbols
    probs = np.zeros((blanks + 20, 10))
    probs[:blanks + 10, 0] = 1.0
    probs[blanks + 10:, 1:9] = 1 / 8
    picked = probs[np.arange(blanks + 20)[None, :], targets]
    measured = float(np.mean(-np.log(picked)))
    assert measured == pytest.approx(copy_baseline_cross_entropy(blanks), rel=1e-9)
    assert copy_baseline_cross_entropy(blanks) == pytest.approx(10 * math.log(8) / 50)


def test_generators_are_determined_by_seed_split_and_index():
    a = adding_problem(rng_for(5, "train", 7), 4, 20)
    b = adding_problem(rng_for(5, "train", 7), 4, 20)
    c = adding_problem(rng_for(5, "train", 8), 4, 20)
    d = adding_problem(rng_for(5, "test", 7), 4, 20)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0]) and not np.array_equal(a[0], d[0])
    with pytest.raises(ValueError, match=r"adding_problem: length must be an int >= 2.*got 1"):
        adding_problem(rng_for(0, "train"), 4, 1)


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    return header + array.astype(np.uint8).tobytes()


def test_idx_reader_on_written_files(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    labels = np.array([7, 1], np.uint8)
    (tmp_path / "images.gz").write_bytes(gzip.compress(idx_bytes(images)))
    np.testing.assert_array_equal(parse_idx((tmp_path / "images.gz").read_bytes()), images)
    np.testing.assert_array_equal(parse_idx(idx_bytes(labels)), labels)
    with pytest.raises(ValueError, match="header"):
        parse_idx(b"\x00\x00\x0d\x01\x00\x00\x00\x01\x00\x00\x00\x00")
    with pytest.raises(ValueError, match="24 elements"):
        parse_idx(idx_bytes(images)[:-1])
    order = pixel_order("permuted", 12, permutation_seed=3)
    assert sorted(order) == list(range(12))
    np.testing.assert_array_equal(order, pixel_order("permuted", 12, permutation_seed=3))
    sequences = pixel_sequences(images, order)
    np.testing.assert_allclose(sequences[1, :, 0], images[1].ravel()[order] / 255.0)
    np.testing.assert_array_equal(pixel_order("sequential", 12, 3), np.arange(12))
