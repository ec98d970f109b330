"""A linear-chain conditional random field over per-token scores (Lafferty et al. 2001; the
output layer of the BiLSTM-CRF, Huang et al. 2015, Lample et al. 2016).

For emissions e [T, K] (a tagger's per-token scores), transitions A [K, K] (A[i, j]: from tag i
to tag j), start and end scores s, f [K], a tag path y_0..y_{n-1} (n = the sentence's length)
scores

    score(y) = s[y_0] + sum_{t<n} e_t[y_t] + sum_{1<=t<n} A[y_{t-1}, y_t] + f[y_{n-1}]

and p(y | e) = exp(score(y)) / Z with the log-partition computed by the forward algorithm in log
space:

    alpha_0 = s + e_0,   alpha_t[j] = logsumexp_i(alpha_{t-1}[i] + A[i, j]) + e_t[j],
    log Z = logsumexp_j(alpha_{n-1}[j] + f[j]).

Viterbi decoding replaces logsumexp by max and keeps the argmax as a backpointer, then follows
the backpointers from argmax_j(delta_{n-1}[j] + f[j]). Steps at or past a sentence's length leave
alpha / delta unchanged (and point each tag back to itself), so padding changes nothing.

Transition constraints (``allowed_transitions``) forbid, e.g., I-X after O in IOB2: a forbidden
transition, start or end gets the score ``FORBIDDEN`` (-1e4), so its paths have probability
exp(-1e4) = 0 in float32 and are never decoded while any allowed path exists.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from rnnjax.validation import (
    check_choice,
    check_float_array,
    check_positive_int,
    check_seq_lengths,
    fail,
)

Array = jax.Array
FORBIDDEN = -1e4
SCHEMES = ("IOB1", "IOB2", "IOBES")


def _split_tag(tag: str) -> tuple[str, str]:
    """("B", "PER") for "B-PER"; ("O", "") for "O" and any tag without a prefix."""
    prefix, dash, kind = tag.partition("-")
    return (prefix, kind) if dash and prefix in ("B", "I", "E", "S") else ("O", "")


def allowed_transitions(tags: Sequence[str], scheme: str
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boolean (transitions [K, K], start [K], end [K]) of the paths valid in ``scheme``.

    IOB2: I-X only after B-X or I-X (never first). IOBES: I-X and E-X only after B-X or I-X;
    B-X, S-X and O only after E-Y, S-Y or O (or first); a sentence ends only with E, S or O.
    IOB1 (I-X opens an entity; B-X only separates two adjacent X entities): B-X only after I-X
    or B-X.
    """
    check_choice("allowed_transitions", "scheme", scheme, SCHEMES)
    parts = [_split_tag(t) for t in tags]
    k = len(parts)
    transitions = np.ones((k, k), bool)
    start, end = np.ones(k, bool), np.ones(k, bool)
    for j, (to_prefix, to_kind) in enumerate(parts):
        for i, (from_prefix, from_kind) in enumerate(parts):
            inside = from_prefix in ("B", "I") and from_kind == to_kind
            if scheme == "IOB2" and to_prefix == "I":
                transitions[i, j] = inside
            elif scheme == "IOB1" and to_prefix == "B":
                transitions[i, j] = from_prefix in ("B", "I") and from_kind == to_kind
            elif scheme == "IOBES":
                transitions[i, j] = inside if to_prefix in ("I", "E") else (
                    from_prefix in ("E", "S", "O"))
        start[j] = not ((scheme == "IOB2" and to_prefix == "I")
                        or (scheme == "IOBES" and to_prefix in ("I", "E"))
                        or (scheme == "IOB1" and to_prefix == "B"))
        end[j] = scheme != "IOBES" or to_prefix in ("E", "S", "O")
    return transitions, start, end


def _check(where: str, emissions: Array, lengths: Array) -> None:
    check_float_array(where, "emissions", emissions, 3)
    check_seq_lengths(where, lengths, emissions.shape[0], emissions.shape[1])


def crf_log_partition(emissions: Array, lengths: Array, transitions: Array, start: Array,
                      end: Array) -> Array:
    """log Z [B] of emissions [B, T, K] with lengths [B] (values in [1, T]), by the forward
    algorithm (module docstring)."""
    _check("crf_log_partition", emissions, lengths)

    def step(alpha, inputs):
        e_t, t = inputs
        new = jax.nn.logsumexp(alpha[:, :, None] + transitions[None], axis=1) + e_t
        return jnp.where((t < lengths)[:, None], new, alpha), None

    steps = jnp.arange(1, emissions.shape[1])
    alpha, _ = jax.lax.scan(step, start + emissions[:, 0],
                            (jnp.swapaxes(emissions[:, 1:], 0, 1), steps))
    return jax.nn.logsumexp(alpha + end, axis=-1)


def crf_path_score(emissions: Array, tags: Array, lengths: Array, transitions: Array,
                   start: Array, end: Array) -> Array:
    """score(y) [B] of the tag paths tags [B, T] (entries past a length are ignored)."""
    _check("crf_path_score", emissions, lengths)
    time = emissions.shape[1]
    valid = jnp.arange(time)[None, :] < lengths[:, None]
    tags = jnp.where(valid, tags, 0)
    emitted = jnp.take_along_axis(emissions, tags[..., None], axis=-1)[..., 0]
    moved = transitions[tags[:, :-1], tags[:, 1:]]
    last = jnp.take_along_axis(tags, (lengths - 1)[:, None], axis=1)[:, 0]
    return (start[tags[:, 0]] + jnp.where(valid, emitted, 0.0).sum(1)
            + jnp.where(valid[:, 1:], moved, 0.0).sum(1) + end[last])


def viterbi_decode(emissions: Array, lengths: Array, transitions: Array, start: Array,
                   end: Array) -> tuple[Array, Array]:
    """(the best paths [B, T], 0 past each length; their scores [B])."""
    _check("viterbi_decode", emissions, lengths)
    batch, time, k = emissions.shape
    keep = jnp.broadcast_to(jnp.arange(k), (batch, k))

    def forward(delta, inputs):
        e_t, t = inputs
        candidates = delta[:, :, None] + transitions[None]  # [B, from, to]
        active = (t < lengths)[:, None]
        new = jnp.where(active, candidates.max(axis=1) + e_t, delta)
        return new, jnp.where(active, candidates.argmax(axis=1), keep)

    delta, pointers = jax.lax.scan(forward, start + emissions[:, 0],
                                   (jnp.swapaxes(emissions[:, 1:], 0, 1), jnp.arange(1, time)))
    final = delta + end
    best = final.argmax(axis=-1)

    def backward(tag, pointer):
        previous = jnp.take_along_axis(pointer, tag[:, None], axis=1)[:, 0]
        return previous, previous

    _, earlier = jax.lax.scan(backward, best, pointers, reverse=True)
    path = jnp.concatenate([jnp.swapaxes(earlier, 0, 1), best[:, None]], axis=1)
    path = jnp.where(jnp.arange(time)[None, :] < lengths[:, None], path, 0)
    return path.astype(jnp.int32), final.max(axis=-1)


class CRF(nnx.Module):
    """Learnable transitions A [K, K] and start / end scores [K] (zero-initialised), optionally
    constrained by ``allowed_transitions(tag_names, scheme)``."""

    def __init__(self, num_tags: int, *, tag_names: Sequence[str] | None = None,
                 scheme: str | None = None):
        self.num_tags = check_positive_int("CRF", "num_tags", num_tags)
        self.transitions = nnx.Param(jnp.zeros((num_tags, num_tags)))
        self.start = nnx.Param(jnp.zeros(num_tags))
        self.end = nnx.Param(jnp.zeros(num_tags))
        if scheme is None:
            masks = (np.ones((num_tags, num_tags), bool), np.ones(num_tags, bool),
                     np.ones(num_tags, bool))
        else:
            if tag_names is None or len(tag_names) != num_tags:
                fail("CRF", "tag_names", f"{num_tags} tag names with scheme={scheme!r}",
                     repr(tag_names))
            masks = allowed_transitions(tag_names, scheme)
        # static (part of the graph definition, never a parameter): nested tuples of bools
        self.allowed = tuple(tuple(np.asarray(m).tolist()) for m in masks)

    def scores(self) -> tuple[Array, Array, Array]:
        """(A, s, f) with every forbidden entry set to ``FORBIDDEN``."""
        params = (self.transitions[...], self.start[...], self.end[...])
        return tuple(jnp.where(np.asarray(mask), p, FORBIDDEN)
                     for p, mask in zip(params, self.allowed, strict=True))

    def log_likelihood(self, emissions: Array, tags: Array, lengths: Array) -> Array:
        """log p(tags | emissions) [B] = score(tags) - log Z."""
        scores = self.scores()
        return (crf_path_score(emissions, tags, lengths, *scores)
                - crf_log_partition(emissions, lengths, *scores))

    def decode(self, emissions: Array, lengths: Array) -> Array:
        """The Viterbi paths [B, T] (0 past each length)."""
        return viterbi_decode(emissions, lengths, *self.scores())[0]
