"""The translation tests' data: a small file of number phrases, German<TAB>English."""

from __future__ import annotations

from pathlib import Path

import pytest

WORDS = ("eins", "zwei", "drei", "vier", "fuenf", "sechs", "sieben", "acht")
ENGLISH = ("one", "two", "three", "four", "five", "six", "seven", "eight")


@pytest.fixture(scope="module")
def pairs_file(tmp_path_factory) -> Path:
    """400 distinct number phrases (the octal digits of 8 .. 407), German<TAB>English, a
    word-by-word translation."""
    lines = []
    for i in range(8, 408):
        picks = [int(digit) for digit in oct(i)[2:]]
        lines.append(" ".join(WORDS[p] for p in picks) + " .\t"
                     + " ".join(ENGLISH[p] for p in picks) + " .\n")
    path = tmp_path_factory.mktemp("pairs") / "numbers.tsv"
    path.write_text("".join(lines), encoding="utf-8")
    return path
