"""Tag-scheme conversion and entity-level scoring against hand-counted fixtures."""

import numpy as np
import pytest

from rnnjax.entities import (
    SCHEMES,
    convert_tags,
    detect_scheme,
    entity_scores,
    entity_spans,
    spans_to_tags,
)

IOB1 = ["I-PER", "I-PER", "B-PER", "O", "I-LOC"]
IOB2 = ["B-PER", "I-PER", "B-PER", "O", "B-LOC"]
IOBES = ["B-PER", "E-PER", "S-PER", "O", "S-LOC"]
SPANS = [("PER", 0, 2), ("PER", 2, 3), ("LOC", 4, 5)]


@pytest.mark.parametrize("tags,scheme", [(IOB1, "IOB1"), (IOB2, "IOB2"), (IOBES, "IOBES")])
def test_every_scheme_reads_and_writes_the_same_spans(tags, scheme):
    assert entity_spans(tags, scheme) == (SPANS, 0)
    assert spans_to_tags(SPANS, 5, scheme) == tags
    assert detect_scheme([tags, ["O"]]) == scheme
    for target, expected in (("IOB1", IOB1), ("IOB2", IOB2), ("IOBES", IOBES)):
        assert convert_tags([tags], target) == ([expected], 0)


def test_tags_without_an_opening_are_converted_and_counted():
    # IOB2: I-ORG after O and I-LOC after B-PER open entities (as conlleval reads them)
    tags = ["O", "I-ORG", "I-ORG", "B-PER", "I-LOC"]
    assert entity_spans(tags, "IOB2") == ([("ORG", 1, 3), ("PER", 3, 4), ("LOC", 4, 5)], 2)
    assert convert_tags([tags], "IOBES", "IOB2") == (
        [["O", "B-ORG", "E-ORG", "S-PER", "S-LOC"]], 2)
    # IOBES: E-X without B-X, and an entity left open by O and at the end
    assert entity_spans(["E-PER", "O", "B-LOC", "O", "B-ORG", "I-ORG"], "IOBES") == (
        [("PER", 0, 1), ("LOC", 2, 3), ("ORG", 4, 6)], 3)
    # the same I-X after O is valid IOB1 and repairs nothing
    assert entity_spans(tags, "IOB1")[1] == 0


def test_random_spans_round_trip_through_every_scheme():
    rng = np.random.default_rng(0)
    for _ in range(200):
        spans, position = [], 0
        while True:
            position += int(rng.integers(0, 3))
            width = int(rng.integers(1, 4))
            if position + width > 12:
                break
            spans.append((str(rng.choice(["PER", "LOC"])), position, position + width))
            position += width
        for scheme in SCHEMES:
            assert entity_spans(spans_to_tags(spans, 12, scheme), scheme) == (spans, 0)


def test_seqeval_scores_equal_a_hand_count():
    gold = [["B-PER", "I-PER", "O", "B-LOC", "O", "B-ORG", "I-ORG"], ["B-LOC", "O", "B-PER"],
            ["O", "B-MISC"]]
    predicted = [["B-PER", "I-PER", "O", "B-LOC", "O", "B-ORG", "O"], ["B-PER", "O", "B-PER"],
                 ["O", "I-MISC"]]
    # gold entities: PER x2, LOC x2, ORG, MISC (6); predicted: PER x3, LOC, ORG (too short),
    # MISC (opened by I-, read as conlleval does) (6); correct: PER x2, LOC, MISC (4)
    scores = entity_scores(gold, predicted)
    assert scores["precision"] == pytest.approx(4 / 6)
    assert scores["recall"] == pytest.approx(4 / 6)
    assert scores["f1"] == pytest.approx(4 / 6)
    per_p, per_r = 2 / 3, 1.0
    assert scores["f1_PER"] == pytest.approx(2 * per_p * per_r / (per_p + per_r))
    assert scores["f1_LOC"] == pytest.approx(2 * 1.0 * 0.5 / 1.5)
    assert scores["f1_ORG"] == 0.0 and scores["f1_MISC"] == 1.0
    assert scores["support_LOC"] == 2
    with pytest.raises(ValueError, match="entity_scores: predicted must be one tag per gold tag"):
        entity_scores(gold, [t[:-1] for t in predicted])
    with pytest.raises(ValueError, match="split_tag: tag must be O or PREFIX-TYPE"):
        entity_spans(["B-PER", "PER"], "IOB2")
