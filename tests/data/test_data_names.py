"""Names by nationality: the nam_dict.txt parser, country assignment, name files, splits."""

from __future__ import annotations

import random
import zipfile
from pathlib import Path

import numpy as np
import pytest

from rnnjax.data import prepare
from rnnjax.data.names import (
    load_names,
    name_split,
    names_by_country,
    parse_nam_dict,
    parse_name_file,
    split_names,
)


def nam_dict(rows: list[str]) -> str:
    """A nam_dict.txt in the original layout: countries above '|' marks at columns 30-32,
    fixed-width lines ending in '$', CRLF line ends."""
    header = ["# list of countries", "#"]
    for column, country in ((30, "Italy"), (31, "Spain"), (32, "other countries")):
        header += ["#" + " " * (column - 1) + country, "#" + " " * (column - 1) + "|", "#"]
    lines = [*(line.ljust(86) + "$" for line in header), *(row.ljust(86) + "$" for row in rows)]
    return "\r\n".join(lines) + "\r\n"


def row(gender: str, name: str, frequencies: str, marker: str = " ") -> str:
    return f"{gender:<3}{name:<26}{marker}{frequencies}"


ROWS = [
    row("M", "Marco", "D1"),
    row("F", "Maria", "88"),  # a tie: dropped from the examples
    row("?", "Marco", "3"),  # a second line of the same name: frequencies merged by max
    row("M", "Jun+Wei", "  4"),  # only in "other countries": never a category
    row("M", "Ådne", " 1", marker="+"),  # a repeat with expanded umlauts: skipped
    "=  Abe Abraham                  1",
    row("M", "Pablo", "1B"),
    row("M", "José+Luis", " 2", marker="-"),
]


def test_nam_dict_header_columns_lines_and_merges():
    countries, frequencies = parse_nam_dict(nam_dict(ROWS), "nam_dict.txt")
    assert countries == ("Italy", "Spain", "other countries")
    assert sorted(frequencies) == ["José Luis", "Jun Wei", "Marco", "Maria", "Pablo"]
    np.testing.assert_array_equal(frequencies["Marco"], [13, 1, 0])
    np.testing.assert_array_equal(frequencies["Pablo"], [1, 11, 0])


def test_names_go_to_their_most_frequent_country_and_ties_are_dropped():
    names = names_by_country(*parse_nam_dict(nam_dict(ROWS), "f"), min_names=1)
    assert dict(zip(names.names, names.categories, strict=True)) == {
        "José Luis": "Spain", "Marco": "Italy", "Pablo": "Spain"}
    assert names.members["Italy"] == {"Marco", "Maria", "Pablo"}  # any frequency there
    assert names.category_names() == ("Italy", "Spain")
    assert names_by_country(*parse_nam_dict(nam_dict(ROWS), "f"), min_names=2).category_names() \
        == ("Spain",)
    with pytest.raises(ValueError, match=r"load_names: min_names must be at most the size of the "
                       r"largest category .*got 3; the largest: Spain 2"):
        names_by_country(*parse_nam_dict(nam_dict(ROWS), "f"), min_names=3)


@pytest.mark.parametrize(("bad", "message"), [
    (row("M", "Marco", "Z").ljust(86) + "$",
     r"column 30 \(Italy\) of line 12 of d.txt must be a frequency 1-9, A-D or blank, got 'Z'"),
    ("M  Marco", r"line 12 of d.txt must be a name line of at least 33 columns"),
])
def test_malformed_nam_dict_lines_name_the_line(bad, message):
    text = nam_dict([]) + bad + "\r\n"
    with pytest.raises(ValueError, match=message):
        parse_nam_dict(text, "d.txt")


def test_nam_dict_without_country_header_is_an_error():
    with pytest.raises(ValueError, match="no country columns"):
        parse_nam_dict("M  Marco   1\n", "d.txt")


def test_name_files_keep_distinct_pairs_and_name_bad_lines(tmp_path: Path):
    names = parse_name_file("Ada\tEnglish\n\nAda\tEnglish\nAda\tGerman\nLuca\tItalian\n", "f")
    assert list(zip(names.names, names.categories, strict=True)) == [
        ("Ada", "English"), ("Ada", "German"), ("Luca", "Italian")]
    with pytest.raises(ValueError, match=r"line 2 of f must be name<TAB>category"):
        parse_name_file("Ada\tEnglish\nLuca Italian\n", "f")
    with pytest.raises(ValueError, match=r"f must be a file of name<TAB>category lines"):
        parse_name_file("\n\n", "f")
    with pytest.raises(FileNotFoundError, match=r"corpus must be 'nam_dict' or a name<TAB>"):
        load_names(tmp_path / "missing.tsv", min_names=1)


def test_split_depends_on_the_name_alone():
    text = "".join(f"Name{i}\t{'AB'[i % 2]}\n" for i in range(200))
    lines = text.splitlines(keepends=True)
    random.Random(0).shuffle(lines)
    first, second = (split_names(parse_name_file(t, "f")) for t in (text, "".join(lines)))
    for split in ("train", "valid", "test"):
        assert first[split].names == second[split].names
        assert all(name_split(n) == split for n in first[split].names)
    sizes = [len(first[s]) for s in ("train", "valid", "test")]
    assert sum(sizes) == 200 and 140 <= sizes[0] <= 180
    assert name_split("Marco") == name_split("Marco")
    with pytest.raises(ValueError, match=r"split_names: the names must be enough for non-empty"):
        split_names(parse_name_file("Ada\tA\n", "f"))


def test_nam_dict_source_from_a_wheel(tmp_path: Path):
    wheel = tmp_path / "gender_guesser-0.4.0-py2.py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("gender_guesser/data/nam_dict.txt", nam_dict(ROWS))
        zf.writestr("gender_guesser/detector.py", "")
    prepare("nam_dict", data_dir=tmp_path / "data", archive=wheel, verify=False)
    names = load_names("nam_dict", min_names=1, data_dir=tmp_path / "data")
    assert names.names == ("José Luis", "Marco", "Pablo")
