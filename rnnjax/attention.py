"""Attention over a padded memory (encoder states): additive and multiplicative scores.

For a query q [Q] (a decoder state) and memory states m_s [M], s < length:

    additive (Bahdanau, Cho & Bengio 2015):  score_s = v^T tanh(W_q q + W_m m_s)
    dot (Luong, Pham & Manning 2015):        score_s = q^T m_s            (needs Q == M)
    general (Luong et al. 2015):             score_s = q^T W m_s
    a = softmax over s < length of score_s,  context c = sum_s a_s m_s

Positions past a memory's length get weight exactly 0, so a padded memory gives the same
context as the unpadded one. The memory-side products (W_m m_s, W m_s) do not depend on the
query: ``keys(memory)`` computes them once per source, and every decoding step reuses them.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from rnnjax.ops import over_rows
from rnnjax.validation import check_choice, check_positive_int, fail

Array = jax.Array
ATTENTIONS = ("none", "additive", "dot", "general")


def memory_mask(lengths: Array, size: int) -> Array:
    """Boolean [B, size]: True at the valid positions s < lengths[b]."""
    return jnp.arange(size)[None, :] < lengths[:, None]


class Attention(nnx.Module):
    """A score function of ``ATTENTIONS`` (not "none") between queries and a masked memory."""

    def __init__(self, kind: str, query_size: int, memory_size: int, *, rngs: nnx.Rngs,
                 attention_size: int | None = None):
        where = "Attention"
        self.kind = check_choice(where, "kind", kind, ATTENTIONS[1:])
        self.query_size = check_positive_int(where, "query_size", query_size)
        self.memory_size = check_positive_int(where, "memory_size", memory_size)
        if kind == "dot" and query_size != memory_size:
            fail(where, "query_size", f"the memory size {memory_size} for dot attention (or "
                 "use 'general')", query_size)
        if kind == "additive":
            size = check_positive_int(where, "attention_size", attention_size or query_size)
            self.w_query = nnx.Linear(query_size, size, use_bias=False, rngs=rngs)
            self.w_memory = nnx.Linear(memory_size, size, use_bias=False, rngs=rngs)
            self.v = nnx.Linear(size, 1, use_bias=False, rngs=rngs)
        elif kind == "general":
            self.w_memory = nnx.Linear(memory_size, query_size, use_bias=False, rngs=rngs)

    def keys(self, memory: Array) -> Array:
        """The query-independent side of the score for memory [B, S, M]: [B, S, K]."""
        return memory if self.kind == "dot" else over_rows(self.w_memory, memory)

    def __call__(self, query: Array, memory: Array, mask: Array, keys: Array | None = None
                 ) -> tuple[Array, Array]:
        """query [B, Q] or [B, T, Q] (T queries at once) -> (context [B, (T,) M],
        weights [B, (T,) S]); ``mask`` [B, S] marks the valid memory positions."""
        single = query.ndim == 2
        q = query[:, None] if single else query
        k = self.keys(memory) if keys is None else keys
        if self.kind == "additive":
            hidden = jnp.tanh(over_rows(self.w_query, q)[:, :, None] + k[:, None])
            scores = over_rows(self.v, hidden)[..., 0]  # [B, T, S]
        else:
            scores = jnp.einsum("btk,bsk->bts", q, k)
        scores = jnp.where(mask[:, None], scores, -jnp.inf)
        weights = jax.nn.softmax(scores, axis=-1)
        context = jnp.einsum("bts,bsm->btm", weights, memory)
        return (context[:, 0], weights[:, 0]) if single else (context, weights)
