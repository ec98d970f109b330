"""A recurrent sequence tagger (part-of-speech tagging; Graves 2012 ch. 2, Plank et al. 2016).

    e_t = dropout(E[w_t])                 embedding (random or pretrained)
    h_t = StackedRNN(e)_t                 uni- or bidirectional (h_t = [h_fwd_t; h_bwd_t]), any cell
    logits_t = dropout(h_t) W + b         one softmax over the tags per token

Trained with the masked token cross-entropy of ``rnnjax.losses.masked_cross_entropy``: padded
positions have zero features (``StackedRNN`` masks by length), no loss and no gradient, so a
padded batch gives every sentence the logits it has alone.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from rnnjax import regularizers
from rnnjax.models.classifier import EmbeddedRNN
from rnnjax.ops import over_rows
from rnnjax.validation import check_positive_int

Array = jax.Array


class RNNTagger(EmbeddedRNN):
    """tokens [B, T] and lengths [B] -> per-token tag logits [B, T, num_tags]."""

    where = "RNNTagger"

    def __init__(self, vocab_size: int, num_tags: int, *, rngs: nnx.Rngs, cell: str = "lstm",
                 embed_size: int = 100, hidden_size: int = 100, num_layers: int = 1,
                 bidirectional: bool = True, dropout: float = 0.0, impl: str = "auto",
                 embeddings: Any = None, freeze_embeddings: bool = False):
        self.num_tags = check_positive_int(self.where, "num_tags", num_tags)
        super().__init__(vocab_size, num_tags, rngs=rngs, cell=cell, embed_size=embed_size,
                         hidden_size=hidden_size, num_layers=num_layers,
                         bidirectional=bidirectional, dropout=dropout, impl=impl,
                         embeddings=embeddings, freeze_embeddings=freeze_embeddings)

    def __call__(self, tokens: Array, lengths: Array, *, dropout_key: Array | None = None
                 ) -> Array:
        h, key = self.encode(tokens, lengths, dropout_key)
        h = regularizers.dropout(h, self.dropout, key)
        return over_rows(self.out, h).astype(jnp.float32)
