"""Vocabularies: tokenisation, encode/decode round trips, JSON save/load, bad inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rnnjax.data import EOS, UNK, Labels, Vocab, tokenize


def test_word_tokens_end_every_line_with_eos():
    assert tokenize(" a b \n\nc", "word") == ["a", "b", EOS, EOS, "c", EOS]
    assert tokenize("a b\n", "word") == ["a", "b", EOS] and tokenize("", "word") == []
    assert tokenize("hi\n", "char") == ["h", "i", "\n"]


def test_char_round_trip_and_unknowns():
    vocab = Vocab.build("hello world\n", "char")
    assert vocab.tokens[:3] == (UNK, EOS, "l") and len(vocab) == 2 + 9
    ids = vocab.encode("hello\nworld")
    assert ids.dtype == np.int32 and vocab.decode(ids) == "hello\nworld"
    assert vocab.decode(vocab.encode("help!")) == "hel\ufffd\ufffd"


def test_word_round_trip_normalises_spaces_and_keeps_known_unk():
    vocab = Vocab.build(" the cat <unk> \n the dog \n", "word")
    assert vocab.tokens == (UNK, EOS, "the", "cat", "dog")  # <unk> in the text is the special
    ids = vocab.encode(" the  bird \nthe cat")
    assert ids.tolist() == [2, 0, 1, 2, 3, 1]
    assert vocab.decode(ids) == "the <unk>\nthe cat\n"
    assert vocab.decode([2, 3]) == "the cat"


def test_max_size_keeps_the_most_frequent():
    vocab = Vocab.build("b a b c b a\n", "word", max_size=4)
    assert vocab.tokens == (UNK, EOS, "b", "a")
    assert vocab.encode("c").tolist() == [0, 1]


def test_save_load_round_trip(tmp_path):
    vocab = Vocab.build("naïve café — ünïcode\n", "char")
    vocab.save(tmp_path / "vocab.json")
    loaded = Vocab.load(tmp_path / "vocab.json")
    assert loaded == vocab and loaded.level == "char" and loaded != Vocab.build("x", "char")
    saved = json.loads((tmp_path / "vocab.json").read_text(encoding="utf-8"))
    assert saved["tokens"] == list(vocab.tokens) and "ï" in saved["tokens"]


@pytest.mark.parametrize("content, message", [
    ("not json", "Vocab.load: path must be a vocabulary JSON written by Vocab.save"),
    ('{"tokens": ["<unk>", "<eos>"]}', "must be a JSON object with format 'rnnjax-vocab/1'"),
    ('{"format": "rnnjax-vocab/1", "level": "byte", "tokens": ["<unk>", "<eos>"]}',
     r"Vocab: level must be one of \('char', 'word'\), got 'byte'"),
])
def test_load_rejects_bad_files(tmp_path, content, message):
    path = tmp_path / "vocab.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        Vocab.load(path)


@pytest.mark.parametrize("call, message", [
    (lambda: Vocab(["a", "<unk>"], "char"), "Vocab: tokens must be a sequence starting with"),
    (lambda: Vocab([UNK, EOS, "a", "a"], "char"), "Vocab: tokens must be free of duplicates"),
    (lambda: Vocab.build("abc", "char", max_size=2), "Vocab.build: max_size must be at least 3"),
    (lambda: Vocab.build("abc", "char", max_size=0), "Vocab.build: max_size must be a positive"),
    (lambda: tokenize("abc", "bpe"), "tokenize: level must be one of"),
    (lambda: Vocab.build("abc", "char").decode([0, 5]), r"Vocab.decode: ids must be integers in"
                                                        r" \[0, 5\)"),
    (lambda: Vocab.build("abc", "char").decode([0.5]), "Vocab.decode: ids must be integers"),
])
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_from_counts_min_count_lookup_and_labels(tmp_path):
    vocab = Vocab.from_counts({"the": 5, "cat": 2, "sat": 1, UNK: 9}, "word", min_count=2)
    assert vocab.tokens == (UNK, EOS, "the", "cat")
    np.testing.assert_array_equal(vocab.lookup(["cat", "sat", "the"]), [3, 0, 2])
    with pytest.raises(ValueError, match=r"Vocab.from_counts: min_count must be a positive int"):
        Vocab.from_counts({"a": 1}, "word", min_count=0)
    labels = Labels(["NN", "DT"])
    np.testing.assert_array_equal(labels.encode(["DT", "NN", "DT"]), [1, 0, 1])
    with pytest.raises(ValueError, match=r"tagging: label must be one of the 2 classes .*'VB'"):
        labels.encode(["VB"], "tagging")
    (tmp_path / "labels.json").write_text(labels.to_json())
    assert Labels.load(tmp_path / "labels.json") == labels
    with pytest.raises(ValueError, match="Labels: names must be a non-empty sequence without"):
        Labels(["NN", "NN"])
