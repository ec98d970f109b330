"""Character-level word features, concatenated with the word embedding of a tagger.

Both read chars [B, T, W] (character ids of word t of sentence b, padded to W) with
char_lengths [B, T] (0 for padded words) and return one vector per word, [B, T, output_size],
zero for padded words; characters past a word's length change nothing.

    CharBiLSTM (Lample et al. 2016, sec. 4.1): c = E_c[chars]; a bidirectional LSTM over each
               word; the feature is [h_fwd at the word's last character; h_bwd at its first]
               (each direction's final state), 25 + 25 units in the paper.
    CharCNN    (Ma & Hovy 2016, sec. 2.1): c = dropout(E_c[chars]) (30-d), a convolution of
               width 3 ("same" zero padding) with 30 filters, then the max over the word's
               characters: f_k = max_{i < len} (sum_{d, e} W[d, e, k] c_{i+d-1, e} + b_k).

``CHAR_ENCODERS[kind](num_chars, rngs=..., **options)`` builds one.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from rnnjax import regularizers
from rnnjax.layers import StackedRNN
from rnnjax.pooling import pool
from rnnjax.validation import check_positive_int, check_rate, fail

Array = jax.Array


def _check_chars(where: str, chars: Array, char_lengths: Array) -> None:
    if chars.ndim != 3 or not jnp.issubdtype(chars.dtype, jnp.integer):
        fail(where, "chars", "an integer array [B, T, W]", f"{chars.dtype} {chars.shape}")
    if tuple(char_lengths.shape) != tuple(chars.shape[:2]):
        fail(where, "char_lengths", f"of shape {tuple(chars.shape[:2])}",
             f"shape {tuple(char_lengths.shape)}")


class CharBiLSTM(nnx.Module):
    """Lample et al. (2016)'s character BiLSTM (module docstring)."""

    where = "CharBiLSTM"

    def __init__(self, num_chars: int, *, rngs: nnx.Rngs, embed_size: int = 25,
                 hidden_size: int = 25, cell: str = "lstm", impl: str = "auto",
                 dropout: float = 0.0):
        check_positive_int(self.where, "num_chars", num_chars)
        self.embed = nnx.Embed(num_chars, check_positive_int(self.where, "embed_size",
                                                             embed_size), rngs=rngs)
        self.hidden_size = check_positive_int(self.where, "hidden_size", hidden_size)
        self.dropout = check_rate(self.where, "dropout", dropout)
        self.rnn = StackedRNN(cell, embed_size, hidden_size, 1, rngs=rngs, bidirectional=True,
                              impl=impl)
        self.output_size = 2 * hidden_size

    def __call__(self, chars: Array, char_lengths: Array, *, dropout_key: Array | None = None
                 ) -> Array:
        _check_chars(self.where, chars, char_lengths)
        batch, time, width = chars.shape
        lengths = char_lengths.reshape(-1)
        safe = jnp.maximum(lengths, 1)  # a padded word runs one step, then is zeroed
        x = regularizers.dropout(self.embed(chars.reshape(-1, width)), self.dropout, dropout_key)
        h, _ = self.rnn(x, seq_lengths=safe)
        final = pool(h, safe, "last", backward_size=self.hidden_size)
        final = jnp.where((lengths > 0)[:, None], final, 0.0)
        return final.reshape(batch, time, self.output_size)


class CharCNN(nnx.Module):
    """Ma & Hovy (2016)'s character CNN with max over time (module docstring)."""

    where = "CharCNN"

    def __init__(self, num_chars: int, *, rngs: nnx.Rngs, embed_size: int = 30,
                 num_filters: int = 30, width: int = 3, dropout: float = 0.0):
        check_positive_int(self.where, "num_chars", num_chars)
        self.embed = nnx.Embed(num_chars, check_positive_int(self.where, "embed_size",
                                                             embed_size), rngs=rngs)
        self.width = check_positive_int(self.where, "width", width)
        if width % 2 == 0:
            fail(self.where, "width", "an odd int (centred windows)", width)
        self.dropout = check_rate(self.where, "dropout", dropout)
        self.conv = nnx.Conv(embed_size, check_positive_int(self.where, "num_filters",
                                                            num_filters),
                             kernel_size=(width,), padding="SAME", rngs=rngs)
        self.output_size = num_filters

    def __call__(self, chars: Array, char_lengths: Array, *, dropout_key: Array | None = None
                 ) -> Array:
        _check_chars(self.where, chars, char_lengths)
        batch, time, width = chars.shape
        valid = jnp.arange(width)[None, None, :] < char_lengths[..., None]  # [B, T, W]
        x = regularizers.dropout(self.embed(chars), self.dropout, dropout_key)
        x = jnp.where(valid[..., None], x, 0.0)  # past the word: the convolution's zero padding
        y = self.conv(x.reshape(batch * time, width, -1)).reshape(batch, time, width, -1)
        best = jnp.where(valid[..., None], y, -jnp.inf).max(axis=2)
        return jnp.where((char_lengths > 0)[..., None], best, 0.0)


CHAR_ENCODERS = {"bilstm": CharBiLSTM, "cnn": CharCNN}
