"""IndRNN's bound, minGRU/minLSTM against the paper's equations, and their parallel scan against
the sequential one (values, final carries, gradients), with lengths, initial carries, reverse."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from jax.test_util import check_grads
from rnnjax_testing import assert_close, cast_module

from rnnjax import initializers
from rnnjax.cells import IndRNNCell, make_cell
from rnnjax.cells.indrnn import recurrent_bounds
from rnnjax.layers import RNN, Bidirectional, resolve_impl


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def reference(kind, cell, x, h0):
    """The paper's equations (Feng et al. 2024, Sections 3.1.3 and 3.2.3) in numpy, step by step."""
    pre = np.asarray(x) @ np.asarray(cell.w_x[...]) + np.asarray(cell.b[...])
    g = lambda v: np.where(v >= 0, v + 0.5, sigmoid(v))  # noqa: E731
    h, out = np.asarray(h0), []
    for t in range(x.shape[1]):
        if kind == "mingru":
            k_z, k_h = np.split(pre[:, t], 2, -1)
            z = sigmoid(k_z)
            h = (1 - z) * h + z * g(k_h)
        else:
            k_f, k_i, k_h = np.split(pre[:, t], 3, -1)
            f, i = sigmoid(k_f), sigmoid(k_i)
            h = f / (f + i) * h + i / (f + i) * g(k_h)
        out.append(h)
    return np.stack(out, 1), h


@pytest.mark.parametrize("kind", ["mingru", "minlstm"])
def test_parallel_form_is_the_papers_recurrence(kind):
    cell = make_cell(kind, 3, 5, rngs=nnx.Rngs(0), bias_init=initializers.uniform(1.0))
    rng = np.random.default_rng(1)  # inputs drawn with numpy: no jax.random program per shape
    x = jnp.asarray(2 * rng.standard_normal((2, 9, 3)), jnp.float32)
    h0 = jnp.asarray(rng.standard_normal((2, 5)), jnp.float32)
    layer = RNN(cell, impl="parallel")
    y, carry = nnx.jit(lambda layer, x, h0: layer(x, initial_carry=h0))(layer, x, h0)
    y_ref, carry_ref = reference(kind, cell, x, h0)
    assert_close((y, carry), (y_ref, carry_ref), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("kind", "reverse"), [("mingru", False), ("minlstm", True)])
def test_parallel_equals_sequential_scan_values_and_gradients(kind, reverse):
    cell = make_cell(kind, 3, 4, rngs=nnx.Rngs(3), bias_init=initializers.uniform(1.0))
    parallel, scan = RNN(cell, impl="parallel", reverse=reverse), RNN(cell, impl="scan",
                                                                        reverse=reverse)
    assert resolve_impl("auto", cell) == "parallel"
    rng = np.random.default_rng(4)
    x = jnp.asarray(rng.standard_normal((3, 7, 3)), jnp.float32)
    x = x.at[0, 5:].set(jnp.nan).at[2, 3:].set(jnp.inf)  # padding must not matter
    h0 = jnp.asarray(rng.standard_normal((3, 4)), jnp.float32)

    def loss(layer, x, h0):
        y, carry = layer(x, seq_lengths=jnp.array([5, 1, 3]), initial_carry=h0)
        return jnp.sum(jnp.sin(y)) + jnp.sum(jnp.cos(carry)), (y, carry)

    value_and_grad = nnx.jit(nnx.value_and_grad(loss, argnums=(0, 1, 2), has_aux=True))
    (value_p, (y_p, c_p)), grads_p = value_and_grad(parallel, x, h0)
    (value_s, (y_s, c_s)), grads_s = value_and_grad(scan, x, h0)
    assert_close((y_p, c_p, value_p), (y_s, c_s, value_s), rtol=1e-5, atol=1e-5)
    assert_close(grads_p, grads_s, rtol=1e-5, atol=1e-5)
    assert np.all(np.asarray(y_p)[1, 1:] == 0) and np.all(np.asarray(y_p)[2, 3:] == 0)
    assert np.isfinite(np.asarray(grads_p[1])).all()


def test_parallel_form_check_grads_float64():
    """Bidirectional minLSTM with lengths and initial carries (every kind's plain layer is
    checked in tests/test_cells.py)."""
    with jax.enable_x64(True):
        cell = make_cell("minlstm", 2, 3, rngs=nnx.Rngs(6), bias_init=initializers.uniform(1.0))
        layer = Bidirectional(RNN(cell, impl="parallel"), RNN(cell, impl="parallel",
                                                              reverse=True))
        graphdef, state = nnx.split(cast_module(layer, jnp.float64))
        rng = np.random.default_rng(7)
        x = jnp.asarray(rng.standard_normal((2, 5, 2)), jnp.float64)
        h0 = jnp.asarray(rng.standard_normal((2, 3)), jnp.float64)

        def loss(state, x, h0):
            y, carry = nnx.merge(graphdef, state)(x, seq_lengths=jnp.array([5, 2]),
                                                  initial_carry=(h0, -h0))
            return jnp.sum(jnp.sin(y)) + sum(jnp.sum(c ** 2) for c in carry)

        check_grads(jax.jit(loss), (state, x, h0), order=1, modes=["rev"], atol=1e-6, rtol=1e-6,
                    eps=1e-6)


def test_parallel_refuses_other_cells():
    with pytest.raises(ValueError, match=r"impl.*parallel"):
        RNN(make_cell("gru", 2, 3, rngs=nnx.Rngs(0)), impl="parallel")


def test_indrnn_bound_is_gamma_to_the_one_over_t_and_holds():
    low, high = recurrent_bounds(100, gamma=2.0, epsilon=0.5)
    assert high == pytest.approx(2 ** (1 / 100)) and low == pytest.approx(0.5 ** (1 / 100))
    cell = IndRNNCell(2, 64, rngs=nnx.Rngs(0), max_steps=100, epsilon=0.5)
    u = np.asarray(cell.u[...])
    assert u.min() >= low and u.max() <= high
    # a weight set beyond the bound is clipped at use: the gradient over T steps is γ exactly
    cell.u[...] = jnp.full((64,), 3.0)
    h0 = jnp.ones((1, 64))

    def last(h0):
        h = h0
        for _ in range(100):
            h = cell.step(cell.recurrent_params(), h, jnp.zeros((1, 64)))
        return jnp.sum(h[:, 0])

    assert float(jax.grad(last)(h0)[0, 0]) == pytest.approx(2.0, rel=1e-4)
    grad_u = jax.grad(lambda u: jnp.sum(cell.step({"u": u}, h0, jnp.zeros((1, 64)))))(cell.u[...])
    assert np.all(np.asarray(grad_u) == 0)  # beyond the bound the weight gets no gradient


def test_indrnn_step_is_elementwise_relu_recurrence():
    cell = IndRNNCell(3, 4, rngs=nnx.Rngs(1), bias_init=initializers.uniform(0.5))
    x = jnp.asarray(np.random.default_rng(2).standard_normal((2, 6, 3)), jnp.float32)
    y, _ = nnx.jit(lambda layer, x: layer(x))(RNN(cell), x)
    h = np.zeros((2, 4))
    w, u, b = (np.asarray(p[...]) for p in (cell.w_x, cell.u, cell.b))
    for t in range(6):
        h = np.maximum(np.asarray(x[:, t]) @ w + u * h + b, 0.0)
        assert_close(y[:, t], h)
