"""Neural Turing Machine: each addressing equation against values computed by hand (numpy
loops written from the paper's formulas), erase/add writes, reads, the zero-vector cases, float64
gradients and the argument checks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from jax.test_util import check_grads
from rnnjax_testing import assert_close, cast_module

from rnnjax.cells import make_cell
from rnnjax.cells.ntm import (
    HeadParams,
    NTMCell,
    address,
    circular_shift,
    content_weighting,
    cosine_similarity,
    interpolate,
    read,
    sharpen,
    write,
)
from rnnjax.layers import RNN


def assert_values(actual, expected, rtol=1e-5, atol=1e-6):
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected, np.float64), rtol=rtol,
                               atol=atol)


MEMORY = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
KEY = np.array([1.0, 1.0, 0.0])


def test_cosine_similarity_by_hand():
    # rows: [1,0,0] -> 1/sqrt2, [0,2,0] -> 2/(2 sqrt2), [1,1,0] -> 1, zero row -> 0
    expected = [1 / np.sqrt(2), 1 / np.sqrt(2), 1.0, 0.0]
    assert_values(cosine_similarity(jnp.asarray(KEY), jnp.asarray(MEMORY)), expected, rtol=1e-6)


def test_content_weighting_is_softmax_of_beta_times_cosine():
    beta = 3.0
    logits = beta * np.array([1 / np.sqrt(2), 1 / np.sqrt(2), 1.0, 0.0])
    expected = np.exp(logits) / np.exp(logits).sum()  # eq. 5
    got = content_weighting(jnp.asarray(KEY), jnp.asarray([beta]), jnp.asarray(MEMORY))
    assert_values(got, expected, rtol=1e-6)


def test_zero_key_and_zero_memory_give_uniform_weights_and_finite_gradients():
    zeros = jnp.zeros((4, 3))
    weights = content_weighting(jnp.zeros(3), jnp.asarray([5.0]), zeros)
    assert_values(weights, np.full(4, 0.25))

    def loss(key, memory, beta):
        return jnp.sum(content_weighting(key, beta, memory) * jnp.arange(4.0))

    grads = jax.grad(loss, argnums=(0, 1, 2))(jnp.zeros(3), zeros, jnp.asarray([5.0]))
    assert all(bool(jnp.isfinite(g).all()) for g in grads)


def test_interpolation_by_hand():
    got = interpolate(jnp.asarray([1.0, 0.0, 0.0]), jnp.asarray([0.0, 0.5, 0.5]),
                      jnp.asarray([0.25]))
    assert_values(got, [0.25, 0.375, 0.375])  # eq. 7: 0.25 w^c + 0.75 w_{t-1}


def shift_by_loops(w, s):
    """w~(i) = sum_j w(j) s(i - j mod N), s indexed by offsets -(S-1)/2 .. (S-1)/2 (eq. 8)."""
    n, half = len(w), len(s) // 2
    out = np.zeros(n)
    for i in range(n):
        for j in range(n):
            for index, offset in enumerate(range(-half, half + 1)):
                if (i - j - offset) % n == 0:
                    out[i] += w[j] * s[index]
    return out


@pytest.mark.parametrize("shift", [[0.2, 0.5, 0.3], [0.0, 0.0, 1.0], [0.1, 0.1, 0.2, 0.3, 0.3]])
def test_circular_shift_matches_the_convolution_sum(shift):
    w = np.array([0.1, 0.2, 0.3, 0.4, 0.0])
    assert_values(circular_shift(jnp.asarray(w), jnp.asarray(shift)), shift_by_loops(w, shift))


def test_shift_by_plus_one_moves_the_focus_forward_and_wraps():
    one_hot = jnp.asarray([0.0, 0.0, 0.0, 1.0])
    assert_values(circular_shift(one_hot, jnp.asarray([0.0, 0.0, 1.0])), [1.0, 0.0, 0.0, 0.0])


def test_sharpening_by_hand_and_safe_at_zero():
    w = np.array([0.1, 0.2, 0.7])
    assert_values(sharpen(jnp.asarray(w), jnp.asarray([2.0])), w**2 / (w**2).sum())
    with_zero = jnp.asarray([0.0, 0.5, 0.5])
    assert_values(sharpen(with_zero, jnp.asarray([3.0])), [0.0, 0.5, 0.5])

    def loss(w, gamma):
        return jnp.sum(sharpen(w, gamma) * jnp.arange(3.0))

    grads = jax.grad(loss, argnums=(0, 1))(with_zero, jnp.asarray([3.0]))
    assert all(bool(jnp.isfinite(g).all()) for g in grads)


def test_read_is_the_weighted_sum_of_rows():
    weights = np.array([[0.5, 0.25, 0.25, 0.0], [0.0, 0.0, 0.0, 1.0]])
    expected = [[sum(weights[r, i] * MEMORY[i] for i in range(4)) for r in range(2)]]  # eq. 2
    assert_values(read(jnp.asarray(MEMORY)[None], jnp.asarray(weights)[None]), expected)


def test_write_erases_then_adds_by_hand():
    memory = jnp.ones((1, 2, 2))
    weights = jnp.asarray([[[1.0, 0.0]]])
    got = write(memory, weights, jnp.asarray([[[1.0, 0.0]]]), jnp.asarray([[[0.5, 0.5]]]))
    assert_values(got, [[[0.5, 1.5], [1.0, 1.0]]])


def test_two_write_heads_match_sequential_erase_then_add():
    rng = np.random.default_rng(0)
    memory = rng.normal(size=(4, 3))
    weights = rng.dirichlet(np.ones(4), size=2)
    erase, add = rng.uniform(size=(2, 3)), rng.normal(size=(2, 3))
    expected = memory.copy()
    for h in range(2):  # eq. 3: M~(i) = M(i) prod_h (1 - w_h(i) e_h)
        expected = expected * (1 - np.outer(weights[h], erase[h]))
    for h in range(2):  # eq. 4: M(i) = M~(i) + sum_h w_h(i) a_h
        expected = expected + np.outer(weights[h], add[h])
    got = write(*(jnp.asarray(a)[None] for a in (memory, weights, erase, add)))
    assert_values(got[0], expected)


def test_address_chains_the_four_steps():
    memory = jnp.asarray(MEMORY)[None]
    previous = jnp.asarray([[[0.0, 0.0, 0.0, 1.0]]])
    params = HeadParams(key=jnp.asarray(KEY)[None, None], beta=jnp.asarray([[[2.0]]]),
                        gate=jnp.asarray([[[0.6]]]), shift=jnp.asarray([[[0.1, 0.7, 0.2]]]),
                        gamma=jnp.asarray([[[1.5]]]))
    logits = 2.0 * np.array([1 / np.sqrt(2), 1 / np.sqrt(2), 1.0, 0.0])
    content = np.exp(logits) / np.exp(logits).sum()
    gated = 0.6 * content + 0.4 * np.array([0.0, 0.0, 0.0, 1.0])
    shifted = shift_by_loops(gated, [0.1, 0.7, 0.2])
    expected = shifted**1.5 / (shifted**1.5).sum()
    assert_values(address(params, memory, previous)[0, 0], expected, rtol=1e-5)


def test_check_grads_float64_feedforward_controller_two_heads_each():
    # the LSTM controller with one head of each kind: tests/test_cells.py (every CELLS kind)
    with jax.enable_x64(True):
        cell = NTMCell(3, 5, rngs=nnx.Rngs(0), memory_size=6, memory_width=4, num_read_heads=2,
                       num_write_heads=2, shift_range=3, controller="feedforward")
        graphdef, state = nnx.split(cast_module(RNN(cell), jnp.float64))
        x = jnp.asarray(np.random.default_rng(1).standard_normal((2, 4, 3)), jnp.float64)

        def loss(state, x):
            y, carry = nnx.merge(graphdef, state)(x, seq_lengths=jnp.array([4, 2]))
            return jnp.sum(jnp.sin(y)) + jnp.sum(carry.memory ** 2)

        check_grads(jax.jit(loss), (state, x), order=1, modes=["rev"], atol=1e-6, rtol=1e-6,
                    eps=1e-6)


def test_weightings_stay_distributions_and_lengths_freeze_the_carry():
    cell = make_cell("ntm", 3, 8, rngs=nnx.Rngs(2), memory_size=7, memory_width=4)
    x = jnp.asarray(np.random.default_rng(3).standard_normal((2, 5, 3)), jnp.float32)
    _, carry = nnx.jit(lambda layer, x: layer(x, seq_lengths=jnp.array([5, 2])))(RNN(cell), x)
    for weights in (carry.read_weights, carry.write_weights):
        assert_values(weights.sum(-1), np.ones((2, 1)), rtol=1e-5)
        assert bool((weights >= 0).all())
    _, short = nnx.jit(lambda layer, x: layer(x))(RNN(cell), x[1:, :2])
    assert_close(jax.tree.map(lambda a: a[1:], carry), short, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("memory_size", 0, "NTMCell: memory_size must be a positive int, got 0"),
    ("memory_width", -2, "NTMCell: memory_width must be a positive int, got -2"),
    ("shift_range", 2, "NTMCell: shift_range must be an odd int"),
    ("shift_range", 0, "NTMCell: shift_range must be a positive int, got 0"),
    ("num_read_heads", 0, "NTMCell: num_read_heads must be a positive int, got 0"),
    ("controller", "gru", "NTMCell: controller must be one of ('lstm', 'feedforward')"),
])
def test_bad_arguments_raise_one_line(field, value, message):
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        NTMCell(3, 4, rngs=nnx.Rngs(0), **{field: value})
