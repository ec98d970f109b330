"""Recurrent language models on the rnnjax stack (Zaremba, Sutskever & Vinyals 2014).

    e_t = dropout(E[w_t])                       embedding, [B, T, embed_size]
    h_t = StackedRNN(e)_t                      dropout between layers (non-recurrent connections)
    logits_t = dropout(h_t) W_out + b_out      W_out = E^T when tied (Press & Wolf 2017)

Dropout acts only on the non-recurrent connections, as in Zaremba et al. 2014; with
``variational=True`` every dropout mask is shared over time (Gal & Ghahramani 2016).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from rnnjax import initializers as inits
from rnnjax import regularizers
from rnnjax.cells import CELLS
from rnnjax.layers import StackedRNN
from rnnjax.ops import over_rows
from rnnjax.validation import check_choice, check_positive_int, check_rate, fail

Array = jax.Array


def check_tokens(where: str, tokens: Any) -> Array:
    """Integer token ids of shape [B, T]."""
    if not hasattr(tokens, "dtype") or not jnp.issubdtype(tokens.dtype, jnp.integer):
        fail(where, "tokens", "an integer array", getattr(tokens, "dtype", type(tokens).__name__),
             TypeError)
    if tokens.ndim != 2:
        fail(where, "tokens", "of rank 2 [batch, time]", f"shape {tuple(tokens.shape)}")
    return tokens


def check_init_scale(where: str, init_scale: Any) -> float | None:
    """None (each layer's default initialiser) or the half-width of U[-s, s] for every weight."""
    if init_scale is None:
        return None
    if isinstance(init_scale, bool) or not isinstance(init_scale, int | float) or init_scale <= 0:
        fail(where, "init_scale", "None or a float > 0", repr(init_scale))
    return float(init_scale)


class RNNLM(nnx.Module):
    """Embedding -> ``StackedRNN`` of any cell kind -> softmax over the vocabulary.

    ``init_scale=s`` initialises every parameter (biases included) from U[-s, s], with no
    forget-gate bias, as in Zaremba et al. 2014; ``None`` keeps the layers' own initialisers.
    ``impl`` and ``wavefront`` are passed to the recurrent stack unchanged (the config chooses
    them; the defaults pick the fastest correct path, ``rnnjax.layers.resolve_impl``).
    """

    def __init__(self, vocab_size: int, *, rngs: nnx.Rngs, cell: str = "lstm",
                 embed_size: int = 200, hidden_size: int = 200, num_layers: int = 2,
                 dropout: float = 0.0, variational: bool = False, tie_embeddings: bool = False,
                 init_scale: float | None = None, impl: str = "auto",
                 wavefront: bool | None = None):
        where = "RNNLM"
        self.vocab_size = check_positive_int(where, "vocab_size", vocab_size)
        check_choice(where, "cell", cell, CELLS)
        embed_size = check_positive_int(where, "embed_size", embed_size)
        self.dropout = check_rate(where, "dropout", dropout)
        self.variational = bool(variational)
        self.tie_embeddings = bool(tie_embeddings)
        scale = check_init_scale(where, init_scale)
        init = inits.uniform(scale) if scale is not None else None
        cell_kwargs = {} if init is None else {
            "kernel_init": init, "recurrent_init": init, "bias_init": init}
        if init is not None and "lstm" in cell:  # the LSTM family: no extra forget bias
            cell_kwargs["forget_bias"] = 0.0
        self.embed = nnx.Embed(vocab_size, embed_size, rngs=rngs,
                               **({} if init is None else {"embedding_init": init}))
        self.rnn = StackedRNN(cell, embed_size, hidden_size, num_layers, rngs=rngs,
                              dropout=self.dropout, variational=self.variational, impl=impl,
                              wavefront=wavefront, cell_kwargs=cell_kwargs)
        if self.tie_embeddings:
            if self.rnn.output_size != embed_size:
                fail(where, "tie_embeddings", f"False when hidden_size ({self.rnn.output_size}) "
                     f"!= embed_size ({embed_size})", True)
            self.out_bias = nnx.Param(jnp.zeros((vocab_size,)))
        else:
            self.out = nnx.Linear(self.rnn.output_size, vocab_size, rngs=rngs, **(
                {} if init is None else {"kernel_init": init, "bias_init": init}))

    def initial_carry(self, batch_size: int) -> list[Any]:
        """Zero state of every layer (the start of an epoch or of an evaluation stream)."""
        return self.rnn.initial_carry(batch_size)

    def __call__(self, tokens: Array, carry: list[Any] | None = None, *,
                 dropout_key: Array | None = None) -> tuple[Array, list[Any]]:
        """tokens [B, T] int -> (logits [B, T, V] float32, carry after the last step)."""
        check_tokens("RNNLM", tokens)
        keys = [None] * 3 if dropout_key is None else list(jax.random.split(dropout_key, 3))
        x = regularizers.dropout(self.embed(tokens), self.dropout, keys[0],
                                 locked=self.variational)
        h, carry = self.rnn(x, initial_carry=carry, dropout_key=keys[1])
        h = regularizers.dropout(h, self.dropout, keys[2], locked=self.variational)
        logits = (over_rows(self.embed.attend, h) + self.out_bias[...] if self.tie_embeddings
                  else over_rows(self.out, h))
        return logits.astype(jnp.float32), carry
