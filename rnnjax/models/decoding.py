"""Greedy and beam-search decoding of an encoder-decoder, jit-compiled over a batch.

The model supplies ``encode(source, lengths) -> memory``, ``initial_state(memory)`` and
``step(memory, state, token) -> (logits, state, attention weights)`` (``rnnjax.models.Seq2Seq``).
Both decoders are one ``jax.lax.while_loop`` that stops when every sentence has produced
end-of-sentence or after ``max_length`` tokens (the guard against sentences that never end).

Beam search keeps ``beam_size`` live hypotheses per sentence; each step expands them over the
vocabulary, keeps the best 2K candidates by log-probability, moves those among the best K that
end with EOS to the finished set and continues the best K others. Finished hypotheses are ranked
by GNMT's length-normalised score (Wu et al. 2016, eq. 14, without the coverage term):

    s(Y) = log P(Y | X) / lp(Y),   lp(Y) = ((5 + |Y|) / 6) ** alpha      (|Y| counts EOS)

Search stops for a sentence once K hypotheses are finished and no live one can still beat the
worst of them (a live log-probability only falls, and lp grows at most to lp(max_length)). With
``beam_size=1`` and ``alpha=0`` the result is exactly greedy decoding.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from rnnjax.validation import check_positive_int, fail

Array = jax.Array
NEG = -1e9  # the score of an empty slot


def length_penalty(length: Array, alpha: float) -> Array:
    """GNMT's lp(Y) = ((5 + |Y|) / 6) ** alpha."""
    return ((5.0 + length) / 6.0) ** alpha


def _check(where: str, source: Any, lengths: Any, max_length: Any) -> None:
    check_positive_int(where, "max_length", max_length)
    if getattr(source, "ndim", None) != 2 or not jnp.issubdtype(source.dtype, jnp.integer):
        fail(where, "source", "int token ids [B, S]", getattr(source, "shape", type(source)))
    if getattr(lengths, "shape", None) != source.shape[:1]:
        fail(where, "source_lengths", f"of shape ({source.shape[0]},)",
             getattr(lengths, "shape", type(lengths)))


@partial(jax.jit, static_argnames=("graphdef", "max_length", "bos_id", "eos_id"))
def _greedy(graphdef, params, source, lengths, *, max_length, bos_id, eos_id):
    model = nnx.merge(graphdef, params)
    memory = model.encode(source, lengths)
    batch, src_len = source.shape
    tokens = jnp.zeros((batch, max_length), jnp.int32)
    weights = jnp.zeros((batch, max_length, src_len), jnp.float32)
    done = jnp.zeros((batch,), bool)

    def cond(loop):
        t, _, done, *_ = loop
        return (t < max_length) & ~done.all()

    def body(loop):
        t, last, done, state, tokens, weights = loop
        logits, state, attn = model.step(memory, state, last)
        token = jnp.where(done, 0, jnp.argmax(logits, -1).astype(jnp.int32))
        tokens = tokens.at[:, t].set(token)
        if attn is not None:
            weights = weights.at[:, t].set(jnp.where(done[:, None], 0.0, attn))
        return t + 1, token, done | (token == eos_id), state, tokens, weights

    start = jnp.full((batch,), bos_id, jnp.int32)
    _, _, _, _, tokens, weights = jax.lax.while_loop(
        cond, body, (0, start, done, model.initial_state(memory), tokens, weights))
    return tokens, weights


def hypothesis_lengths(tokens: np.ndarray, eos_id: int) -> np.ndarray:
    """Tokens before the first EOS of each row (the row's length if it has none)."""
    is_eos = tokens == eos_id
    return np.where(is_eos.any(1), is_eos.argmax(1), tokens.shape[1])


def greedy_decode(model: nnx.Module, source: Any, source_lengths: Any, *, max_length: int,
                  bos_id: int, eos_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """argmax at every step: (tokens [B, max_length] (EOS, then 0), lengths [B] (tokens before
    EOS), attention weights [B, max_length, S] (zeros without attention))."""
    _check("greedy_decode", source, source_lengths, max_length)
    graphdef, params = nnx.split(model)
    tokens, weights = _greedy(graphdef, params, jnp.asarray(source), jnp.asarray(source_lengths),
                              max_length=max_length, bos_id=bos_id, eos_id=eos_id)
    tokens = np.asarray(tokens)
    return tokens, hypothesis_lengths(tokens, eos_id), np.asarray(weights)


def _gather(tree: Any, index: Array, batch: int, beams: int) -> Any:
    """Rows ``index`` [B, K'] of every leaf laid out [B * K, ...] -> [B * K', ...]."""
    rows = jnp.arange(batch)[:, None]

    def take(x):
        x = x.reshape(batch, beams, *x.shape[1:])[rows, index]
        return x.reshape(batch * index.shape[1], *x.shape[2:])

    return jax.tree.map(take, tree)


@partial(jax.jit, static_argnames=("graphdef", "beam_size", "alpha", "max_length", "bos_id",
                                   "eos_id"))
def _beam(graphdef, params, source, lengths, *, beam_size, alpha, max_length, bos_id, eos_id):
    model = nnx.merge(graphdef, params)
    batch, k = source.shape[0], beam_size
    memory = jax.tree.map(lambda x: jnp.repeat(x, k, axis=0), model.encode(source, lengths))
    rows = jnp.arange(batch)[:, None]
    best_possible = length_penalty(jnp.float32(max_length), alpha)

    def cond(loop):
        t, alive_logp, _, _, _, finished_score, _ = loop
        bound = alive_logp.max(1) / best_possible
        settled = (finished_score.min(1) > NEG / 2) & (finished_score.min(1) >= bound)
        return (t < max_length) & ~settled.all()

    def body(loop):
        t, alive_logp, alive_seq, state, last, finished_score, finished_seq = loop
        logits, state, _ = model.step(memory, state, last.reshape(-1))
        vocab = logits.shape[-1]
        logp = jax.nn.log_softmax(logits).reshape(batch, k, vocab) + alive_logp[..., None]
        top_logp, flat = jax.lax.top_k(logp.reshape(batch, k * vocab), 2 * k)
        parent, token = flat // vocab, (flat % vocab).astype(jnp.int32)
        seq = alive_seq[rows, parent].at[:, :, t].set(token)  # [B, 2K, T]
        ends = token == eos_id
        # EOS among the best K candidates: finished, ranked by the normalised score.
        new_score = jnp.where(ends & (jnp.arange(2 * k) < k),
                              top_logp / length_penalty(t + 1.0, alpha), NEG)
        score = jnp.concatenate([finished_score, new_score], 1)
        finished_score, pick = jax.lax.top_k(score, k)
        finished_seq = jnp.concatenate([finished_seq, seq], 1)[rows, pick]
        # The best K candidates that go on.
        alive_logp, pick = jax.lax.top_k(jnp.where(ends, NEG, top_logp), k)
        state = _gather(state, parent[rows, pick], batch, k)
        return (t + 1, alive_logp, seq[rows, pick], state, token[rows, pick], finished_score,
                finished_seq)

    alive_logp = jnp.tile(jnp.asarray([0.0] + [NEG] * (k - 1)), (batch, 1))  # one start beam
    seqs = jnp.zeros((batch, k, max_length), jnp.int32)
    loop = (0, alive_logp, seqs, model.initial_state(memory),
            jnp.full((batch, k), bos_id, jnp.int32), jnp.full((batch, k), NEG), seqs)
    _, alive_logp, alive_seq, _, _, finished_score, finished_seq = jax.lax.while_loop(
        cond, body, loop)
    # A sentence with no finished hypothesis (max_length reached) keeps its best live one.
    none_finished = finished_score[:, 0] <= NEG / 2
    tokens = jnp.where(none_finished[:, None], alive_seq[:, 0], finished_seq[:, 0])
    score = jnp.where(none_finished, alive_logp[:, 0] / best_possible, finished_score[:, 0])
    return tokens, score


def beam_search(model: nnx.Module, source: Any, source_lengths: Any, *, beam_size: int,
                alpha: float, max_length: int, bos_id: int, eos_id: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The best hypothesis per sentence: (tokens [B, max_length] (EOS, then 0), lengths [B],
    length-normalised scores [B])."""
    where = "beam_search"
    _check(where, source, source_lengths, max_length)
    check_positive_int(where, "beam_size", beam_size)
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or alpha < 0:
        fail(where, "alpha", "a number >= 0 (GNMT length penalty; 0 = none)", repr(alpha))
    graphdef, params = nnx.split(model)
    tokens, score = _beam(graphdef, params, jnp.asarray(source), jnp.asarray(source_lengths),
                          beam_size=beam_size, alpha=float(alpha), max_length=max_length,
                          bos_id=bos_id, eos_id=eos_id)
    tokens = np.asarray(tokens)
    return tokens, hypothesis_lengths(tokens, eos_id), np.asarray(score)
