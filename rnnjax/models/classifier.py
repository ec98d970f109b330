"""A recurrent sequence classifier (sentences, documents, names).

    e_t = dropout(E[w_t])          embedding (random or pretrained)
    h_t = StackedRNN(e)_t          uni- or bidirectional, any cell, any depth
    s   = pool(h, lengths)         last valid step | max | mean over time
    logits = dropout(s) W + b

With ``pooling="last"`` a bidirectional stack contributes its forward direction's last step and
its backward direction's first step (where each direction ends). ``embeddings`` initialises E
(e.g. GloVe rows from ``rnnjax.data.embedding_matrix``); ``freeze_embeddings`` stops its
gradient, so the optimiser leaves it unchanged (no weight decay should be used with it).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from rnnjax import regularizers
from rnnjax.cells import CELLS
from rnnjax.layers import StackedRNN
from rnnjax.models.lm import check_tokens
from rnnjax.pooling import POOLINGS, pool
from rnnjax.validation import check_choice, check_positive_int, check_rate, fail

Array = jax.Array


class RNNClassifier(nnx.Module):
    """tokens [B, T] and lengths [B] -> class logits [B, num_classes]."""

    def __init__(self, vocab_size: int, num_classes: int, *, rngs: nnx.Rngs, cell: str = "lstm",
                 embed_size: int = 128, hidden_size: int = 128, num_layers: int = 1,
                 bidirectional: bool = False, pooling: str = "last", dropout: float = 0.0,
                 impl: str = "scan", embeddings: Any = None, freeze_embeddings: bool = False):
        where = "RNNClassifier"
        self.vocab_size = check_positive_int(where, "vocab_size", vocab_size)
        self.num_classes = check_positive_int(where, "num_classes", num_classes)
        check_choice(where, "cell", cell, CELLS)
        self.pooling = check_choice(where, "pooling", pooling, POOLINGS)
        self.dropout = check_rate(where, "dropout", dropout)
        self.freeze_embeddings = bool(freeze_embeddings)
        if embeddings is not None:
            embeddings = np.asarray(embeddings, np.float32)
            if embeddings.shape[0] != vocab_size or embeddings.ndim != 2:
                fail(where, "embeddings", f"an array [{vocab_size}, embed_size]",
                     f"shape {embeddings.shape}")
            embed_size = embeddings.shape[1]
        elif self.freeze_embeddings:
            fail(where, "freeze_embeddings", "False without pretrained embeddings", True)
        embed_size = check_positive_int(where, "embed_size", embed_size)
        init = {} if embeddings is None else {
            "embedding_init": lambda *_: jnp.asarray(embeddings)}
        self.embed = nnx.Embed(vocab_size, embed_size, rngs=rngs, **init)
        self.rnn = StackedRNN(cell, embed_size, hidden_size, num_layers, rngs=rngs,
                              bidirectional=bidirectional, dropout=self.dropout, impl=impl)
        self.backward_size = self.rnn.output_size // 2 if bidirectional else 0
        self.out = nnx.Linear(self.rnn.output_size, num_classes, rngs=rngs)

    def __call__(self, tokens: Array, lengths: Array, *, dropout_key: Array | None = None
                 ) -> Array:
        check_tokens("RNNClassifier", tokens)
        keys = [None] * 3 if dropout_key is None else list(jax.random.split(dropout_key, 3))
        table = self.embed.embedding[...]
        if self.freeze_embeddings:
            table = jax.lax.stop_gradient(table)
        x = regularizers.dropout(jnp.take(table, tokens, axis=0), self.dropout, keys[0])
        h, _ = self.rnn(x, seq_lengths=lengths, dropout_key=keys[1])
        pooled = pool(h, lengths, self.pooling, backward_size=self.backward_size)
        pooled = regularizers.dropout(pooled[:, None], self.dropout, keys[2])[:, 0]
        return self.out(pooled).astype(jnp.float32)
