"""Sampling: greedy at temperature 0, top-k, reproducible keys, argument errors."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from rnnjax.models import RNNLM
from rnnjax.models.sampling import choose, generate

MODEL = RNNLM(13, rngs=nnx.Rngs(1), cell="gru", embed_size=8, hidden_size=8, num_layers=1)
PRIME = [3, 1, 4]


def test_temperature_zero_is_greedy_whatever_the_key():
    greedy = generate(MODEL, PRIME, 6, key=jax.random.PRNGKey(0), temperature=0)
    again = generate(MODEL, PRIME, 6, key=jax.random.PRNGKey(7), temperature=0)
    np.testing.assert_array_equal(greedy, again)
    # The same rollout, one full forward pass per token over a fixed-length buffer (one compiled
    # program): the LM is causal, so the logits at position t - 1 see only the tokens before t.
    tokens = np.zeros((1, 9), np.int32)
    tokens[0, :3] = PRIME
    forward = nnx.jit(lambda model, tokens: model(tokens)[0])
    for t in range(3, 9):
        tokens[0, t] = int(jnp.argmax(forward(MODEL, jnp.asarray(tokens))[0, t - 1]))
    np.testing.assert_array_equal(greedy[0], tokens[0, 3:])
    top1 = generate(MODEL, PRIME, 6, key=jax.random.PRNGKey(3), temperature=2.0, top_k=1)
    np.testing.assert_array_equal(top1, greedy)


def test_the_same_key_gives_the_same_sample_and_batches_work():
    key = jax.random.PRNGKey(5)
    a = generate(MODEL, [PRIME, PRIME], 8, key=key, temperature=1.0)
    assert a.shape == (2, 8)
    np.testing.assert_array_equal(a, generate(MODEL, [PRIME, PRIME], 8, key=key,
                                              temperature=1.0))


def test_top_k_draws_only_among_the_k_most_likely():
    logits = jnp.tile(jnp.array([[0.0, 3.0, 1.0, 2.5, -1.0]]), (2000, 1))
    drawn = set(np.asarray(choose(logits, jax.random.PRNGKey(0), 1.0, 2)).tolist())
    assert drawn == {1, 3}
    assert set(np.asarray(choose(logits, jax.random.PRNGKey(0), 1.0, 0)).tolist()) == set(range(5))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"prime": []}, "generate: prime must be non-empty integer token ids"),
    ({"prime": [0.5]}, "generate: prime must be non-empty integer token ids"),
    ({"length": 0}, "generate: length must be a positive int, got 0"),
    ({"temperature": -1.0}, "generate: temperature must be a finite float >= 0, got -1.0"),
    ({"temperature": float("nan")}, "generate: temperature must be a finite float >= 0, got nan"),
    ({"temperature": float("inf")}, "generate: temperature must be a finite float >= 0, got inf"),
    ({"top_k": 14}, r"generate: top_k must be an int in \[0, 13\] \(0 = no top-k\), got 14"),
])
def test_bad_arguments(kwargs, message):
    args = {"prime": PRIME, "length": 3, **kwargs}
    with pytest.raises(ValueError, match=message):
        generate(MODEL, args.pop("prime"), args.pop("length"), key=jax.random.PRNGKey(0), **args)
