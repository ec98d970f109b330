"""Character and word vocabularies with ``<unk>`` and ``<eos>``, and class labels, saved as JSON
next to a model."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from rnnjax.validation import check_choice, check_positive_int, fail

UNK = "<unk>"
EOS = "<eos>"
LEVELS = ("char", "word")
_FORMAT = "rnnjax-vocab/1"
_LABELS_FORMAT = "rnnjax-labels/1"


def tokenize(text: str, level: str) -> list[str]:
    """Characters, or the whitespace-separated words of every line followed by ``<eos>``.

    Word level follows Mikolov's PTB convention: each line (the last one may lack its newline)
    contributes its words and one ``<eos>``, so a blank line is a lone ``<eos>``.
    """
    check_choice("tokenize", "level", level, LEVELS)
    if level == "char":
        return list(text)
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [tok for line in lines for tok in (*line.split(), EOS)]


def _check_max_size(where: str, max_size: int | None) -> int | None:
    """None, or a vocabulary size of at least 3 (<unk>, <eos> and one token)."""
    if max_size is not None:
        max_size = check_positive_int(where, "max_size", max_size)
        if max_size < 3:
            fail(where, "max_size", "at least 3 (<unk>, <eos> and one token)", max_size)
    return max_size


class Vocab:
    """Token <-> id mapping; id 0 is ``<unk>``, id 1 is ``<eos>``, then tokens by frequency."""

    unk_id = 0
    eos_id = 1

    def __init__(self, tokens: Sequence[str], level: str):
        self.level = check_choice("Vocab", "level", level, LEVELS)
        self.tokens = tuple(tokens)
        if self.tokens[:2] != (UNK, EOS):
            fail("Vocab", "tokens", f"a sequence starting with {UNK!r}, {EOS!r}", self.tokens[:2])
        if len(set(self.tokens)) != len(self.tokens):
            fail("Vocab", "tokens", "free of duplicates", f"{len(self.tokens)} tokens")
        self._index = {tok: i for i, tok in enumerate(self.tokens)}

    @classmethod
    def build(cls, text: str, level: str, *, max_size: int | None = None) -> Vocab:
        """Vocabulary of ``text`` (a training split): most frequent first, ties by token order."""
        _check_max_size("Vocab.build", max_size)
        return cls.from_counts(Counter(tokenize(text, level)), level, max_size=max_size)

    @classmethod
    def from_sequences(cls, sequences: Iterable[Sequence[str]], *,
                       max_size: int | None = None) -> Vocab:
        """Word vocabulary of already tokenised sequences (e.g. the training sentences of a
        classifier), ranked like ``build``."""
        return cls.from_counts(Counter(tok for seq in sequences for tok in seq), "word",
                               max_size=max_size)

    @classmethod
    def from_counts(cls, counts: Mapping[str, int], level: str, *, max_size: int | None = None,
                    min_count: int = 1) -> Vocab:
        """Tokens counted ``min_count`` times or more, most frequent first (ties by token order),
        the ``max_size - 2`` most frequent if given; ``<unk>`` and ``<eos>`` first."""
        where = "Vocab.from_counts"
        min_count = check_positive_int(where, "min_count", min_count)
        counts = {tok: n for tok, n in counts.items() if tok not in (UNK, EOS) and n >= min_count}
        ranked = sorted(counts, key=lambda tok: (-counts[tok], tok))
        if _check_max_size(where, max_size) is not None:
            ranked = ranked[: max_size - 2]
        return cls((UNK, EOS, *ranked), level)

    def __len__(self) -> int:
        return len(self.tokens)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and (self.level, self.tokens) == (other.level, other.tokens)

    def __repr__(self) -> str:
        return f"Vocab(level={self.level!r}, size={len(self)})"

    def encode(self, text: str) -> np.ndarray:
        """int32 ids of ``tokenize(text, level)``; unknown tokens map to ``<unk>``."""
        tokens = tokenize(text, self.level)
        index, unk = self._index, self.unk_id
        return np.fromiter((index.get(t, unk) for t in tokens), dtype=np.int32, count=len(tokens))

    def lookup(self, tokens: Iterable[str]) -> np.ndarray:
        """int32 ids of already tokenised ``tokens`` (unknown ones map to ``<unk>``)."""
        index, unk = self._index, self.unk_id
        return np.asarray([index.get(t, unk) for t in tokens], np.int32)

    def decode(self, ids: Iterable[int]) -> str:
        """Text of ``ids``: ``<eos>`` ends a line; at char level ``<unk>`` shows as U+FFFD."""
        ids = np.asarray(ids).reshape(-1)
        if ids.size and (not np.issubdtype(ids.dtype, np.integer) or ids.min() < 0
                         or ids.max() >= len(self)):
            fail("Vocab.decode", "ids", f"integers in [0, {len(self)})", ids)
        tokens = [self.tokens[i] for i in ids.tolist()]
        if self.level == "char":
            return "".join({UNK: "\ufffd", EOS: "\n"}.get(t, t) for t in tokens)
        lines, words = [], []
        for tok in tokens:
            if tok == EOS:
                lines.append(" ".join(words) + "\n")
                words = []
            else:
                words.append(tok)
        return "".join(lines) + " ".join(words)

    def to_json(self) -> str:
        """The vocabulary as JSON text (what ``save`` writes and ``load`` reads)."""
        payload = {"format": _FORMAT, "level": self.level, "tokens": list(self.tokens)}
        return json.dumps(payload, ensure_ascii=False, indent=0)

    def save(self, path: str | Path) -> None:
        """Write the vocabulary as UTF-8 JSON."""
        Path(path).write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Vocab:
        """Read a vocabulary written by :meth:`save`."""
        try:
            payload = json.loads(Path(path).read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            fail("Vocab.load", "path", "a vocabulary JSON written by Vocab.save", f"{path} ({err})")
        if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
            fail("Vocab.load", "path", f"a JSON object with format {_FORMAT!r}", str(path))
        return cls(payload["tokens"], payload["level"])


class Labels:
    """The classes of a task (tags, categories): ``names[i]`` is class ``i``; saved as JSON."""

    def __init__(self, names: Iterable[str]):
        self.names = tuple(names)
        if not self.names or len(set(self.names)) != len(self.names):
            fail("Labels", "names", "a non-empty sequence without duplicates", self.names[:10])
        self.index = {name: i for i, name in enumerate(self.names)}

    def __len__(self) -> int:
        return len(self.names)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Labels) and self.names == other.names

    def __repr__(self) -> str:
        return f"Labels({len(self)}: {', '.join(self.names[:5])}{', ...' if len(self) > 5 else ''})"

    def encode(self, names: Iterable[str], where: str = "Labels.encode") -> np.ndarray:
        """int32 class ids of ``names``; a name not among the classes is an error."""
        try:
            return np.asarray([self.index[name] for name in names], np.int32)
        except KeyError as err:
            fail(where, "label", f"one of the {len(self)} classes {self.names[:8]}...",
                 repr(err.args[0]))

    def to_json(self) -> str:
        return json.dumps({"format": _LABELS_FORMAT, "names": list(self.names)},
                          ensure_ascii=False, indent=0)

    @classmethod
    def load(cls, path: str | Path) -> Labels:
        """Read labels written with ``to_json``."""
        try:
            payload = json.loads(Path(path).read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            fail("Labels.load", "path", "a labels JSON file", f"{path} ({err})")
        if not isinstance(payload, dict) or payload.get("format") != _LABELS_FORMAT:
            fail("Labels.load", "path", f"a JSON object with format {_LABELS_FORMAT!r}", str(path))
        return cls(payload["names"])
