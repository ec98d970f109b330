"""Conversations with one label and one speaker per utterance: the input of
``rnnjax.models.dialogue_rnn``.

No conversation corpus with per-utterance emotion labels and speaker ids ships inside a PyPI or
Debian package (IEMOCAP and MELD, the DialogueRNN paper's, are licensed downloads; the
dialogue packages on the registries carry no per-utterance labels), so
:func:`synthetic_dialogues` draws a seeded task whose labels depend on each speaker's state
and on the context. The paper's table cannot be reproduced with it.

The generative process (K moods, P parties, utterance features of size D). Fixed prototypes,
the same for every split and seed: one cue vector c_k ~ N(0, I_D) per mood and one empathy
marker m ~ N(0, I_D). A dialogue draws its length L ~ U{min_turns..max_turns}, every party's
initial mood, and its speakers: s_0 uniform, then s_t = s_{t-1} with probability ``stay``,
otherwise another party uniformly. Each utterance t of speaker s is of one kind:

* ``REVEAL`` (always the speaker's first utterance, later with probability ``reveal``): with
  probability ``shift`` the speaker's mood first changes to another one, uniformly; the
  features are u_t = c_{mood(s)} + noise;
* ``EMPATHY`` (probability ``empathy``, only when the previous utterance is another party's):
  the speaker adopts the current mood of the previous speaker; u_t = m + noise;
* ``NEUTRAL`` (otherwise): the mood is unchanged; u_t = noise;

with noise ~ N(0, ``noise``^2 I_D). The label of u_t is the speaker's mood after the update.
A neutral utterance's label is the mood its speaker last revealed or adopted, so only a model
that keeps a state per party (or tracks every party in one state) labels it; an empathy
utterance's label is the previous utterance's. A model that sees one utterance alone is right
on the reveals and guesses on the rest: :func:`context_free_accuracy` is its ceiling.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnjax.validation import check_nonnegative_float, check_positive_int, check_rate, fail

#: utterance kinds (the ``kinds`` array), in this order
KINDS = ("reveal", "neutral", "empathy")
REVEAL, NEUTRAL, EMPATHY = range(len(KINDS))
#: seed of the mood cues and the empathy marker (shared by every split and training seed)
PROTOTYPE_SEED = 20190127


class Dialogues(NamedTuple):
    """N conversations padded to T utterances (zeros past ``lengths``)."""

    utterances: np.ndarray  # float32 [N, T, D]: utterance features u_t
    speakers: np.ndarray  # int32 [N, T]: party id of each utterance's speaker, in [0, P)
    labels: np.ndarray  # int32 [N, T]: class of each utterance
    lengths: np.ndarray  # int32 [N]: utterances per conversation, in [1, T]
    kinds: np.ndarray  # int32 [N, T]: REVEAL | NEUTRAL | EMPATHY (synthetic data only)


def check_dialogues(where: str, data: Dialogues, num_parties: int, num_classes: int) -> None:
    """Shapes, dtypes and value ranges of ``data``, one line naming the first bad field."""
    if data.utterances.ndim != 3 or not np.issubdtype(data.utterances.dtype, np.floating):
        fail(where, "utterances", "a float array [N, T, D]",
             f"shape {data.utterances.shape}, dtype {data.utterances.dtype}")
    if not np.isfinite(data.utterances).all():
        fail(where, "utterances", "finite", "NaN or inf")
    n, t, _ = data.utterances.shape
    for name, array, high in (("speakers", data.speakers, num_parties),
                              ("labels", data.labels, num_classes)):
        if array.shape != (n, t) or not np.issubdtype(array.dtype, np.integer):
            fail(where, name, f"an int array of shape {(n, t)}",
                 f"shape {array.shape}, dtype {array.dtype}")
        if array.size and (array.min() < 0 or array.max() >= high):
            fail(where, name, f"ids in [0, {high})", f"[{array.min()}, {array.max()}]")
    if data.lengths.shape != (n,) or (n and (data.lengths.min() < 1 or data.lengths.max() > t)):
        fail(where, "lengths", f"{n} ints in [1, {t}]", data.lengths)


def prototypes(num_moods: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(mood cues [K, D], empathy marker [D]), standard normal, from ``PROTOTYPE_SEED``."""
    rng = np.random.default_rng((PROTOTYPE_SEED, num_moods, size))
    cues = rng.standard_normal((num_moods + 1, size)).astype(np.float32)
    return cues[:num_moods], cues[num_moods]


def synthetic_dialogues(rng: np.random.Generator, num_dialogues: int, *, num_parties: int = 2,
                        num_moods: int = 4, feature_size: int = 16, min_turns: int = 6,
                        max_turns: int = 16, stay: float = 0.2, reveal: float = 0.3,
                        shift: float = 0.5, empathy: float = 0.2, noise: float = 0.5
                        ) -> Dialogues:
    """``num_dialogues`` conversations of the module docstring's process, padded to
    ``max_turns``."""
    where = "synthetic_dialogues"
    count = check_positive_int(where, "num_dialogues", num_dialogues)
    parties = check_positive_int(where, "num_parties", num_parties)
    moods = check_positive_int(where, "num_moods", num_moods)
    if moods < 2:
        fail(where, "num_moods", "an int >= 2", moods)
    size = check_positive_int(where, "feature_size", feature_size)
    low = check_positive_int(where, "min_turns", min_turns)
    high = check_positive_int(where, "max_turns", max_turns)
    if high < low:
        fail(where, "max_turns", f">= min_turns={low}", high)
    for name, value in (("stay", stay), ("reveal", reveal), ("shift", shift),
                        ("empathy", empathy)):
        check_rate(where, name, value)
    if reveal + empathy > 1.0:
        fail(where, "reveal + empathy", "<= 1", reveal + empathy)
    noise = check_nonnegative_float(where, "noise", noise)
    if parties == 1 and stay < 1.0:
        stay = 1.0  # one party always speaks again

    cues, marker = prototypes(moods, size)
    data = Dialogues(np.zeros((count, high, size), np.float32),
                     np.zeros((count, high), np.int32), np.zeros((count, high), np.int32),
                     rng.integers(low, high + 1, size=count).astype(np.int32),
                     np.zeros((count, high), np.int32))
    for n, length in enumerate(data.lengths):
        mood = rng.integers(0, moods, size=parties)
        spoken = np.zeros(parties, bool)
        speaker = rng.integers(0, parties)
        for t in range(length):
            if t and rng.random() >= stay:
                speaker = (speaker + rng.integers(1, parties)) % parties
            draw = rng.random()
            previous = data.speakers[n, t - 1] if t else speaker
            if not spoken[speaker] or draw < reveal:
                if spoken[speaker] and rng.random() < shift:
                    mood[speaker] = (mood[speaker] + rng.integers(1, moods)) % moods
                kind, features = REVEAL, cues[mood[speaker]]
            elif draw < reveal + empathy and previous != speaker:
                kind, features = EMPATHY, marker
                mood[speaker] = mood[previous]
            else:
                kind, features = NEUTRAL, 0.0
            spoken[speaker] = True
            data.utterances[n, t] = features + noise * rng.standard_normal(size)
            data.speakers[n, t], data.labels[n, t], data.kinds[n, t] = speaker, mood[speaker], kind
    return data


def context_free_accuracy(data: Dialogues) -> float:
    """The accuracy of the best predictor that sees each utterance alone and knows the cues:
    right on every reveal, and on the other utterances the most frequent label of their kind
    (their features carry no information on the label)."""
    valid = np.arange(data.labels.shape[1])[None, :] < data.lengths[:, None]
    right = int(np.sum(valid & (data.kinds == REVEAL)))
    for kind in (NEUTRAL, EMPATHY):
        labels = data.labels[valid & (data.kinds == kind)]
        right += int(np.bincount(labels).max()) if labels.size else 0
    return right / int(valid.sum())
