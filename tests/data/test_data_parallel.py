"""Parallel text: the dictionary extractor, user source<TAB>target files, the fixed split,
tokenizers and the length policy."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from rnnjax.data.parallel import (
    SubwordTokenizer,
    WordTokenizer,
    dictionary_pairs,
    encode_pairs,
    load_pairs,
    read_pairs,
    split_of,
    train_tokenizer,
)
from rnnjax.data.prepare import prepare

DICTIONARY = """# Version :: test
Ahnung {f} | Ich habe keine Ahnung. | Hast du eine Ahnung, wo er ist?; Weißt du, wo er ist? \
:: notion | I have no idea. | Have you any idea where he is?
Haus {n} | Das Haus ist alt. | Das Haus ist alt. :: house | The house is old. | The house is old.
kurz | Sehr kurz. :: short | Very short.
Satz | Ein ganzer Satz hier. | zweiter Teil :: sentence | A whole sentence here.
"""


def test_dictionary_pairs_align_sub_entries_and_keep_sentences_once():
    assert dictionary_pairs(DICTIONARY) == [
        ("Ich habe keine Ahnung.", "I have no idea."),
        ("Hast du eine Ahnung, wo er ist?", "Have you any idea where he is?"),
        ("Das Haus ist alt.", "The house is old."),
        ("Ein ganzer Satz hier.", "A whole sentence here.")]


def test_prepare_extracts_a_fixed_split_from_an_unpacked_package(tmp_path):
    tree = tmp_path / "deb" / "usr" / "share" / "trans"
    tree.mkdir(parents=True)
    (tree / "de-en").write_text(DICTIONARY, encoding="utf-8")
    folder = prepare("trans_de_en", data_dir=tmp_path / "data",
                             archive=tmp_path / "deb", verify=False)
    texts = {split: (folder / f"{split}.tsv").read_text() for split in ("train", "valid", "test")}
    assert sum(t.count("\n") for t in texts.values()) == 4
    for de, en in dictionary_pairs(DICTIONARY):
        assert f"{de}\t{en}\n" in texts[split_of(de)]
    for split, text in texts.items():  # four pairs leave a split empty; give each one
        (folder / f"{split}.tsv").write_text(text or f"Satz {split} .\tsentence {split} .\n")
    de_en = load_pairs("trans_de_en", direction="de-en", data_dir=tmp_path / "data")
    en_de = load_pairs("trans_de_en", direction="en-de", data_dir=tmp_path / "data")
    for split, pairs in de_en.items():  # the same pairs, sides swapped, same split
        assert [(p.target, p.source) for p in en_de[split]] == [(p.source, p.target)
                                                                 for p in pairs]


def test_split_depends_on_the_sentence_only():
    sentences = [f"sentence number {i}." for i in range(2000)]
    splits = [split_of(s) for s in sentences]
    assert splits == [split_of(s) for s in sentences]
    fractions = {name: splits.count(name) / len(splits) for name in ("train", "valid", "test")}
    assert 0.03 < fractions["test"] < 0.07 and 0.03 < fractions["valid"] < 0.07


def write_pairs(path: Path, count: int = 400) -> Path:
    path.write_text("".join(f"ein Satz {i}.\ta sentence {i}.\n" for i in range(count)),
                    encoding="utf-8")
    return path


def test_a_user_file_loads_split_and_keeps_line_numbers(tmp_path):
    splits = load_pairs(path=write_pairs(tmp_path / "pairs.tsv"))
    assert sum(map(len, splits.values())) == 400 and all(splits.values())
    pair = splits["test"][0]
    assert pair.source == f"ein Satz {pair.line - 1}." and pair.target.startswith("a sentence")


@pytest.mark.parametrize(("text", "message"), [
    ("a\tb\n\nc\td\n", r"read_pairs: line 2 of .*bad.tsv must be a source<TAB>target pair, "
                       r"got an empty line"),
    ("a\tb\nno tab here\n", r"line 2 of .*bad.tsv must be source<TAB>target \(exactly one tab\)"
                            r", got 0 tabs in 'no tab here'"),
    ("a\tb\tc\n", r"line 1 of .*bad.tsv must be source<TAB>target \(exactly one tab\), got 2"),
    ("a\tb\n \tc\n", r"line 2 of .*bad.tsv must be a non-empty source"),
    ("a\t \n", r"line 1 of .*bad.tsv must be a non-empty target"),
    ("", r"path must be a file with at least one pair"),
])
def test_bad_lines_are_named(tmp_path, text, message):
    path = tmp_path / "bad.tsv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        read_pairs(path)


def test_missing_file_and_binary_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="must be an existing source<TAB>target file"):
        read_pairs(tmp_path / "absent.tsv")
    (tmp_path / "bin.tsv").write_bytes(b"a\tb\n\xff\xfe\n")
    with pytest.raises(ValueError, match=r"bin.tsv must be UTF-8 text"):
        read_pairs(tmp_path / "bin.tsv")


@pytest.mark.parametrize("kind", ["bpe", "word"])
def test_tokenizers_round_trip(kind):
    texts = [f"the house number {i % 10} is old and the garden is green." for i in range(200)]
    tokenizer = train_tokenizer(kind, texts, 60)
    restored = (SubwordTokenizer(tokenizer.to_bytes()) if kind == "bpe"
                else WordTokenizer.from_bytes(tokenizer.to_bytes()))
    ids = restored.encode(texts[7])
    np.testing.assert_array_equal(ids, tokenizer.encode(texts[7]))
    assert restored.decode(ids) == texts[7]
    assert {restored.bos_id, restored.eos_id, restored.pad_id} < set(range(len(restored)))


def test_too_long_pairs_are_dropped_or_named(tmp_path):
    pairs = read_pairs(write_pairs(tmp_path / "pairs.tsv", 3))
    long = [*pairs[:2], dataclasses.replace(pairs[2], target=" ".join(["word"] * 20))]
    tokenizer = train_tokenizer("word", [p.target for p in long], 50)
    sources, targets, kept = encode_pairs(long, tokenizer, tokenizer, max_length=10,
                                          too_long="drop", origin="pairs.tsv")
    assert kept == [0, 1] and targets[0][0] == tokenizer.bos_id
    assert sources[0][-1] == targets[0][-1] == tokenizer.eos_id
    with pytest.raises(ValueError, match=r"the target of line 3 of pairs.tsv must be at most "
                       r"max_length=10 tokens \(or too_long='drop' to skip it\), got 21"):
        encode_pairs(long, tokenizer, tokenizer, max_length=10, too_long="error",
                     origin="pairs.tsv")
