"""A recurrent sequence classifier (sentences, documents, names), and the encoder it shares with
the tagger (``rnnjax.models.tagger``).

    e_t = dropout(E[w_t])          embedding (random or pretrained)
    h_t = StackedRNN(e)_t          uni- or bidirectional, any cell, any depth
    s   = pool(h, lengths)         last valid step | max | mean over time
    s   = [s; f]                   optional: f the mean hashed char n-gram embedding of the
                                   sequence (``ngram_order`` > 0, ``rnnjax.models.char_ngrams``)
    logits = dropout(s) W + b

``output="sigmoid"`` (two classes only) is a single logistic unit z = dropout(s) w + b, p(class 1)
= sigmoid(z), returned as the logits [0, z]: their softmax is exactly [1 - sigmoid(z), sigmoid(z)],
so the softmax cross-entropy of the task is the binary cross-entropy of the sigmoid unit (the
lectures' Keras model: Embedding(16) -> SimpleRNN(8) -> Dense(1, sigmoid)).

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
from rnnjax.models.char_ngrams import CharNgramBag
from rnnjax.models.lm import check_tokens
from rnnjax.pooling import POOLINGS, pool
from rnnjax.validation import check_choice, check_positive_int, check_rate, fail

Array = jax.Array
OUTPUTS = ("softmax", "sigmoid")


class EmbeddedRNN(nnx.Module):
    """Embedding -> dropout -> ``StackedRNN``, and an output layer ``out`` of ``num_outputs``
    units over its features (and ``head_feature_size`` more features a subclass concatenates);
    subclasses decide where ``out`` applies (pooled or per token)."""

    where = "EmbeddedRNN"

    def __init__(self, vocab_size: int, num_outputs: int, *, rngs: nnx.Rngs, cell: str,
                 embed_size: int, hidden_size: int, num_layers: int, bidirectional: bool,
                 dropout: float, impl: str, embeddings: Any, freeze_embeddings: bool,
                 feature_size: int = 0, head_feature_size: int = 0):
        where = self.where
        self.vocab_size = check_positive_int(where, "vocab_size", vocab_size)
        check_choice(where, "cell", cell, CELLS)
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
        self.rnn = StackedRNN(cell, embed_size + feature_size, hidden_size, num_layers, rngs=rngs,
                              bidirectional=bidirectional, dropout=self.dropout, impl=impl)
        self.backward_size = self.rnn.output_size // 2 if bidirectional else 0
        self.out = nnx.Linear(self.rnn.output_size + head_feature_size, num_outputs, rngs=rngs)

    def encode(self, tokens: Array, lengths: Array, dropout_key: Array | None,
               features: Array | None = None) -> tuple[Array, Array | None]:
        """(features h [B, T, F], zero past each length; the key of the output dropout).

        ``features`` [B, T, feature_size] (e.g. character-level word features) are concatenated
        with the embeddings before the dropout."""
        check_tokens(self.where, tokens)
        keys = [None] * 3 if dropout_key is None else list(jax.random.split(dropout_key, 3))
        table = self.embed.embedding[...]
        if self.freeze_embeddings:
            table = jax.lax.stop_gradient(table)
        x = jnp.take(table, tokens, axis=0)
        if features is not None:
            x = jnp.concatenate([x, features.astype(x.dtype)], axis=-1)
        x = regularizers.dropout(x, self.dropout, keys[0])
        h, _ = self.rnn(x, seq_lengths=lengths, dropout_key=keys[1])
        return h, keys[2]


class RNNClassifier(EmbeddedRNN):
    """tokens [B, T] and lengths [B] -> class logits [B, num_classes]."""

    where = "RNNClassifier"

    def __init__(self, vocab_size: int, num_classes: int, *, rngs: nnx.Rngs, cell: str = "lstm",
                 embed_size: int = 128, hidden_size: int = 128, num_layers: int = 1,
                 bidirectional: bool = False, pooling: str = "last", dropout: float = 0.0,
                 impl: str = "auto", embeddings: Any = None, freeze_embeddings: bool = False,
                 output: str = "softmax", ngram_order: int = 0, ngram_buckets: int = 2**18,
                 ngram_size: int = 64):
        self.num_classes = check_positive_int(self.where, "num_classes", num_classes)
        self.pooling = check_choice(self.where, "pooling", pooling, POOLINGS)
        self.output = check_choice(self.where, "output", output, OUTPUTS)
        if output == "sigmoid" and num_classes != 2:
            fail(self.where, "num_classes", "2 with output='sigmoid'", num_classes)
        if isinstance(ngram_order, bool) or not isinstance(ngram_order, int) or ngram_order < 0:
            fail(self.where, "ngram_order", "an int >= 0 (0: no n-gram bag)", repr(ngram_order))
        self.ngrams = CharNgramBag(vocab_size, rngs=rngs, max_order=ngram_order,
                                   num_buckets=ngram_buckets, embed_size=ngram_size
                                   ) if ngram_order else None
        super().__init__(vocab_size, 1 if output == "sigmoid" else num_classes, rngs=rngs,
                         cell=cell, embed_size=embed_size, hidden_size=hidden_size,
                         num_layers=num_layers,
                         bidirectional=bidirectional, dropout=dropout, impl=impl,
                         embeddings=embeddings, freeze_embeddings=freeze_embeddings,
                         head_feature_size=self.ngrams.output_size if self.ngrams else 0)

    def __call__(self, tokens: Array, lengths: Array, *, dropout_key: Array | None = None
                 ) -> Array:
        h, key = self.encode(tokens, lengths, dropout_key)
        pooled = pool(h, lengths, self.pooling, backward_size=self.backward_size)
        if self.ngrams is not None:
            pooled = jnp.concatenate([pooled, self.ngrams(tokens, lengths)], axis=-1)
        pooled = regularizers.dropout(pooled[:, None], self.dropout, key)[:, 0]
        logits = self.out(pooled).astype(jnp.float32)
        if self.output == "sigmoid":  # one logistic unit = softmax over (0, z)
            logits = jnp.concatenate([jnp.zeros_like(logits), logits], axis=-1)
        return logits
