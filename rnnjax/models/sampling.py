"""Sampling text from a language model: temperature, top-k, greedy at temperature 0.

After running the model over the priming tokens, each step draws
    w_t ~ softmax(topk(logits_{t-1}) / temperature)
(top-k keeps the k largest logits, Fan et al. 2018); temperature 0 takes argmax (greedy decoding).
The whole loop is one ``jax.lax.scan`` under ``jax.jit``. A conditioned LM (``RNNLM`` with
``num_conditions``) gets its class ids ``condition`` [B] at every step.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from rnnjax.validation import check_nonnegative_float, check_positive_int, fail

Array = jax.Array


def choose(logits: Array, key: Array, temperature: float, top_k: int) -> Array:
    """One token id per row of logits [B, V]."""
    if top_k:
        kth = jax.lax.top_k(logits, top_k)[0][:, -1:]
        logits = jnp.where(logits < kth, -jnp.inf, logits)
    if temperature == 0.0:
        return jnp.argmax(logits, axis=-1)
    return jax.random.categorical(key, logits / temperature, axis=-1)


@partial(jax.jit, static_argnames=("graphdef", "length", "temperature", "top_k"))
def _generate(graphdef: Any, state: Any, prime: Array, key: Array, condition: Array | None, *,
              length: int, temperature: float, top_k: int) -> Array:
    model = nnx.merge(graphdef, state)
    given = {} if condition is None else {"condition": condition}
    logits, carry = model(prime, None, **given)

    def body(loop, key_t):
        carry, last = loop
        token = choose(last, key_t, temperature, top_k)
        logits, carry = model(token[:, None], carry, **given)
        return (carry, logits[:, -1]), token

    _, tokens = jax.lax.scan(body, (carry, logits[:, -1]), jax.random.split(key, length))
    return tokens.T


def _check_options(where: str, prefix: str, length: Any, temperature: Any, top_k: Any,
                   vocab_size: int) -> int:
    length = check_positive_int(where, f"{prefix}length", length)
    check_nonnegative_float(where, f"{prefix}temperature", temperature)
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 0 <= top_k <= vocab_size:
        fail(where, f"{prefix}top_k", f"an int in [0, {vocab_size}] (0 = no top-k)", repr(top_k))
    return length


def generate(model: nnx.Module, prime: Any, length: int, *, key: Array,
             temperature: float = 1.0, top_k: int = 0, condition: Any = None) -> np.ndarray:
    """``length`` token ids [B, length] that continue ``prime`` (int ids [P] or [B, P], P >= 1);
    ``condition``: the class ids [B] of a conditioned LM."""
    where = "generate"
    prime = np.asarray(prime)
    if prime.ndim == 1:
        prime = prime[None]
    if prime.ndim != 2 or prime.shape[1] < 1 or not np.issubdtype(prime.dtype, np.integer):
        fail(where, "prime", "non-empty integer token ids [P] or [B, P]",
             f"shape {prime.shape}, dtype {prime.dtype}")
    length = _check_options(where, "", length, temperature, top_k, model.vocab_size)
    graphdef, state = nnx.split(model)
    if condition is not None:
        condition = np.asarray(condition)
        if condition.shape != (prime.shape[0],) or not np.issubdtype(condition.dtype, np.integer):
            fail(where, "condition", f"integer class ids of shape ({prime.shape[0]},) (one per "
                 "prime row)", f"shape {condition.shape}, dtype {condition.dtype}")
        condition = jnp.asarray(condition, jnp.int32)
    tokens = _generate(graphdef, state, jnp.asarray(prime, jnp.int32), key, condition,
                       length=length, temperature=float(temperature), top_k=top_k)
    return np.asarray(tokens)


def prime_ids(vocab: Any, prime: str) -> np.ndarray:
    """The ids the sample continues. A word-level prime that does not end with a newline
    continues its last line (the ``<eos>`` that tokenisation puts after every line is dropped)."""
    ids = vocab.encode(prime)
    if vocab.level == "word" and not prime.endswith("\n") and len(ids) > 1:
        ids = ids[:-1]
    return ids


def check_sampling(where: str, prefix: str, vocab: Any, prime: Any, length: Any,
                   temperature: Any, top_k: Any) -> None:
    """Sampling options (names prefixed by ``prefix``, e.g. "config.sample."), checked before
    a training run starts."""
    if not isinstance(prime, str) or not len(prime_ids(vocab, prime)):
        fail(where, f"{prefix}prime", "text of at least one token", repr(prime))
    _check_options(where, prefix, length, temperature, top_k, len(vocab))


def sample_text(model: nnx.Module, vocab: Any, prime: str, length: int, *, key: Array,
                temperature: float = 1.0, top_k: int = 0) -> str:
    """``prime`` followed by ``length`` sampled tokens, as text (``vocab``: an rnnjax Vocab)."""
    text = vocab.decode(generate(model, prime_ids(vocab, prime), length, key=key,
                                 temperature=temperature, top_k=top_k)[0])
    gap = " " if vocab.level == "word" and prime and not prime[-1].isspace() else ""
    return prime + gap + text
