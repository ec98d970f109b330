"""Cells: gradients (float64 check_grads), Flax parity, and each variant's defining equation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from rnnjax_testing import (
    assert_close,
    cast_module,
    check_scalar_loss_gradients,
    small_cell_kwargs,
)

from rnnjax import initializers
from rnnjax.cells import CELLS, LSTMCell, make_cell
from rnnjax.layers import RNN


def build(kind, input_size=3, hidden_size=4, seed=0, **kwargs):
    kwargs = {**small_cell_kwargs(kind, hidden_size), **kwargs}
    return make_cell(kind, input_size, hidden_size, rngs=nnx.Rngs(seed), **kwargs)


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_check_grads_float64_every_cell(kind):
    with jax.enable_x64(True):
        cell = build(kind, bias_init=initializers.uniform(0.3))
        graphdef, state = nnx.split(cast_module(RNN(cell), jnp.float64))
        x = jax.random.normal(jax.random.PRNGKey(1), (2, 4, cell.input_size), jnp.float64)
        lengths = jnp.array([4, 2])

        def loss(state, x):
            y, carry = nnx.merge(graphdef, state)(x, seq_lengths=lengths)
            return jnp.sum(jnp.sin(y)) + sum(jnp.sum(c) for c in jax.tree.leaves(carry))

        check_scalar_loss_gradients(loss, (state, x), atol=1e-6, rtol=1e-6, eps=1e-6)


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_single_step_call_matches_layer(kind):
    cell = build(kind)
    x = jax.random.normal(jax.random.PRNGKey(2), (2, 3, cell.input_size))
    y, carry = nnx.jit(lambda layer, x: layer(x))(RNN(cell), x)
    step = nnx.jit(lambda cell, carry, x_t: cell(carry, x_t))  # one compilation for the 3 steps
    step_carry = cell.initial_carry(2)
    for t in range(3):
        step_carry, y_t = step(cell, step_carry, x[:, t])
        assert_close(y_t, y[:, t])
    assert_close(step_carry, carry)


def test_lstm_matches_flax_optimized_lstm_cell():
    flax_cell = nnx.OptimizedLSTMCell(3, 5, rngs=nnx.Rngs(0))
    flax_cell.dense_h.bias.value = jax.random.normal(jax.random.PRNGKey(3), (20,))
    cell = LSTMCell(3, 5, rngs=nnx.Rngs(1), forget_bias=0.0)
    cell.w_x.value = flax_cell.dense_i.kernel.value
    cell.w_h.value = flax_cell.dense_h.kernel.value[None]
    cell.b.value = flax_cell.dense_h.bias.value
    x = jax.random.normal(jax.random.PRNGKey(4), (2, 6, 3))
    ours, (h, c) = RNN(cell)(x)
    theirs_carry, theirs = nnx.RNN(flax_cell, return_carry=True)(x)
    assert_close(ours, theirs)
    assert_close((c, h), theirs_carry)


def test_gru_matches_flax_gru_cell():
    flax_cell = nnx.GRUCell(3, 5, rngs=nnx.Rngs(0))
    flax_cell.dense_i.bias.value = jax.random.normal(jax.random.PRNGKey(3), (15,))
    cell = make_cell("gru", 3, 5, rngs=nnx.Rngs(1))
    cell.w_x.value = flax_cell.dense_i.kernel.value
    cell.w_h.value = flax_cell.dense_h.kernel.value
    cell.b.value = flax_cell.dense_i.bias.value
    x = jax.random.normal(jax.random.PRNGKey(4), (2, 6, 3))
    assert_close(RNN(cell)(x)[0], nnx.RNN(flax_cell)(x))


def test_coupled_lstm_input_gate_is_one_minus_forget():
    cell = build("coupled_lstm", forget_bias=0.0)
    h, c = jax.random.normal(jax.random.PRNGKey(5), (2, 2, 4))
    x_proj = jax.random.normal(jax.random.PRNGKey(6), (2, 12))
    a_f, a_g, _ = jnp.split(x_proj + h @ cell.w_h.value, 3, -1)
    f = jax.nn.sigmoid(a_f)
    expected_c = f * c + (1 - f) * jnp.tanh(a_g)
    assert_close(cell.step(cell.recurrent_params(), (h, c), x_proj)[1], expected_c)


def test_peephole_lstm_with_zero_peepholes_is_lstm():
    peephole = build("peephole_lstm")
    lstm = build("lstm")
    x = jax.random.normal(jax.random.PRNGKey(7), (2, 5, 3))
    assert_close(RNN(peephole)(x), RNN(lstm)(x))
    peephole.peepholes.value = jnp.ones_like(peephole.peepholes.value)
    assert not np.allclose(RNN(peephole)(x)[0], RNN(lstm)(x)[0])


def test_depth_gated_lstm_passes_lower_memory_through_gate():
    cell = build("depth_gated_lstm")
    x = jax.random.normal(jax.random.PRNGKey(8), (2, 3, 3))
    lower = jax.random.normal(jax.random.PRNGKey(9), (2, 3, 4))
    y_with, _ = RNN(cell)(jnp.concatenate([x, lower], -1))
    y_without, _ = RNN(cell)(jnp.concatenate([x, jnp.zeros_like(lower)], -1))
    assert y_with.shape == (2, 3, 8)  # [h ; c]
    assert not np.allclose(y_with, y_without)


def test_layernorm_lstm_is_invariant_to_input_weight_scale():
    cell = build("layernorm_lstm")
    x = jax.random.normal(jax.random.PRNGKey(10), (2, 4, 3))
    y, _ = RNN(cell)(x)
    cell.w_x.value = cell.w_x.value * 7.0  # LN(x W_x) removes the scale
    assert_close(RNN(cell)(x)[0], y, rtol=1e-4, atol=1e-5)


def test_gru_conventions_differ_only_where_reset_gate_sits():
    after = build("gru")
    before = build("gru_cho")
    h = jax.random.normal(jax.random.PRNGKey(11), (2, 4))
    x_proj = jax.random.normal(jax.random.PRNGKey(12), (2, 12))
    assert not np.allclose(after.step(after.recurrent_params(), h, x_proj),
                           before.step(before.recurrent_params(), h, x_proj))
    ones = jnp.full_like(x_proj, 50.0).at[:, 4:].set(x_proj[:, 4:])  # reset gate saturated at 1
    assert_close(after.step(after.recurrent_params(), h, ones),
                 before.step(before.recurrent_params(), h, ones), rtol=1e-5)


def test_irnn_identity_recurrence_and_relu():
    cell = build("irnn", bias_init=initializers.zeros)
    np.testing.assert_array_equal(cell.w_h.value, np.eye(4))
    h = jnp.abs(jax.random.normal(jax.random.PRNGKey(13), (2, 4)))
    assert_close(cell.step(cell.recurrent_params(), h, jnp.zeros((2, 4))), h)


def test_initialisers_uniform_and_per_gate_orthogonal():
    cell = build("lstm", kernel_init=initializers.uniform(0.05), hidden_size=6)
    assert float(jnp.abs(cell.w_x.value).max()) <= 0.05
    for gate in range(4):
        block = cell.w_h.value[0][:, gate * 6:(gate + 1) * 6]
        assert_close(block.T @ block, jnp.eye(6), atol=1e-5)
    np.testing.assert_allclose(cell.b.value[6:12], 1.0)  # forget bias


def test_lstm_heads_are_block_diagonal():
    cell = LSTMCell(3, 8, rngs=nnx.Rngs(0), num_heads=2)
    assert cell.w_h.value.shape == (2, 4, 16)
    x = jax.random.normal(jax.random.PRNGKey(14), (1, 3, 3))
    dense = LSTMCell(3, 8, rngs=nnx.Rngs(0))
    dense.w_x.value, dense.b.value = cell.w_x.value, cell.b.value
    w = np.zeros((8, 32), np.float32)
    for k in range(2):
        for g in range(4):
            w[k * 4:(k + 1) * 4, g * 8 + k * 4:g * 8 + (k + 1) * 4] = \
                cell.w_h.value[k][:, g * 4:(g + 1) * 4]
    dense.w_h.value = jnp.asarray(w)[None]
    assert_close(RNN(cell)(x), RNN(dense)(x))


# ----------------------------------------------------------------- forward values: numpy formulas

def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def _numpy(*arrays):
    return [np.asarray(a, np.float64) for a in arrays]


def _random_params(cell, seed: int) -> None:
    """Every parameter of ``cell`` drawn N(0, 0.5^2): no term of its equations is zero."""
    leaves, treedef = jax.tree.flatten(nnx.state(cell, nnx.Param))
    keys = jax.random.split(jax.random.PRNGKey(seed), len(leaves))
    nnx.update(cell, jax.tree.unflatten(treedef, [
        0.5 * jax.random.normal(k, leaf.shape) for k, leaf in zip(keys, leaves, strict=True)]))


def test_gru_cho_forward_values_match_cho_et_al_2014():
    """r = s(x W_r + h U_r + b_r), z = s(x W_z + h U_z + b_z),
    n = tanh(x W_n + (r * h) U_n + b_n), h' = z h + (1 - z) n (Cho et al. 2014, eqs. 5-8)."""
    cell = build("gru_cho")
    _random_params(cell, 20)
    x = np.random.default_rng(0).normal(size=(2, 5, 3))
    w_x, w_h, b = _numpy(cell.w_x[...], cell.w_h[...], cell.b[...])
    h, hs = np.zeros((2, 4)), []
    for t in range(5):
        gx = x[:, t] @ w_x + b
        r = _sigmoid(gx[:, :4] + h @ w_h[:, :4])
        z = _sigmoid(gx[:, 4:8] + h @ w_h[:, 4:8])
        n = np.tanh(gx[:, 8:] + (r * h) @ w_h[:, 8:])
        h = z * h + (1 - z) * n
        hs.append(h)
    y, final = RNN(cell)(jnp.asarray(x, jnp.float32))
    assert_close((y, final), (np.stack(hs, 1), h), rtol=1e-5, atol=1e-6)


def test_peephole_lstm_forward_values_match_gers_and_schmidhuber_2000():
    """i = s(a_i + p_i c_{t-1}), f = s(a_f + p_f c_{t-1}), c = f c_{t-1} + i tanh(a_g),
    o = s(a_o + p_o c_t), h = o tanh(c), with a = x W_x + h_{t-1} W_h + b; peepholes non-zero."""
    cell = build("peephole_lstm")
    _random_params(cell, 21)
    x = np.random.default_rng(1).normal(size=(2, 5, 3))
    w_x, w_h, b, (p_i, p_f, p_o) = _numpy(cell.w_x[...], cell.w_h[...], cell.b[...],
                                          cell.peepholes[...])
    h, c, hs = np.zeros((2, 4)), np.zeros((2, 4)), []
    for t in range(5):
        a_i, a_f, a_g, a_o = np.split(x[:, t] @ w_x + h @ w_h + b, 4, axis=-1)
        i, f = _sigmoid(a_i + p_i * c), _sigmoid(a_f + p_f * c)
        c = f * c + i * np.tanh(a_g)
        h = _sigmoid(a_o + p_o * c) * np.tanh(c)
        hs.append(h)
    y, final = RNN(cell)(jnp.asarray(x, jnp.float32))
    assert_close((y, final), (np.stack(hs, 1), (h, c)), rtol=1e-5, atol=1e-6)


def test_depth_gated_lstm_forward_values_match_yao_et_al_2015():
    """d = s(x W_d + b_d + w_cd c_{t-1} + w_ld c^lower_t), c = f c_{t-1} + i g + d c^lower_t,
    h = o tanh(c) (Yao et al. 2015, eqs. 1-2), the LSTM gates as usual; output [h ; c]."""
    cell = build("depth_gated_lstm")
    _random_params(cell, 22)
    rng = np.random.default_rng(2)
    x, lower = rng.normal(size=(2, 5, 3)), rng.normal(size=(2, 5, 4))
    w_x, w_h, b, (w_cd, w_ld) = _numpy(cell.w_x[...], cell.w_h[...], cell.b[...], cell.w_cd[...])
    h, c, outputs = np.zeros((2, 4)), np.zeros((2, 4)), []
    for t in range(5):
        gx = x[:, t] @ w_x + b
        a_i, a_f, a_g, a_o = np.split(gx[:, :16] + h @ w_h, 4, axis=-1)
        d = _sigmoid(gx[:, 16:] + w_cd * c + w_ld * lower[:, t])
        c = _sigmoid(a_f) * c + _sigmoid(a_i) * np.tanh(a_g) + d * lower[:, t]
        h = _sigmoid(a_o) * np.tanh(c)
        outputs.append(np.concatenate([h, c], -1))
    y, final = RNN(cell)(jnp.asarray(np.concatenate([x, lower], -1), jnp.float32))
    assert_close((y, final), (np.stack(outputs, 1), (h, c)), rtol=1e-5, atol=1e-6)
