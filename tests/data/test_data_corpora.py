"""Corpora: the embedded Shakespeare, splitting, the user ``text`` corpus, loader errors."""

from __future__ import annotations

import pytest

from rnnjax.data import CORPORA, Vocab, load_corpus, load_splits, resolve_data_dir, split_text
from rnnjax.data.corpora import SHAKESPEARE_PLAYS, text_sha256


def test_embedded_shakespeare_loads_with_sane_sizes():
    texts = load_splits("shakespeare")
    assert text_sha256(texts) == CORPORA["shakespeare"].sha256
    assert texts["train"].startswith("ANTONY AND CLEOPATRA\n") and len(SHAKESPEARE_PLAYS) == 7
    corpus = load_corpus("shakespeare")
    sizes = [len(ids) for ids in (corpus.train_ids, corpus.valid_ids, corpus.test_ids)]
    assert sizes == [893_938, 49_702, 49_622]
    assert corpus.vocab.level == "char" and 60 < len(corpus.vocab) < 100
    assert corpus.train_ids.dtype.name == "int32"
    assert corpus.vocab.decode(corpus.train_ids) == texts["train"]
    assert (corpus.valid_ids == corpus.vocab.unk_id).sum() == 1  # one "/" unseen in training


def test_split_is_90_5_5_at_line_starts_and_deterministic():
    text = "".join(f"line {i:03d}\n" for i in range(1000))
    texts = split_text(text)
    assert "".join(texts.values()) == text and split_text(text) == texts
    assert [len(t) / len(text) for t in texts.values()] == [0.9, 0.05, 0.05]
    assert all(t.endswith("\n") for t in texts.values())
    ragged = "".join(f"{'x' * (i % 7)}\n" for i in range(500))
    ends = [len(t) for t in split_text(ragged).values()]
    ends = [ends[0], ends[0] + ends[1]]
    for end, fraction in zip(ends, (0.9, 0.95), strict=True):
        assert ragged[end - 1] == "\n" and 0 <= end - int(fraction * len(ragged)) < 7
    assert split_text("x" * 100) == {"train": "x" * 90, "valid": "x" * 5, "test": "x" * 5}


def test_too_short_to_split():
    with pytest.raises(ValueError, match="split_text: the text must be long enough for non-empty"
                                         " 90/5/5 train/valid/test splits, got 9 characters"):
        split_text("a\nb\nc\nd\ne")


def test_text_corpus_reads_a_directory_in_sorted_order_skipping_hidden_files(tmp_path):
    root = tmp_path / "corpus"
    (root / "a").mkdir(parents=True)
    (root / ".git").mkdir()
    body = "".join(f"word{i} and more words\n" for i in range(50))
    (root / "b.txt").write_text("B\n" + body)
    (root / "a" / "c.md").write_text("C\n" + body)
    (root / ".git" / "HEAD").write_bytes(b"\x00binary")
    (root / ".hidden.txt").write_text("hidden\n")
    texts = load_splits("text", path=root)
    assert "".join(texts.values()) == "C\n" + body + "\nB\n" + body
    assert load_splits("text", path=root / "b.txt")["train"].startswith("B\nword0")
    corpus = load_corpus("text", path=root, level="word")
    assert corpus.vocab.level == "word" and len(corpus.vocab) == 2 + 55  # specials + words
    same = load_corpus("text", path=root / "b.txt", level="word", vocab=corpus.vocab)
    assert same.vocab is corpus.vocab


@pytest.mark.parametrize("content, exc, message", [
    (None, FileNotFoundError, "read_text_path: path must be an existing text file or directory"),
    (b"ab\x00cd" * 40, ValueError, r"input.txt must be UTF-8 text, got binary data \(a NUL "
                                    r"byte at offset 2\)"),
    (b"ok\n" * 40 + b"\xff", ValueError, "got the undecodable byte 0xff at offset 120"),
    (b"", ValueError, r"read_text_path: path must be a file or directory with some text, got .*"
                      r" \(1 files\)"),
    (b" \n\n\t\n", ValueError, "must be a file or directory with some text"),
])
def test_text_corpus_bad_inputs(tmp_path, content, exc, message):
    path = tmp_path / "input.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(exc, match=message):
        load_corpus("text", path=path)


def test_empty_directory(tmp_path):
    with pytest.raises(ValueError, match=r"some text, got .* \(0 files\)"):
        load_splits("text", path=tmp_path)


def test_missing_corpus_says_how_to_prepare_it(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNJAX_DATA_DIR", str(tmp_path / "env"))
    with pytest.raises(FileNotFoundError) as err:
        load_corpus("ptb")
    assert str(err.value) == (
        f"load_splits: corpus 'ptb' must be prepared in {tmp_path / 'env' / 'ptb'}, got no "
        "manifest.json there; run `python -m rnnjax.data prepare --corpus=ptb --data_dir="
        f"{tmp_path / 'env'}`")


def test_data_dir_resolution(tmp_path, monkeypatch):
    monkeypatch.delenv("RNNJAX_DATA_DIR", raising=False)
    assert str(resolve_data_dir()).endswith(".cache/rnnjax")
    monkeypatch.setenv("RNNJAX_DATA_DIR", str(tmp_path))
    assert resolve_data_dir() == tmp_path
    assert resolve_data_dir(tmp_path / "x") == tmp_path / "x"


@pytest.mark.parametrize("kwargs, message", [
    ({"name": "wiki"}, r"load_corpus: corpus must be one of \('shakespeare', "),
    ({"name": "shakespeare", "level": "byte"},
     r"load_corpus: level must be one of \('char', 'word'\), got 'byte'"),
    ({"name": "text"}, "load_splits: path must be a text file or directory for corpus 'text', "
                       "got None"),
    ({"name": "shakespeare", "path": "x.txt"},
     "load_splits: path must be None for corpus 'shakespeare'"),
    ({"name": "shakespeare", "vocab": Vocab(["<unk>", "<eos>"], "word")},
     "load_corpus: vocab must be a char-level Vocab without max_vocab"),
])
def test_loader_argument_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_corpus(**kwargs)


def test_word_level_shakespeare_with_capped_vocabulary():
    corpus = load_corpus("shakespeare", level="word", max_vocab=1000)
    assert len(corpus.vocab) == 1000 and corpus.vocab.tokens[2] == "the"
    assert 0 < (corpus.test_ids == corpus.vocab.unk_id).mean() < 0.3
