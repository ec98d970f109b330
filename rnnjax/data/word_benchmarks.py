"""Word-vector benchmarks from the gensim wheel, registered as the dataset ``word_benchmarks``:

* ``questions-words.txt``: Mikolov et al. 2013a's analogies, ``: section`` lines followed by
  ``a b c d`` lines (a is to b as c is to d); 19,544 questions in 14 sections;
* ``wordsim353.tsv``: WordSim-353 (Finkelstein et al. 2002), ``word1<TAB>word2<TAB>score``;
* ``simlex999.txt``: SimLex-999 (Hill et al. 2015), same layout. ``#`` lines are comments.

    python -m rnnjax.data prepare --corpus=word_benchmarks
    analogies = load_analogies()                      # {section: [(a, b, c, d), ...]}
    pairs = load_word_pairs("wordsim353")             # [(word1, word2, score), ...]

Both readers also take a ``path`` to a user file in the same format.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from rnnjax.data.prepare import Package, Source, prepared_dir, read_texts, register
from rnnjax.data.text import read_lines
from rnnjax.validation import check_choice, fail

NAME = "word_benchmarks"
ANALOGIES = "questions-words.txt"
WORD_PAIRS = {"wordsim353": "wordsim353.tsv", "simlex999": "simlex999.txt"}
_MEMBERS = {f"gensim/test/test_data/{file}": file for file in (ANALOGIES, *WORD_PAIRS.values())}


def _extract(archive: Path, tmp: Path) -> dict[str, str]:
    texts = read_texts(archive, lambda path: path in _MEMBERS, ", ".join(_MEMBERS))
    if len(texts) != len(_MEMBERS):
        fail("prepare", "archive", f"a gensim wheel containing {sorted(_MEMBERS)}",
             f"{archive} containing {sorted(texts)}")
    return {_MEMBERS[path]: texts[path] for path in _MEMBERS}


register(Source(NAME, Package("wheel", "gensim", "4.4.0"),
                "9f1dad147dbb09466d11ada0cc8dc04a3f5fab4a650a88c4a55d74bcf015a3f5", _extract,
                "questions-words analogies, WordSim-353 and SimLex-999 (gensim's test data)",
                "LGPL-2.1 (gensim); the sets' own terms as published"))


def _read(where: str, file: str, path: str | os.PathLike | None,
          data_dir: str | os.PathLike | None) -> tuple[Path, list[str]]:
    source = Path(path).expanduser() if path is not None else prepared_dir(
        where, NAME, data_dir) / file
    if not source.is_file():
        fail(where, "path", "an existing file", repr(str(source)), FileNotFoundError)
    return source, read_lines(source, where)


def load_analogies(path: str | os.PathLike | None = None, *,
                   data_dir: str | os.PathLike | None = None
                   ) -> dict[str, list[tuple[str, str, str, str]]]:
    """{section: [(a, b, c, d), ...]} of questions-words.txt (or ``path`` in its format)."""
    where = "load_analogies"
    source, lines = _read(where, ANALOGIES, path, data_dir)
    sections: dict[str, list[tuple[str, str, str, str]]] = {}
    section = None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if line.startswith(":"):
            section = line[1:].strip()
            sections.setdefault(section, [])
            continue
        words = line.split()
        if section is None or len(words) != 4:
            expected = "a ': section' line first" if section is None else "four words a b c d"
            fail(where, f"line {number} of {source}", expected, repr(line[:80]))
        sections[section].append(tuple(words))
    if not any(sections.values()):
        fail(where, str(source), "a file with at least one analogy question", "none")
    return sections


def load_word_pairs(name: str | None = None, path: str | os.PathLike | None = None, *,
                    data_dir: str | os.PathLike | None = None) -> list[tuple[str, str, float]]:
    """[(word1, word2, human score)] of ``name`` in ``WORD_PAIRS`` (or of the file ``path``)."""
    where = "load_word_pairs"
    if (name is None) == (path is None):
        fail(where, "name, path", "exactly one of them", f"name={name!r}, path={path!r}")
    file = WORD_PAIRS[check_choice(where, "name", name, WORD_PAIRS)] if name else None
    source, lines = _read(where, file, path, data_dir)
    pairs = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        try:
            pairs.append((fields[0].strip(), fields[1].strip(), float(fields[2])))
        except (IndexError, ValueError):
            fail(where, f"line {number} of {source}", "word1<TAB>word2<TAB>score",
                 repr(line[:80]))
        if not math.isfinite(pairs[-1][2]):
            fail(where, f"line {number} of {source}", "a finite score", repr(fields[2]))
    if not pairs:
        fail(where, str(source), "a file with at least one word pair", "none")
    return pairs
