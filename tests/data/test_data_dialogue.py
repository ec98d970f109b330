"""The synthetic conversations: every label replayed from the process's definition, the
context-free ceiling against a hand count, determinism and one-line errors."""

from __future__ import annotations

import numpy as np
import pytest

from rnnjax.data.dialogue import (
    EMPATHY,
    NEUTRAL,
    REVEAL,
    Dialogues,
    check_dialogues,
    context_free_accuracy,
    prototypes,
    synthetic_dialogues,
)


def test_labels_follow_the_process_utterance_by_utterance():
    """Without noise the features name each utterance's kind exactly; every label is then
    the revealed cue's mood, the speaker's previous label (neutral) or the previous
    utterance's label (empathy)."""
    data = synthetic_dialogues(np.random.default_rng(3), 200, num_parties=3, noise=0.0)
    cues, marker = prototypes(4, 16)
    counts = np.zeros(3, int)
    for n, length in enumerate(data.lengths):
        last: dict[int, int] = {}
        assert not data.utterances[n, length:].any() and not data.labels[n, length:].any()
        for t in range(length):
            u, s, label, kind = (data.utterances[n, t], int(data.speakers[n, t]),
                                 int(data.labels[n, t]), int(data.kinds[n, t]))
            counts[kind] += 1
            if s not in last:
                assert kind == REVEAL
            if kind == REVEAL:
                np.testing.assert_array_equal(u, cues[label])
            elif kind == NEUTRAL:
                assert not u.any() and label == last[s]
            else:
                assert kind == EMPATHY and data.speakers[n, t - 1] != s
                np.testing.assert_array_equal(u, marker)
                assert label == data.labels[n, t - 1]
            last[s] = label
    assert counts.min() > 100  # every kind occurs


def test_speaker_turns_and_noise_have_the_configured_rates():
    data = synthetic_dialogues(np.random.default_rng(0), 2000, stay=0.2, noise=0.5)
    inside = np.arange(16)[None] < data.lengths[:, None]
    follow = inside[:, 1:]
    same = (data.speakers[:, 1:] == data.speakers[:, :-1])[follow]
    assert abs(same.mean() - 0.2) < 0.02
    neutral = data.utterances[inside & (data.kinds == NEUTRAL)]
    assert abs(neutral.std() - 0.5) < 0.01
    assert data.lengths.min() == 6 and data.lengths.max() == 16


def test_context_free_ceiling_counts_reveals_and_majority_labels():
    kinds = np.array([[REVEAL, NEUTRAL, NEUTRAL, EMPATHY], [REVEAL, NEUTRAL, EMPATHY, 0]])
    labels = np.array([[1, 2, 2, 0], [3, 1, 0, 0]])
    data = Dialogues(np.zeros((2, 4, 2), np.float32), np.zeros((2, 4), np.int32), labels,
                     np.array([4, 3]), kinds)
    # reveals 2 right; neutral labels 2, 2, 1 -> 2 right; empathy 0, 0 -> 2 right; of 7
    assert context_free_accuracy(data) == pytest.approx(6 / 7)


def test_same_seed_same_conversations():
    first, second = (synthetic_dialogues(np.random.default_rng(7), 5) for _ in range(2))
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"num_dialogues": 0}, "synthetic_dialogues: num_dialogues must be a positive int"),
    ({"num_moods": 1}, "synthetic_dialogues: num_moods must be an int >= 2"),
    ({"min_turns": 5, "max_turns": 3}, "synthetic_dialogues: max_turns must be >= min_turns=5"),
    ({"reveal": 0.7, "empathy": 0.5}, r"synthetic_dialogues: reveal \+ empathy must be <= 1"),
    ({"stay": 1.5}, r"synthetic_dialogues: stay must be a float in \[0, 1\)"),
    ({"noise": float("nan")}, "synthetic_dialogues: noise must be a finite float >= 0"),
])
def test_bad_arguments_fail_in_one_line(kwargs, message):
    kwargs = {"num_dialogues": 2, **kwargs}
    with pytest.raises(ValueError, match=f"^{message}"):
        synthetic_dialogues(np.random.default_rng(0), **kwargs)


def test_check_dialogues_names_the_bad_field():
    data = synthetic_dialogues(np.random.default_rng(0), 3)
    with pytest.raises(ValueError, match=r"^dialogue: speakers must be ids in \[0, 1\)"):
        check_dialogues("dialogue", data, num_parties=1, num_classes=4)
    broken = data._replace(utterances=np.where(data.utterances > 0, np.nan, data.utterances))
    with pytest.raises(ValueError, match=r"^dialogue: utterances must be finite, got NaN"):
        check_dialogues("dialogue", broken, num_parties=2, num_classes=4)
