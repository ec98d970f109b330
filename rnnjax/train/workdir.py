"""The run directory: checks, an exclusive lock, atomic writes, and the resume policy for configs.

A run owns its workdir while it runs (``WorkdirLock``: an ``flock`` that the kernel releases when
the process dies, even by SIGKILL). Every file the harness rewrites is replaced atomically
(``write_atomic``: a temporary file in the same directory, fsync, ``os.replace``), so a killed
run never leaves half a file. On resume, ``config_changes`` lists the fields that differ from the
stored config and ``check_resume`` refuses any that would alter the run, before anything is
written.
"""

from __future__ import annotations

import fcntl
import fnmatch
import json
import os
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from rnnjax.validation import fail

# The files of a workdir that the harness writes (one definition, imported everywhere).
LOCK_FILE = ".lock"
CONFIG_FILE = "config.json"
RESULTS_FILE = "results.json"  # status, metrics, command, machine, config of the run
RUN_FILE = "run.json"  # experiment name, data fingerprint(s), accepted config changes


def check_workdir(where: str, workdir: Any) -> tuple[Path, bool]:
    """``workdir`` as a Path to a writable directory, created if missing; (path, created)."""
    if workdir is None or not str(workdir).strip():
        fail(where, "workdir", "a directory path (e.g. --workdir=/tmp/run)", repr(workdir))
    path = Path(workdir).expanduser()
    created = not path.exists()
    if path.exists() and not path.is_dir():
        fail(where, "workdir", "a directory", f"{str(path)!r}, which is a file",
             NotADirectoryError)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        fail(where, "workdir", "a directory that can be created",
             f"{str(path)!r} ({err.strerror})", type(err))
    if not os.access(path, os.W_OK | os.X_OK):
        fail(where, "workdir", "a writable directory", f"{str(path)!r} (permission denied)",
             PermissionError)
    return path, created


class WorkdirLock:
    """Exclusive ownership of a workdir for one process; a second run on it fails at once.

    The lock file records the holder's pid, which the error names. A workdir that the lock's
    owner ``created`` and that never received its ``CONFIG_FILE`` (the run failed its checks)
    is removed on release, so a refused run leaves nothing behind.
    """

    def __init__(self, where: str, workdir: Path, created: bool = False):
        self.workdir, self.created = workdir, created
        self.path = workdir / LOCK_FILE
        self._file = open(self.path, "a+")  # noqa: SIM115 (held until release)
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.seek(0)
            holder = self._file.read().strip() or "unknown"
            self._file.close()
            fail(where, "workdir", "free of other runs",
                 f"{str(workdir)!r}, in use by process {holder} (lock file {self.path}); wait "
                 "for it to finish or use another --workdir", RuntimeError)
        self._file.seek(0)
        self._file.truncate()
        self._file.write(f"{os.getpid()}\n")
        self._file.flush()

    def release(self) -> None:
        if self._file.closed:
            return
        if self.created and not (self.workdir / CONFIG_FILE).exists():
            shutil.rmtree(self.workdir, ignore_errors=True)
        fcntl.flock(self._file, fcntl.LOCK_UN)
        self._file.close()

    def __enter__(self) -> WorkdirLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8) so that readers see the old or the new file whole."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_json(path: Path, payload: Any) -> None:
    write_atomic(path, json.dumps(payload, indent=2, ensure_ascii=False) + "\n")


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}."""
    flat = {}
    for key, value in tree.items():
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def config_changes(stored: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, tuple]:
    """{dotted field: (stored value, new value)} for every field that differs or is only in one."""
    old, cur = flatten(stored), flatten(new)
    missing = object()
    return {key: (old.get(key, missing), cur.get(key, missing))
            for key in sorted(set(old) | set(cur))
            if old.get(key, missing) != cur.get(key, missing)}


def _matches(field: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(field, pattern) for pattern in patterns)


def check_resume(where: str, workdir: Path, changes: Mapping[str, tuple],
                 safe: Iterable[str], allowed: Iterable[str]) -> None:
    """Refuse ``changes`` to the stored config unless each matches ``safe`` or ``allowed``.

    ``safe``: fields that never alter what has been trained (e.g. ``num_epochs``, logging);
    ``allowed``: fields the user accepted explicitly (``--allow_changes``).
    """
    refused = {k: v for k, v in changes.items() if not _matches(k, (*safe, *allowed))}
    if refused:
        shown = "; ".join(f"{k}: {_show(a)} -> {_show(b)}" for k, (a, b) in refused.items())
        fail(where, "config", f"the config of the run stored in {workdir} (resuming it)",
             f"changes to {shown}. Use a new --workdir, or accept them with "
             f"--allow_changes={','.join(refused)}")


def _show(value: Any) -> str:
    return "(absent)" if type(value) is object else repr(value)
