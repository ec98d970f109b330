"""A bag of hashed character n-grams: the features of a character n-gram linear model, learnt as
embeddings (fastText's subword bag, Bojanowski et al. 2017; Joulin et al. 2017, sec. 2.1).

A sequence c_1 .. c_L of character ids (L = its length) is framed by a boundary mark,
s = (#, c_1, .., c_L, #), with # = ``num_chars`` (an id no character has). Every window of s of
n = 1 .. ``max_order`` consecutive symbols is one n-gram, hashed into one of ``num_buckets``
rows of an embedding table E by the 32-bit FNV-1a hash of the symbols (n, s_i + 1, .., s_{i+n-1}
+ 1) (Fowler, Noll and Vo; n first keeps a unigram and a bigram of the same symbols apart):

    h = 2166136261;  h = ((h XOR x) * 16777619) mod 2**32 for each x;  bucket = h mod num_buckets

The feature of the sequence is the mean of the rows of its G = sum_n (L + 3 - n) n-grams:

    f = (1 / G) sum_{windows g} E[hash(g)]

Padding past a sequence's length changes nothing.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from rnnjax.validation import check_positive_int, fail

Array = jax.Array
FNV_OFFSET, FNV_PRIME = 2166136261, 16777619  # 32-bit FNV-1a (module docstring)


def ngram_buckets(chars: Array, lengths: Array, *, num_chars: int, max_order: int,
                  num_buckets: int) -> tuple[Array, Array]:
    """chars [B, T] and lengths [B] -> (bucket ids [B, N], valid [B, N]) of every n-gram window
    of the framed sequences (module docstring), n = 1 .. max_order, windows past a length invalid
    (their id is 0)."""
    batch, time = chars.shape
    positions = jnp.arange(time + 2)[None, :]  # framed positions 0 .. T + 1
    framed = jnp.concatenate([jnp.full((batch, 1), num_chars, chars.dtype), chars,
                              jnp.zeros((batch, 1), chars.dtype)], axis=1).astype(jnp.int32)
    framed = jnp.where(positions == lengths[:, None] + 1, num_chars, framed)
    ids, valid = [], []
    for order in range(1, max_order + 1):
        starts = time + 3 - order  # windows of the longest framed sequence
        if starts <= 0:
            continue
        hashed = (jnp.uint32(FNV_OFFSET) ^ jnp.uint32(order)) * jnp.uint32(FNV_PRIME)
        hashed = jnp.broadcast_to(hashed, (batch, starts))
        for k in range(order):  # uint32 products wrap around: mod 2**32
            hashed = (hashed ^ (framed[:, k:k + starts] + 1).astype(jnp.uint32)
                      ) * jnp.uint32(FNV_PRIME)
        inside = jnp.arange(starts)[None, :] + order - 1 <= lengths[:, None] + 1
        buckets = (hashed % jnp.uint32(num_buckets)).astype(jnp.int32)
        ids.append(jnp.where(inside, buckets, 0))
        valid.append(inside)
    return jnp.concatenate(ids, axis=1), jnp.concatenate(valid, axis=1)


class CharNgramBag(nnx.Module):
    """chars [B, T], lengths [B] -> the mean hashed n-gram embedding [B, embed_size] (module
    docstring)."""

    where = "CharNgramBag"

    def __init__(self, num_chars: int, *, rngs: nnx.Rngs, max_order: int = 4,
                 num_buckets: int = 2**18, embed_size: int = 64):
        self.num_chars = check_positive_int(self.where, "num_chars", num_chars)
        self.max_order = check_positive_int(self.where, "max_order", max_order)
        self.num_buckets = check_positive_int(self.where, "num_buckets", num_buckets)
        if num_buckets > 2**31:
            fail(self.where, "num_buckets", "<= 2**31", num_buckets)
        self.output_size = check_positive_int(self.where, "embed_size", embed_size)
        self.embed = nnx.Embed(num_buckets, embed_size, rngs=rngs)

    def __call__(self, chars: Array, lengths: Array) -> Array:
        ids, valid = ngram_buckets(chars, lengths, num_chars=self.num_chars,
                                   max_order=self.max_order, num_buckets=self.num_buckets)
        rows = jnp.where(valid[..., None], self.embed(ids), 0.0)
        return rows.sum(axis=1) / valid.sum(axis=1, keepdims=True).astype(rows.dtype)
