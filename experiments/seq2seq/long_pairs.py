"""A synthetic file of long sentence pairs, to size the default translation config on.

    python -m rnnjax.data prepare --corpus=ptb
    python -m rnnjax.data prepare --corpus=enwiki_text
    python -m experiments.seq2seq.long_pairs --out=long_pairs.tsv [--pairs=25000]

Sources: the sentences of ``MIN_WORDS``-``MAX_WORDS`` words of the Penn Treebank's and the
Wikipedia sample's training texts (28 words on average), shuffled with seed 0. Targets are in a
made-up language: every word is spelled backwards with its vowels rotated (a -> e -> i -> o ->
u -> a), and the words of each neighbouring pair trade places ("the cat sat down" -> "tec iht
nwud tes"), so a model must learn a vocabulary of its own and a local reordering.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from absl import flags

from rnnjax import cli
from rnnjax.data import load_splits
from rnnjax.validation import check_positive_int, fail

MIN_WORDS, MAX_WORDS = 20, 45  # sentence lengths kept, in words
VOWELS = str.maketrans("aeiouAEIOU", "eiouaEIOUA")


def translate(sentence: str) -> str:
    """The made-up language: each word reversed with its vowels rotated, neighbours swapped."""
    words = [word[::-1].translate(VOWELS) for word in sentence.split()]
    for i in range(0, len(words) - 1, 2):
        words[i], words[i + 1] = words[i + 1], words[i]
    return " ".join(words)


def long_sentences() -> list[str]:
    """The sentences of ``MIN_WORDS``-``MAX_WORDS`` words of ptb's and enwiki_text's training
    texts (ptb: one per line; Wikipedia: split after ., ! and ?)."""
    sentences = load_splits("ptb")["train"].splitlines()
    sentences += re.split(r"(?<=[.!?])\s+", load_splits("enwiki_text")["train"])
    return [" ".join(s.split()) for s in sentences if MIN_WORDS <= len(s.split()) <= MAX_WORDS]


def write_pairs(path: str | Path, count: int) -> int:
    """Write ``count`` pairs (source<TAB>target) to ``path``; the number of source words."""
    count = check_positive_int("long_pairs", "--pairs", count)
    sentences = long_sentences()
    if count > len(sentences):
        fail("long_pairs", "--pairs", f"at most the {len(sentences)} long sentences", count)
    chosen = [sentences[i] for i in np.random.default_rng(0).permutation(len(sentences))[:count]]
    Path(path).write_text("".join(f"{s}\t{translate(s)}\n" for s in chosen), encoding="utf-8")
    return sum(len(s.split()) for s in chosen)


def main() -> None:
    """The command line (its flags are defined here, not on import: other programs have an
    --out flag too)."""
    out = flags.DEFINE_string("out", None, "The source<TAB>target file to write.", required=True)
    pairs = flags.DEFINE_integer("pairs", 25_000, "Pairs to write.")

    def write(argv: list[str]) -> None:
        del argv
        words = write_pairs(out.value, pairs.value)
        print(f"{pairs.value:,} pairs, {words / pairs.value:.1f} words a side, in {out.value}")

    cli.run(write)


if __name__ == "__main__":
    main()
