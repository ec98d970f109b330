"""Reading a user's text file: UTF-8 with an optional byte-order mark, lines ended by ``\\n`` or
``\\r\\n`` only.

``str.splitlines`` also ends a line at U+2028, U+2029, U+0085, form feeds and a lone ``\\r``,
characters a valid sentence may hold; here only ``\\n`` ends a line (a ``\\r`` before it is
dropped), so line numbers are those an editor, ``wc -l`` or ``sed -n`` show. Every reader of user
files in ``rnnjax.data`` goes through ``decode`` and ``split_lines`` (whole files) or
``iter_lines`` (large files, streamed).
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Iterator
from pathlib import Path

from rnnjax.validation import fail

NEWLINE = b"\n"


def decode(data: bytes, source: str, where: str, first_line: int = 1, offset: int = 0) -> str:
    """``data`` as UTF-8, a leading byte-order mark dropped at the start of the file
    (``offset`` 0); an error from ``where`` names the line and byte offset in ``source`` of a NUL
    or an undecodable byte (``data`` starts at line ``first_line``, byte ``offset``)."""
    if offset == 0 and data.startswith(codecs.BOM_UTF8):
        data, offset = data[len(codecs.BOM_UTF8):], len(codecs.BOM_UTF8)

    def at(index: int) -> str:
        return f"line {first_line + data.count(NEWLINE, 0, index)} of {source}"

    nul = data.find(b"\x00")
    if nul >= 0:
        fail(where, at(nul), "UTF-8 text", f"binary data (a NUL byte at offset {offset + nul})")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        fail(where, at(err.start), "UTF-8 text",
             f"the undecodable byte {data[err.start]:#04x} at offset {offset + err.start}")


def split_lines(text: str) -> list[str]:
    """The lines of ``text``: split at ``\\n`` only, a ``\\r`` before it dropped, no final empty
    line after a final newline."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def _existing(path: str | os.PathLike, where: str) -> Path:
    path = Path(path).expanduser()
    if not path.is_file():
        fail(where, "path", "an existing text file", repr(str(path)), FileNotFoundError)
    return path


def read_text(path: str | os.PathLike, where: str) -> str:
    """The whole file as text (see ``decode``); line endings are kept."""
    path = _existing(path, where)
    return decode(path.read_bytes(), str(path), where)


def read_lines(path: str | os.PathLike, where: str) -> list[str]:
    """The lines of a UTF-8 file (see ``split_lines``); ``read_lines(p)[k]`` is line k + 1."""
    return split_lines(read_text(path, where))


def iter_lines(path: str | os.PathLike, where: str) -> Iterator[tuple[int, str]]:
    """(1-based line number, line) of a UTF-8 file, read one line at a time."""
    path = _existing(path, where)
    offset = 0
    with open(path, "rb") as file:
        for number, raw in enumerate(file, start=1):  # a binary file splits at b"\n" only
            line = decode(raw, str(path), where, number, offset)
            offset += len(raw)
            yield number, line.removesuffix("\n").removesuffix("\r")
