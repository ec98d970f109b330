"""Dilated stacks (Chang et al. 2017) against a hand-written loop over t reading h[t - d]."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from rnnjax_testing import assert_close

from rnnjax.layers import StackedRNN

DILATIONS = (1, 3)
LENGTHS = [7, 2, 5]


def reference_layer(cell, x, lengths, d, initial):
    """One dilated layer, sequence by sequence, step by step: h_t = cell(h_{t-d}, x_t)."""
    batch, time, _ = x.shape
    cell_step = jax.jit(lambda carry, x_t: cell(carry, x_t))
    outputs = np.zeros((batch, time, cell.hidden_size), np.float32)
    finals = []
    for b in range(batch):
        states = {t - d: initial[b, t] for t in range(d)}  # what positions 0..d-1 read
        for t in range(lengths[b]):
            states[t], y = cell_step(states[t - d][None], x[b, t][None])
            states[t] = states[t][0]
            outputs[b, t] = np.asarray(y[0])
        finals.append(np.stack([states[lengths[b] + j - d] for j in range(d)]))
    return outputs, np.stack(finals)


def test_dilated_stack_equals_hand_written_loop():
    stack = StackedRNN("gru", 2, 3, 2, rngs=nnx.Rngs(0), dilations=DILATIONS)
    x = jax.random.normal(jax.random.PRNGKey(1), (3, 7, 2))
    x = x.at[1, 2:].set(jnp.nan)  # padding must not matter
    initial = [jax.random.normal(jax.random.PRNGKey(2 + k), (3, d, 3))
               for k, d in enumerate(DILATIONS)]
    y, finals = jax.jit(lambda x, initial: stack(x, seq_lengths=jnp.array(LENGTHS),
                                                 initial_carry=initial))(x, initial)
    inputs = np.asarray(x)
    for layer, d, start, final in zip(stack.layers, DILATIONS, initial, finals, strict=True):
        inputs, expected_final = reference_layer(layer.rnn.cell, inputs, LENGTHS, d,
                                                 np.asarray(start))
        assert_close(final, expected_final, rtol=1e-5, atol=1e-5)
    assert_close(y, inputs, rtol=1e-5, atol=1e-5)
    grads = jax.jit(jax.grad(lambda x: jnp.sum(stack(x, seq_lengths=jnp.array(LENGTHS))[0])))(x)
    assert np.isfinite(np.asarray(grads)).all() and np.all(np.asarray(grads)[1, 2:] == 0)


def test_dilated_steps_and_chunks_continue_the_whole_sequence():
    stack = StackedRNN("elman_tanh", 2, 3, 2, rngs=nnx.Rngs(3), dilations=(2, 4))
    x = jax.random.normal(jax.random.PRNGKey(4), (2, 9, 2))
    run = jax.jit(lambda x, carries: stack(x, initial_carry=carries))
    y, finals = run(x, None)
    first, carries = run(x[:, :5], None)
    second, carries = run(x[:, 5:], carries)
    assert_close(jnp.concatenate([first, second], 1), y, atol=1e-6)
    assert_close(carries, finals, atol=1e-6)
    carries = stack.initial_carry(2)
    step = jax.jit(lambda x_t, carries: stack.step(x_t, carries))
    for t in range(9):
        y_t, carries = step(x[:, t], carries)
        assert_close(y_t, y[:, t], atol=1e-6)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"dilations": (1, 0)}, "dilations"), ({"dilations": (1,)}, "dilations"),
    ({"dilations": (1, 2), "bidirectional": True}, "bidirectional")])
def test_bad_dilations_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        StackedRNN("gru", 2, 3, 2, rngs=nnx.Rngs(0), **kwargs)
