"""The fixed-window neural probabilistic language model of Bengio, Ducharme, Vincent & Jauvin 2003.

    x_t = [C(w_{t-n+1}); ...; C(w_{t-1})]              the n-1 previous words' embeddings
    logits_t = b + W x_t + U tanh(d + H x_t)            W: the optional direct connections

The model sees only the ``context`` previous tokens; its carry is those tokens (int32 [B, context]),
so windows run across truncated-BPTT chunk boundaries exactly as in one long stream. Before the
first token of a stream the context is token 0.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from rnnjax import initializers as inits
from rnnjax import regularizers
from rnnjax.models.lm import check_init_scale, check_tokens
from rnnjax.ops import over_rows
from rnnjax.validation import check_positive_int, check_rate, check_tree_shapes

Array = jax.Array


class BengioLM(nnx.Module):
    """Window of ``context`` tokens -> tanh hidden layer (+ direct connections) -> softmax.

    ``dropout`` (not in the paper) acts on x_t and on the hidden layer when a key is given.
    """

    def __init__(self, vocab_size: int, *, rngs: nnx.Rngs, context: int = 4,
                 embed_size: int = 60, hidden_size: int = 100, direct: bool = True,
                 dropout: float = 0.0, init_scale: float | None = None):
        where = "BengioLM"
        self.vocab_size = check_positive_int(where, "vocab_size", vocab_size)
        self.context = check_positive_int(where, "context", context)
        embed_size = check_positive_int(where, "embed_size", embed_size)
        hidden_size = check_positive_int(where, "hidden_size", hidden_size)
        self.dropout = check_rate(where, "dropout", dropout)
        scale = check_init_scale(where, init_scale)
        init = {} if scale is None else {"kernel_init": inits.uniform(scale),
                                         "bias_init": inits.uniform(scale)}
        width = self.context * embed_size
        self.embed = nnx.Embed(vocab_size, embed_size, rngs=rngs, **(
            {} if scale is None else {"embedding_init": inits.uniform(scale)}))
        self.hidden = nnx.Linear(width, hidden_size, rngs=rngs, **init)  # H, d
        self.out = nnx.Linear(hidden_size, vocab_size, rngs=rngs, **init)  # U, b
        self.direct = nnx.Linear(width, vocab_size, use_bias=False, rngs=rngs,
                                 **({} if scale is None else {"kernel_init": init["kernel_init"]})
                                 ) if direct else None  # W

    def initial_carry(self, batch_size: int) -> Array:
        """The context before a stream starts: token 0 in every slot."""
        return jnp.zeros((batch_size, self.context), jnp.int32)

    def __call__(self, tokens: Array, carry: Array | None = None, *,
                 dropout_key: Array | None = None) -> tuple[Array, Array]:
        """tokens [B, T] int -> (logits [B, T, V] float32, the last ``context`` tokens seen)."""
        check_tokens("BengioLM", tokens)
        batch, time = tokens.shape
        carry = self.initial_carry(batch) if carry is None else carry
        check_tree_shapes("BengioLM", "carry", carry, self.initial_carry(batch))
        stream = jnp.concatenate([carry, tokens.astype(jnp.int32)], axis=1)
        # Slot k of the window at step t holds token t - context + 1 + k (the last is w_t).
        windows = [stream[:, k + 1 : k + 1 + time] for k in range(self.context)]
        x = jnp.concatenate([self.embed(w) for w in windows], axis=-1)
        key_x, key_h = (None, None) if dropout_key is None else jax.random.split(dropout_key)
        x = regularizers.dropout(x, self.dropout, key_x)
        hidden = regularizers.dropout(jnp.tanh(over_rows(self.hidden, x)), self.dropout, key_h)
        logits = over_rows(self.out, hidden)
        if self.direct is not None:
            logits = logits + over_rows(self.direct, x)
        return logits.astype(jnp.float32), stream[:, time:]
