"""What tasks share about their data: the fingerprint, files kept beside the checkpoints (e.g. a
vocabulary), and the batch-size checks.

* ``fingerprint(*parts)``: the SHA-256 of the parts' bytes in order, the digest a run records in
  run.json and compares when it resumes (``Task.fingerprint``);
* ``load_stored(workdir, loaders)`` / ``save_missing(workdir, files)``: a run's vocabularies,
  built on its first start and read back on every resume (so that ids never change under a
  checkpoint);
* ``check_batch_sizes(where, data, mesh, names)``: positive ints that the ``'data'`` mesh axis
  divides.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import jax
import numpy as np

from rnnjax.train import sharding
from rnnjax.train.workdir import write_atomic
from rnnjax.validation import check_positive_int

T = TypeVar("T")
Part = str | bytes | np.ndarray | Iterable[Any]


def _update(digest: Any, part: Part) -> None:
    if isinstance(part, str):
        digest.update(part.encode("utf-8"))
    elif isinstance(part, bytes):
        digest.update(part)
    elif isinstance(part, np.ndarray):
        digest.update(np.ascontiguousarray(part).tobytes())
    elif isinstance(part, Iterable):
        for item in part:
            _update(digest, item)
    else:
        raise TypeError(f"fingerprint: a part must be str, bytes, an array or an iterable of "
                        f"them, got {type(part).__name__}")


def fingerprint(*parts: Part) -> str:
    """SHA-256 (hex) of the concatenated bytes of ``parts``: a str as UTF-8, an array as its
    C-ordered buffer, an iterable as its items in order (nested). No separator is added:
    put one (e.g. ``b"|"``) between parts of variable length."""
    digest = hashlib.sha256()
    for part in parts:
        _update(digest, part)
    return digest.hexdigest()


def load_stored(workdir: Path, loaders: Mapping[str, Callable[[Path], T]]) -> list[T] | None:
    """[loader(workdir / name) for each file] when every file exists (the run is resuming and
    keeps the vocabularies it was trained with), else None (build them from the data)."""
    paths = [Path(workdir) / name for name in loaders]
    if not all(path.is_file() for path in paths):
        return None
    return [load(path) for load, path in zip(loaders.values(), paths, strict=True)]


def save_missing(workdir: Path, files: Mapping[str, str]) -> None:
    """Write each ``{name: text}`` into ``workdir`` (atomically) unless it is there already."""
    for name, text in files.items():
        if not (Path(workdir) / name).is_file():
            write_atomic(Path(workdir) / name, text)


def check_batch_sizes(where: str, data: Mapping[str, Any], mesh: jax.sharding.Mesh,
                      names: Iterable[str] = ("batch_size", "eval_batch_size")) -> None:
    """Every ``config.data.<name>`` is a positive int that the mesh's data axis divides."""
    for name in names:
        check_positive_int(where, f"config.data.{name}", data[name])
        sharding.check_divisible(where, f"config.data.{name}", data[name], mesh)
