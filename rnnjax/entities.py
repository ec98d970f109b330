"""Named-entity tag schemes, their conversion, and entity-level scoring with ``seqeval``.

An entity is a span of tokens with a type (PER, LOC, ...). Schemes write it per token as:

    IOB1   I-X inside an entity; B-X only opens an X entity that directly follows another X
           entity (the original CoNLL-2003 files).
    IOB2   B-X opens every entity, I-X continues it (CoNLL-2002, most corpora today).
    IOBES  S-X a one-token entity; B-X, I-X ..., E-X a longer one (Ratinov & Roth 2009).

``O`` is outside any entity. ``entity_spans`` reads the spans of a tag sequence in a scheme;
a tag that the scheme cannot produce there (an I-X or E-X without an opening tag, e.g. I-PER
after O in IOB2, or an IOBES entity that is never closed) is read the way conlleval reads it
(the I-X opens an entity; an unclosed entity ends at the next tag outside it) and counted as
repaired. ``convert_tags`` writes the spans back in another scheme.

``entity_scores`` is ``seqeval``'s entity-level precision / recall / F1 (exact span and type, the
CoNLL shared-task measure, conlleval-compatible by default), micro-averaged over the entities and
per type.
"""

from __future__ import annotations

from collections.abc import Sequence

from rnnjax.validation import check_choice, fail

SCHEMES = ("IOB1", "IOB2", "IOBES")
# (type, first token, one past the last token)
Span = tuple[str, int, int]


def split_tag(tag: str) -> tuple[str, str]:
    """(prefix, type): ("B", "PER") for "B-PER", ("O", "") for "O"."""
    if tag == "O":
        return "O", ""
    prefix, dash, kind = tag.partition("-")
    if not dash or prefix not in ("B", "I", "E", "S") or not kind:
        fail("split_tag", "tag", "O or PREFIX-TYPE with PREFIX one of B, I, E, S", repr(tag))
    return prefix, kind


def detect_scheme(sentences: Sequence[Sequence[str]]) -> str:
    """IOBES if any tag is E-X or S-X; else IOB1 if no B-X ever opens an entity (after O, at a
    sentence's start or after another type) while some I-X does; else IOB2."""
    opened_by = set()
    for tags in sentences:
        previous = ("O", "")
        for tag in tags:
            prefix, kind = split_tag(tag)
            if prefix in ("E", "S"):
                return "IOBES"
            if prefix in ("B", "I") and (previous[0] == "O" or previous[1] != kind):
                opened_by.add(prefix)
            previous = (prefix, kind)
    return "IOB1" if "I" in opened_by and "B" not in opened_by else "IOB2"


def entity_spans(tags: Sequence[str], scheme: str) -> tuple[list[Span], int]:
    """(the entities of ``tags`` read in ``scheme``, how many tags were repaired)."""
    check_choice("entity_spans", "scheme", scheme, SCHEMES)
    spans: list[Span] = []
    repaired = 0
    current: tuple[str, int] | None = None  # (type, start) of the entity being read
    for i, tag in enumerate(tags):
        prefix, kind = split_tag(tag)
        same = current is not None and current[0] == kind
        if prefix == "O":
            opens = False
        else:
            opens = prefix in ("B", "S") or not same
            repaired += prefix in ("I", "E") and opens and scheme != "IOB1"
        if current is not None and (prefix == "O" or opens):
            repaired += scheme == "IOBES"  # an IOBES entity is closed by E-X, never by O
            spans.append((current[0], current[1], i))
            current = None
        if opens:
            current = (kind, i)
        if current is not None and scheme == "IOBES" and prefix in ("E", "S"):
            spans.append((current[0], current[1], i + 1))
            current = None
    if current is not None:
        repaired += scheme == "IOBES"
        spans.append((current[0], current[1], len(tags)))
    return spans, repaired


def spans_to_tags(spans: Sequence[Span], length: int, scheme: str) -> list[str]:
    """The tags of ``length`` tokens holding the (non-overlapping) ``spans`` in ``scheme``."""
    check_choice("spans_to_tags", "scheme", scheme, SCHEMES)
    tags = ["O"] * length
    previous_end, previous_kind = -1, ""
    for kind, start, end in sorted(spans, key=lambda s: s[1]):
        tags[start:end] = [f"I-{kind}"] * (end - start)
        if scheme == "IOB2" or (scheme == "IOB1" and start == previous_end
                                and kind == previous_kind):
            tags[start] = f"B-{kind}"
        elif scheme == "IOBES":
            tags[start] = f"{'S' if end - start == 1 else 'B'}-{kind}"
            if end - start > 1:
                tags[end - 1] = f"E-{kind}"
        previous_end, previous_kind = end, kind
    return tags


def convert_tags(sentences: Sequence[Sequence[str]], target: str, source: str | None = None
                 ) -> tuple[list[list[str]], int]:
    """(the sentences' tags rewritten in ``target``, how many tags were repaired); ``source``
    None: ``detect_scheme``."""
    check_choice("convert_tags", "target", target, SCHEMES)
    source = detect_scheme(sentences) if source is None else source
    check_choice("convert_tags", "source", source, SCHEMES)
    converted, repaired = [], 0
    for tags in sentences:
        spans, count = entity_spans(tags, source)
        converted.append(spans_to_tags(spans, len(tags), target))
        repaired += count
    return converted, repaired


def entity_scores(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]
                  ) -> dict[str, float]:
    """Entity-level ``precision``, ``recall``, ``f1`` (micro-averaged) and ``f1_<TYPE>``,
    ``support_<TYPE>`` per gold type, by ``seqeval`` (conlleval's reading of the tags)."""
    if len(gold) != len(predicted) or any(
            len(g) != len(p) for g, p in zip(gold, predicted, strict=True)):
        fail("entity_scores", "predicted", "one tag per gold tag",
             f"{sum(map(len, predicted))} tags for {sum(map(len, gold))}")
    # imported here: seqeval loads scikit-learn, scipy and pandas (~2 s), which every other
    # importer of rnnjax.data (each CLI) would pay for nothing
    from seqeval.metrics import classification_report

    report = classification_report([list(t) for t in gold], [list(t) for t in predicted],
                                   output_dict=True, zero_division=0)
    micro = report.pop("micro avg")
    scores = {"precision": float(micro["precision"]), "recall": float(micro["recall"]),
              "f1": float(micro["f1-score"])}
    for kind, row in report.items():
        if not kind.endswith(" avg"):
            scores[f"f1_{kind}"] = float(row["f1-score"])
            scores[f"support_{kind}"] = float(row["support"])
    return scores
