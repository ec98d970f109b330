"""What ``experiments.word2vec.query`` relies on to refuse hostile input."""

from __future__ import annotations

import numpy as np
import pytest

from rnnjax import embeddings
from rnnjax.data import WordVectors, load_vectors

VECTORS = WordVectors(tuple(f"w{i}" for i in range(20)),
                      np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32))


@pytest.mark.parametrize("topn", [-5, 0, 2.5])
def test_a_topn_that_is_not_positive_is_refused(topn):
    with pytest.raises(ValueError, match=rf"nearest: topn must be a positive int, got {topn}"):
        embeddings.nearest(VECTORS, "w1", topn)
    with pytest.raises(ValueError, match=rf"analogy: topn must be a positive int, got {topn}"):
        embeddings.analogy(VECTORS, "w1", "w2", "w3", topn)
    assert len(embeddings.nearest(VECTORS, "w1", 3)) == 3


def test_nan_in_the_vectors_is_an_error_naming_file_and_line(tmp_path):
    vectors = tmp_path / "v.txt"
    vectors.write_text("2 2\nking 0.5 0.25\nqueen nan 0.5\n", encoding="utf-8")
    with pytest.raises(ValueError, match=rf"load_vectors: line 3 of {vectors} must be finite "
                                         r"numbers \(as float32\), got nan as number 1"):
        load_vectors(vectors)
