"""Kim (2014), "Convolutional Neural Networks for Sentence Classification".

    x_{1:n}        word vectors of the sentence (one channel, or two: a frozen and a tuned copy)
    c_i^h = ReLU(w^h . x_{i-h+1:i} + b^h)   for every window of h words, h in ``windows``,
                   the sentence padded with h - 1 zero vectors on each side
    z = [max_i c_i^h for each of ``feature_maps`` filters of each h]   (max-over-time pooling)
    logits = dropout(z) W + b

With two channels each filter has weights for both (a convolution over the concatenated
vectors), as in multichannel re-implementations of Kim's model. The max runs over the windows that
overlap the sentence (len + h - 1 of them), so padding a batch to a longer length changes nothing.
The max-norm constraint on the columns of W (||W[:, k]|| <= 3) belongs to the optimiser
(``rnnjax.train.optim``, ``optim.max_norm``).

Each width is one matmul: the h shifted copies of the padded sentence side by side, [B, T + h - 1,
h D], times the filters as a matrix [h D, maps], rather than a ``lax.conv_general_dilated``, whose
backward pass XLA:CPU runs far slower than a matmul at these sizes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from rnnjax import regularizers
from rnnjax.models.lm import check_tokens
from rnnjax.validation import check_positive_int, check_rate, check_seq_lengths, fail

Array = jax.Array
_WHERE = "KimCNN"
RAND_SCALE = 0.25  # U[-0.25, 0.25] for randomly initialised word vectors (Kim's CNN-rand)


class KimCNN(nnx.Module):
    """tokens [B, T] and lengths [B] -> class logits [B, num_classes].

    ``embeddings`` (pretrained rows, e.g. from ``rnnjax.data.embedding_matrix``) or random
    U[-0.25, 0.25] vectors of ``embed_size``; ``freeze_embeddings`` keeps them fixed (CNN-static);
    ``multichannel`` adds a second, tuned copy of the pretrained vectors beside the frozen one.
    """

    def __init__(self, vocab_size: int, num_classes: int, *, rngs: nnx.Rngs,
                 embed_size: int = 300, windows: Sequence[int] = (3, 4, 5),
                 feature_maps: int = 100, dropout: float = 0.5, embeddings: Any = None,
                 freeze_embeddings: bool = False, multichannel: bool = False):
        self.vocab_size = check_positive_int(_WHERE, "vocab_size", vocab_size)
        self.num_classes = check_positive_int(_WHERE, "num_classes", num_classes)
        self.dropout = check_rate(_WHERE, "dropout", dropout)
        windows = tuple(windows) if isinstance(windows, Sequence) else windows
        if not isinstance(windows, tuple) or not windows or not all(
                isinstance(h, int) and not isinstance(h, bool) and h > 0 for h in windows):
            fail(_WHERE, "windows", "a non-empty sequence of positive ints", repr(windows))
        self.windows = windows
        feature_maps = check_positive_int(_WHERE, "feature_maps", feature_maps)
        self.freeze_embeddings, self.multichannel = bool(freeze_embeddings), bool(multichannel)
        if embeddings is None:
            if self.freeze_embeddings or self.multichannel:
                fail(_WHERE, "freeze_embeddings and multichannel", "False without pretrained "
                     "embeddings", (freeze_embeddings, multichannel))
            embed_size = check_positive_int(_WHERE, "embed_size", embed_size)
            init = nnx.initializers.uniform(2 * RAND_SCALE)
            table = init(rngs.params(), (vocab_size, embed_size)) - RAND_SCALE
        else:
            table = np.asarray(embeddings, np.float32)
            if table.ndim != 2 or table.shape[0] != vocab_size:
                fail(_WHERE, "embeddings", f"an array [{vocab_size}, embed_size]",
                     f"shape {table.shape}")
        self.embedding = nnx.Param(jnp.asarray(table, jnp.float32))
        self.tuned = nnx.Param(jnp.asarray(table, jnp.float32)) if self.multichannel else None
        channels = table.shape[1] * (2 if self.multichannel else 1)
        init = nnx.initializers.lecun_normal()  # fan-in h * channels, as a convolution's
        self.filters = nnx.List([nnx.Param(init(rngs.params(), (h * channels, feature_maps)))
                                 for h in windows])
        self.biases = nnx.List([nnx.Param(jnp.zeros(feature_maps)) for _ in windows])
        self.out = nnx.Linear(feature_maps * len(windows), num_classes, rngs=rngs)

    def __call__(self, tokens: Array, lengths: Array, *, dropout_key: Array | None = None
                 ) -> Array:
        check_tokens(_WHERE, tokens)
        if lengths is None:
            fail(_WHERE, "lengths", "an int array [batch] of sentence lengths", None)
        check_seq_lengths(_WHERE, lengths, *tokens.shape)
        table = self.embedding[...]
        if self.freeze_embeddings or self.multichannel:
            table = jax.lax.stop_gradient(table)
        x = jnp.take(table, tokens, axis=0)
        if self.multichannel:
            x = jnp.concatenate([x, jnp.take(self.tuned[...], tokens, axis=0)], axis=-1)
        time = tokens.shape[1]
        x = jnp.where((jnp.arange(time)[None, :] < lengths[:, None])[..., None], x, 0.0)
        pooled = []
        for h, filters, bias in zip(self.windows, self.filters, self.biases, strict=True):
            padded = jnp.pad(x, ((0, 0), (h - 1, h - 1), (0, 0)))
            windows = jnp.concatenate([padded[:, i:i + time + h - 1] for i in range(h)], -1)
            c = jax.nn.relu(windows @ filters[...] + bias[...])  # [B, T + h - 1, maps]
            overlapping = jnp.arange(time + h - 1)[None, :] < (lengths + h - 1)[:, None]
            pooled.append(jnp.where(overlapping[..., None], c, 0.0).max(axis=1))
        z = regularizers.dropout(jnp.concatenate(pooled, axis=-1)[:, None], self.dropout,
                                 dropout_key)[:, 0]
        return self.out(z).astype(jnp.float32)
