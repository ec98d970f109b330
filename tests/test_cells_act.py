"""Adaptive Computation Time: the halting arithmetic (N(t), R(t), p) by hand, the mean-field step
against a plain loop that stops at N(t), float64 gradients, wrapping other cells, bad tau."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from jax.test_util import check_grads
from rnnjax_testing import cast_module

from rnnjax.cells.act import ACTCell, halting_distribution, make_act_cell
from rnnjax.cells.elman import ElmanCell
from rnnjax.layers import RNN


@pytest.mark.parametrize(("halts", "steps", "remainder", "weights"), [
    # cumulative 0.3, 0.8, 1.2 >= 0.99 at n = 3: R = 1 - 0.8
    ([0.3, 0.5, 0.4, 0.1], 3, 0.2, [0.3, 0.5, 0.2, 0.0]),
    # h^1 = 0.995 >= 1 - epsilon: halts after one update with R = 1
    ([0.995, 0.9, 0.9, 0.9], 1, 1.0, [1.0, 0.0, 0.0, 0.0]),
    # never reaches 0.99: N(t) = max_steps, R = 1 - 0.3
    ([0.1, 0.1, 0.1, 0.1], 4, 0.7, [0.1, 0.1, 0.1, 0.7]),
    # 0.5 + 0.495 = 0.995 >= 0.99 at n = 2
    ([0.5, 0.495, 0.3, 0.3], 2, 0.5, [0.5, 0.5, 0.0, 0.0]),
])
def test_halting_distribution_by_hand(halts, steps, remainder, weights):
    p, n, r = halting_distribution(jnp.asarray([halts]))
    assert float(n[0]) == steps
    np.testing.assert_allclose(float(r[0]), remainder, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(p[0]), weights, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(float(p.sum()), 1.0, rtol=1e-6)


def test_ponder_cost_gradient_flows_through_the_remainder_only():
    def ponder(halts):
        _, steps, remainder = halting_distribution(halts)
        return jnp.sum(steps + remainder)

    grad = jax.grad(ponder)(jnp.asarray([[0.3, 0.5, 0.4, 0.1]]))
    np.testing.assert_allclose(np.asarray(grad), [[-1.0, -1.0, 0.0, 0.0]])  # dR/dh^n, n < N


def mean_field_by_loop(cell: ACTCell, x: np.ndarray):
    """Graves 2016 section 2 written as a loop that stops at N(t); one input step."""
    inner = cell.cell
    state = inner.initial_carry(x.shape[0])
    states, halts, total = [], [], np.zeros(x.shape[0])
    for n in range(cell.max_steps):
        flag = np.full((x.shape[0], 1), 1.0 if n == 0 else 0.0, np.float32)
        state, y = inner(state, jnp.asarray(np.concatenate([x, flag], -1)))
        halt = np.asarray(jax.nn.sigmoid(y @ cell.w_halt[...] + cell.b_halt[...]))
        states.append(np.asarray(state))
        halts.append(halt)
        total = total + halt
    halts = np.stack(halts, 1)
    outputs, costs = [], []
    for b in range(x.shape[0]):
        cumulative = np.cumsum(halts[b])
        n_t = min(1 + int((cumulative < 0.99).sum()), cell.max_steps)
        remainder = 1 - halts[b, :n_t - 1].sum()
        p = np.append(halts[b, :n_t - 1], remainder)
        outputs.append(sum(p[n] * states[n][b] for n in range(n_t)))
        costs.append(n_t + remainder)
    return np.stack(outputs), np.asarray(costs)


def test_step_matches_a_loop_that_stops_at_n_t():
    inner = ElmanCell(4, 6, rngs=nnx.Rngs(0))
    cell = ACTCell(inner, rngs=nnx.Rngs(1), max_steps=6, halt_bias=-1.0)
    x = np.random.default_rng(2).standard_normal((5, 3)).astype(np.float32)
    y, carry = nnx.jit(lambda layer, x: layer(x))(RNN(cell), jnp.asarray(x)[:, None])
    expected_y, expected_cost = mean_field_by_loop(cell, x)
    np.testing.assert_allclose(np.asarray(y[:, 0]), expected_y, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(carry.ponder_cost[:, 0]), expected_cost, rtol=1e-5)
    assert float(cell.ponder_loss(carry)) == pytest.approx(1e-3 * expected_cost.mean(), rel=1e-5)


def test_check_grads_float64():
    with jax.enable_x64(True):
        cell = make_act_cell("gru", 3, 4, rngs=nnx.Rngs(0), max_steps=4)
        graphdef, state = nnx.split(cast_module(RNN(cell), jnp.float64))
        x = jnp.asarray(np.random.default_rng(1).standard_normal((2, 3, 3)), jnp.float64)

        def loss(state, x):
            y, carry = nnx.merge(graphdef, state)(x)
            return jnp.sum(jnp.sin(y)) + jnp.sum(carry.ponder_cost)

        check_grads(jax.jit(loss), (state, x), order=1, modes=["rev"], atol=1e-6, rtol=1e-6,
                    eps=1e-6)


def test_wraps_other_cell_kinds_with_lengths():
    cell = make_act_cell("lstm", 3, 5, rngs=nnx.Rngs(0), max_steps=3)
    y, carry = nnx.jit(lambda layer, x: layer(x, seq_lengths=jnp.array([4, 2])))(
        RNN(cell), jnp.ones((2, 4, 3)))
    assert y.shape == (2, 4, cell.output_size) and not bool(y[1, 2:].any())
    steps = np.asarray(carry.ponder_steps[:, 0])
    assert 4 <= steps[0] <= 12 and 2 <= steps[1] <= 6


@pytest.mark.parametrize("tau", [-0.1, "0.1", True])
def test_bad_time_penalty_raises_one_line(tau):
    with pytest.raises(ValueError, match=r"^ACTCell: time_penalty must be a number >= 0"):
        ACTCell(ElmanCell(3, 4, rngs=nnx.Rngs(0)), rngs=nnx.Rngs(0), time_penalty=tau)
