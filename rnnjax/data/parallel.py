"""Parallel text for translation: the de-en example sentences of the Ding dictionary (Debian
``trans-de-en``), any ``source<TAB>target`` file, a fixed hash-based split, and tokenizers.

    python -m rnnjax.data prepare --corpus=trans_de_en   # train/valid/test.tsv, de<TAB>en
    pairs = load_pairs("trans_de_en", direction="en-de")  # {"train": [Pair, ...], ...}
    pairs = load_pairs(path="my_pairs.tsv")               # a user file, split the same way

Every pair goes to the test split when the first 8 hex digits of the SHA-256 of its source text
(the German side for the dictionary) are 0-4 modulo 100, to valid at 5-9, else to train: the
split depends on the sentence alone, never on file order, and identical sources stay together.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnjax.data.corpora import SPLITS
from rnnjax.data.prepare import (
    Package,
    Source,
    prepared_dir,
    read_texts,
    register,
    unpack_deb,
)
from rnnjax.data.text import read_lines
from rnnjax.data.vocab import Vocab
from rnnjax.validation import check_choice, check_positive_int, fail

TRANS_DE_EN = "trans_de_en"
DIRECTIONS = ("de-en", "en-de")
TEST_PERCENT, VALID_PERCENT = 5, 5
_DICTIONARY = "usr/share/trans/de-en"
_SENTENCE_END = (".", "?", "!")


@dataclass(frozen=True)
class Pair:
    """A sentence pair and the 1-based line of the file it came from (for error messages)."""

    source: str
    target: str
    line: int


def split_of(source: str) -> str:
    """"train", "valid" or "test": the fixed split of a pair, from its source text's hash."""
    bucket = int(hashlib.sha256(source.encode("utf-8")).hexdigest()[:8], 16) % 100
    return "test" if bucket < TEST_PERCENT else "valid" if bucket < (
        TEST_PERCENT + VALID_PERCENT) else "train"


def dictionary_pairs(text: str) -> list[tuple[str, str]]:
    """The example-sentence pairs of a Ding dictionary file (``de | de :: en | en`` lines).

    Sub-entries (" | ") align between the two sides; of alternatives ("; ") the first is kept.
    A pair is kept when both sides have at least 3 words and end with . ? or !; repeated pairs
    are kept once, in file order.
    """
    pairs: dict[tuple[str, str], None] = {}
    for line in text.split("\n"):
        if line.startswith("#") or " :: " not in line:
            continue
        german, _, english = line.partition(" :: ")
        for de, en in zip(german.split(" | "), english.split(" | "), strict=False):
            de, en = de.split("; ")[0].strip(), en.split("; ")[0].strip()
            if all(len(s.split()) >= 3 and s.endswith(_SENTENCE_END) for s in (de, en)):
                pairs[(de, en)] = None
    return list(pairs)


def _trans_de_en_files(archive: Path, tmp: Path) -> dict[str, str]:
    """train/valid/test .tsv (de<TAB>en) from the trans-de-en .deb (or an unpacked tree)."""
    if archive.suffix == ".deb":
        archive = unpack_deb(archive, tmp, _DICTIONARY)
    text = read_texts(archive, lambda path: path == _DICTIONARY, _DICTIONARY)[_DICTIONARY]
    files = {f"{split}.tsv": [] for split in SPLITS}
    for de, en in dictionary_pairs(text):
        files[f"{split_of(de)}.tsv"].append(f"{de}\t{en}\n")
    return {name: "".join(lines) for name, lines in files.items()}


register(Source(TRANS_DE_EN, Package("deb", "trans-de-en", "1.9-6"),
                "74c3c71590472068b82f81542acfa7e6f2b89db47fc993610e399bd79ab74452",
                _trans_de_en_files, "German-English example sentences of the Ding dictionary "
                "(Frank Richter, TU Chemnitz), hash-split train/valid/test", "GPL-2.0-or-later"))


def read_pairs(path: str | os.PathLike, *, where: str = "read_pairs") -> list[Pair]:
    """The ``source<TAB>target`` lines of a UTF-8 file (``rnnjax.data.text``: an optional BOM,
    ``\n`` or ``\r\n`` line ends); an error names the file and line of an empty line, a line
    without exactly one tab, or an empty side."""
    path = Path(path).expanduser()
    if not path.is_file():
        fail(where, "path", "an existing source<TAB>target file", repr(str(path)),
             FileNotFoundError)
    pairs = []
    for number, line in enumerate(read_lines(path, where), start=1):
        at = f"line {number} of {path}"
        if not line.strip():
            fail(where, at, "a source<TAB>target pair", "an empty line")
        if line.count("\t") != 1:
            fail(where, at, "source<TAB>target (exactly one tab)",
                 f"{line.count(chr(9))} tabs in {line[:60]!r}")
        source, target = (side.strip() for side in line.split("\t"))
        for name, side in (("source", source), ("target", target)):
            if not side:
                fail(where, at, f"a non-empty {name}", repr(line[:60]))
        pairs.append(Pair(source, target, number))
    if not pairs:
        fail(where, "path", "a file with at least one pair", str(path))
    return pairs


def load_pairs(corpus: str | None = None, *, path: str | os.PathLike | None = None,
               direction: str = "de-en", data_dir: str | os.PathLike | None = None
               ) -> dict[str, list[Pair]]:
    """{split: pairs} of the prepared ``corpus`` in ``direction``, or of the file ``path``
    (its first column is the source, so ``direction`` must stay "de-en") split by ``split_of``."""
    where = "load_pairs"
    if (corpus is None) == (path is None):
        fail(where, "corpus, path", "exactly one of them", f"corpus={corpus!r}, path={path!r}")
    if path is not None:
        if direction != DIRECTIONS[0]:
            fail(where, "direction", f"{DIRECTIONS[0]!r} with a file (its first column is the "
                 "source; swap the file's columns to translate the other way)", repr(direction))
        splits: dict[str, list[Pair]] = {split: [] for split in SPLITS}
        for pair in read_pairs(path, where=where):
            splits[split_of(pair.source)].append(pair)
        for split, pairs in splits.items():
            if not pairs:
                fail(where, "path", f"a file with enough pairs for a non-empty {split} split "
                     f"({VALID_PERCENT}% each for valid and test)",
                     f"{sum(map(len, splits.values()))} pairs in {path}")
        return splits
    check_choice(where, "corpus", corpus, (TRANS_DE_EN,))
    check_choice(where, "direction", direction, DIRECTIONS)
    folder = prepared_dir(where, corpus, data_dir)
    splits = {split: read_pairs(folder / f"{split}.tsv", where=where) for split in SPLITS}
    if direction == "en-de":
        splits = {split: [Pair(p.target, p.source, p.line) for p in pairs]
                  for split, pairs in splits.items()}
    return splits


# ---- tokenizers ---------------------------------------------------------------------------
class SubwordTokenizer:
    """SentencePiece BPE (Sennrich et al. 2016) trained on one side of the training pairs.

    Ids: 0 padding, 1 unknown, 2 begin, 3 end of sentence. ``decode`` detokenises.
    """

    pad_id, unk_id, bos_id, eos_id = 0, 1, 2, 3

    def __init__(self, model: bytes):
        import sentencepiece as spm

        self.model = model
        self._sp = spm.SentencePieceProcessor(model_proto=model)

    @classmethod
    def train(cls, texts: Sequence[str], vocab_size: int) -> SubwordTokenizer:
        import sentencepiece as spm

        out = io.BytesIO()
        try:
            spm.SentencePieceTrainer.train(
                sentence_iterator=iter(texts), model_writer=out, vocab_size=vocab_size,
                model_type="bpe", character_coverage=1.0, pad_id=0, unk_id=1, bos_id=2,
                eos_id=3, num_threads=1, hard_vocab_limit=False, minloglevel=2)
        except RuntimeError as err:
            fail("SubwordTokenizer.train", "vocab_size", "large enough for the text's "
                 "characters", f"{vocab_size} ({err})")
        return cls(out.getvalue())

    def __len__(self) -> int:
        return self._sp.get_piece_size()

    def encode(self, text: str) -> np.ndarray:
        return np.asarray(self._sp.encode(text), np.int32)

    def decode(self, ids: Iterable[int]) -> str:
        return self._sp.decode([int(i) for i in ids])

    def to_bytes(self) -> bytes:
        return self.model


class WordTokenizer:
    """Whitespace-separated words, the most frequent ``vocab_size`` of the training side
    (``rnnjax.data.Vocab`` at word level). Ids: 0 unknown (also padding), 1 end of sentence,
    which also begins the target. ``decode`` joins words with spaces."""

    pad_id = unk_id = 0
    bos_id = eos_id = 1

    def __init__(self, vocab: Vocab):
        self.vocab = vocab

    @classmethod
    def train(cls, texts: Sequence[str], vocab_size: int) -> WordTokenizer:
        text = "\n".join(re.sub(r"\s+", " ", t) for t in texts)
        return cls(Vocab.build(text, "word", max_size=vocab_size))

    def __len__(self) -> int:
        return len(self.vocab)

    def encode(self, text: str) -> np.ndarray:
        return self.vocab.encode(re.sub(r"\s+", " ", text).strip() + "\n")[:-1]

    def decode(self, ids: Iterable[int]) -> str:
        return " ".join(self.vocab.tokens[int(i)] for i in ids)

    def to_bytes(self) -> bytes:
        return self.vocab.to_json().encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> WordTokenizer:
        import json

        payload = json.loads(data.decode("utf-8"))
        return cls(Vocab(payload["tokens"], payload["level"]))


TOKENIZERS = {"bpe": SubwordTokenizer, "word": WordTokenizer}
Tokenizer = SubwordTokenizer | WordTokenizer


def train_tokenizer(kind: str, texts: Sequence[str], vocab_size: int) -> Tokenizer:
    """A ``TOKENIZERS[kind]`` trained on ``texts``."""
    check_choice("train_tokenizer", "kind", kind, TOKENIZERS)
    check_positive_int("train_tokenizer", "vocab_size", vocab_size)
    return TOKENIZERS[kind].train(texts, vocab_size)


def load_tokenizer(kind: str, data: bytes) -> Tokenizer:
    """A tokenizer saved with ``to_bytes``."""
    check_choice("load_tokenizer", "kind", kind, TOKENIZERS)
    return SubwordTokenizer(data) if kind == "bpe" else WordTokenizer.from_bytes(data)


def encode_pairs(pairs: Sequence[Pair], source_tokenizer: Tokenizer, target_tokenizer: Tokenizer,
                 *, max_length: int, too_long: str, origin: str, where: str = "encode_pairs"
                 ) -> tuple[list[np.ndarray], list[np.ndarray], list[int]]:
    """(sources: ids + EOS, targets: BOS + ids + EOS, indices of the pairs kept).

    A pair with more than ``max_length`` ids on a side (EOS/BOS included) is dropped with
    ``too_long="drop"``, or is an error naming ``origin`` (the file) and its line.
    """
    check_choice(where, "too_long", too_long, ("drop", "error"))
    sources, targets, kept = [], [], []
    for index, pair in enumerate(pairs):
        source = np.append(source_tokenizer.encode(pair.source), source_tokenizer.eos_id)
        target = np.concatenate([[target_tokenizer.bos_id], target_tokenizer.encode(pair.target),
                                 [target_tokenizer.eos_id]]).astype(np.int32)
        longest = max(len(source), len(target) - 1)
        if longest > max_length:
            if too_long == "drop":
                continue
            side = "source" if len(source) > max_length else "target"
            fail(where, f"the {side} of line {pair.line} of {origin}",
                 f"at most max_length={max_length} tokens (or too_long='drop' to skip it)",
                 f"{longest} tokens")
        sources.append(source.astype(np.int32))
        targets.append(target)
        kept.append(index)
    return sources, targets, kept
