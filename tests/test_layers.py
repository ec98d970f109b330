"""Layers: masking, reverse, carries (truncated BPTT), bidirectional, stacks, regularisers."""

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from rnnjax_testing import assert_close, cast_module, small_cell_kwargs

from rnnjax import layers
from rnnjax.cells import CELLS, LogLinearCell, LSTMCell, make_cell
from rnnjax.layers import (
    RNN,
    WAVEFRONT_MAX_HIDDEN,
    Bidirectional,
    StackedRNN,
    reverse_within_lengths,
)

KINDS = ["lstm", "gru", "elman_tanh"]


def rnn(kind="lstm", reverse=False, **kwargs):
    return RNN(make_cell(kind, 3, 4, rngs=nnx.Rngs(0)), reverse=reverse, **kwargs)


def inputs(batch=3, time=6, seed=1):
    return jax.random.normal(jax.random.PRNGKey(seed), (batch, time, 3))


LENGTHS = jnp.array([6, 2, 4])


def value_and_gradients(loss, layer, *args):
    """``loss(layer, *args)`` and its gradients w.r.t. the layer and ``args[0]``, from one
    differentiated call: the value is the forward pass the gradients differentiate."""
    return nnx.value_and_grad(loss, argnums=(0, 1))(layer, *args)


@partial(nnx.jit, static_argnums=0)
def both_value_and_gradients(loss, layer, reference, *args):
    """``value_and_gradients`` of ``layer`` and of ``reference``, compiled as one program (one
    compilation per test instead of op-by-op dispatch; the same values and gradients)."""
    return value_and_gradients(loss, layer, *args), value_and_gradients(loss, reference, *args)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("kind", KINDS)
def test_padded_batch_equals_each_sequence_alone(kind, reverse):
    layer = rnn(kind, reverse)
    run = nnx.jit(lambda layer, x, lengths=None: layer(x, seq_lengths=lengths))
    x = inputs()
    y, carry = run(layer, x, LENGTHS)
    for b, length in enumerate(LENGTHS.tolist()):
        y_b, carry_b = run(layer, x[b:b + 1, :length])
        assert_close(y[b:b + 1, :length], y_b)
        assert_close(jax.tree.map(lambda a, b=b: a[b:b + 1], carry), carry_b)
        np.testing.assert_array_equal(y[b, length:], 0.0)


@pytest.mark.parametrize("impl", ["scan", "xla"])
def test_padding_values_do_not_influence_outputs_or_gradients(impl):
    layer = rnn("lstm", impl=impl)
    x = inputs()
    poisoned = jnp.where(jnp.arange(6)[None, :, None] < LENGTHS[:, None, None], x, 1e3)

    def loss(x):
        y, (h, c) = layer(x, seq_lengths=LENGTHS)
        return jnp.sum(y**2) + jnp.sum(h) + jnp.sum(c)

    loss_and_grad = jax.jit(jax.value_and_grad(loss))
    value, grad = loss_and_grad(x)
    assert_close(loss_and_grad(poisoned)[0], value)
    np.testing.assert_array_equal(
        np.asarray(grad)[np.arange(6)[None, :] >= np.asarray(LENGTHS)[:, None]], 0.0)


def test_reverse_within_lengths_keeps_padding_in_place():
    x = jnp.arange(8.0).reshape(2, 4, 1)
    out = reverse_within_lengths(x, jnp.array([4, 2]))[..., 0]
    np.testing.assert_array_equal(out, [[3, 2, 1, 0], [5, 4, 6, 7]])


@pytest.mark.parametrize("kind", KINDS)
def test_carry_chaining_equals_one_pass(kind):
    layer = rnn(kind)
    x = inputs(time=8)
    y, carry = layer(x)
    y1, c1 = layer(x[:, :5])
    y2, c2 = layer(x[:, 5:], initial_carry=c1)
    assert_close(jnp.concatenate([y1, y2], 1), y)
    assert_close(c2, carry)


def test_lstm_xla_impl_agrees_with_scan_with_heads_lengths_and_initial_carry():
    cell = make_cell("lstm", 3, 8, rngs=nnx.Rngs(0), num_heads=2)
    x = inputs()
    carry = (jnp.ones((3, 8)) * 0.3, -jnp.ones((3, 8)) * 0.2)

    def loss(layer, x):
        y, (h, c) = layer(x, seq_lengths=LENGTHS, initial_carry=carry)
        return jnp.sum(jnp.sin(y)) + jnp.sum(h * c)

    ours, reference = both_value_and_gradients(loss, RNN(cell, impl="xla"),
                                               RNN(cell, impl="scan"), x)
    assert_close(ours, reference, rtol=1e-5, atol=1e-6)


def test_bidirectional_concat_and_sum():
    forward, backward = rnn("gru"), rnn("gru", reverse=True)
    x = inputs()
    y, (_, c_b) = Bidirectional(forward, backward)(x, seq_lengths=LENGTHS)
    y_f, _ = forward(x, seq_lengths=LENGTHS)
    y_b, _ = backward(x, seq_lengths=LENGTHS)
    assert_close(y, jnp.concatenate([y_f, y_b], -1))
    y_sum, _ = Bidirectional(forward, backward, merge="sum")(x, seq_lengths=LENGTHS)
    assert_close(y_sum, y_f + y_b)
    # the backward direction's final carry is its state after reading each sequence's first step
    assert_close(c_b[1], backward(x[1:2, :2])[1][0])


@pytest.mark.parametrize("skip", ["none", "residual", "dense"])
def test_stacked_skips(skip):
    stack = StackedRNN("lstm", 3, 4, 3, rngs=nnx.Rngs(0), skip=skip)
    x = inputs()
    y, carries = stack(x)
    lower, h = [], x
    for k, layer in enumerate(stack.layers):
        out, _ = layer(h)
        if skip == "residual" and k > 0:
            out = out + h
        if skip == "dense" and k > 0:  # Britz et al. 2017: x_{k+1} = f_k(x_k) + sum_{j<=k} x_j
            lower.append(h)
            out = out + sum(lower)
        h = out
    assert len(carries) == 3
    assert_close(y, h)


def test_stacked_bidirectional_shapes_and_depth_gated():
    stack = StackedRNN("gru", 3, 4, 2, rngs=nnx.Rngs(0), bidirectional=True)
    y, carries = stack(inputs(), seq_lengths=LENGTHS)
    assert y.shape == (3, 6, 8) and stack.output_size == 8
    assert len(carries) == 2 and len(carries[0]) == 2
    deep = StackedRNN("depth_gated_lstm", 3, 4, 3, rngs=nnx.Rngs(0))
    assert deep(inputs())[0].shape == (3, 6, 4)


def test_dropout_variants_need_a_key_and_are_deterministic_given_it():
    stack = StackedRNN("lstm", 3, 4, 2, rngs=nnx.Rngs(0), dropout=0.5, variational=True,
                       dropconnect=0.5)
    x = inputs()
    key = jax.random.PRNGKey(3)
    assert_close(stack(x)[0], stack(x)[0])
    assert_close(stack(x, dropout_key=key)[0], stack(x, dropout_key=key)[0])
    assert not np.allclose(stack(x, dropout_key=key)[0], stack(x)[0])


def test_variational_dropout_mask_is_shared_over_time():
    from rnnjax.regularizers import dropout

    out = dropout(jnp.ones((2, 5, 7)), 0.5, jax.random.PRNGKey(0), locked=True)
    np.testing.assert_array_equal(out, np.broadcast_to(out[:, :1], out.shape))
    assert set(np.unique(out)) <= {0.0, 2.0}


def test_zoneout_training_keeps_units_and_eval_is_expectation():
    layer = rnn("gru", zoneout=0.5)
    plain = rnn("gru")
    x = inputs()
    y_train, _ = layer(x, dropout_key=jax.random.PRNGKey(0))
    y_plain, _ = plain(x)
    assert not np.allclose(y_train, y_plain)
    step = plain.cell.step(plain.cell.recurrent_params(), jnp.zeros((3, 4)),
                           plain.cell.project_inputs(x[:, 0]))
    assert_close(layer(x[:, :1])[0][:, 0], 0.5 * step)


def test_dropconnect_masks_recurrent_matrix_once_per_call():
    from rnnjax.regularizers import dropconnect

    params = {"w_h": jnp.ones((4, 8)), "b_hn": jnp.ones(4)}
    out = dropconnect(params, ("w_h",), 0.5, jax.random.PRNGKey(0))
    assert set(np.unique(out["w_h"])) == {0.0, 2.0}
    np.testing.assert_array_equal(out["b_hn"], 1.0)


def test_jit_and_bfloat16_inputs():
    layer = rnn("lstm", impl="xla")
    graphdef, state = nnx.split(layer)

    @jax.jit
    def run(state, x):
        return nnx.merge(graphdef, state)(x)[0]

    x = inputs()
    assert_close(run(state, x), layer(x)[0])
    state_bf16 = nnx.state(cast_module(layer, jnp.bfloat16))
    y_bf16 = run(state_bf16, x.astype(jnp.bfloat16))
    assert y_bf16.dtype == jnp.bfloat16
    assert_close(y_bf16.astype(jnp.float32), layer(x)[0], rtol=5e-2, atol=5e-2)


@pytest.mark.parametrize("impl", ["triton_interpret", "triton_cell_interpret"])
def test_layer_runs_the_triton_kernels_under_the_interpreter(impl):
    pytest.importorskip("triton")
    pytest.importorskip("torch")
    cell = make_cell("lstm", 3, 8, rngs=nnx.Rngs(0), num_heads=2)
    x = inputs(batch=2, time=4)
    lengths = jnp.array([4, 2])

    def loss(layer, x):
        y, (h, c) = layer(x, seq_lengths=lengths, dropout_key=jax.random.PRNGKey(0))
        return jnp.sum(jnp.sin(y)) + jnp.sum(h * c)

    kernel = RNN(cell, impl=impl, reverse=True, dropconnect=0.3)
    reference = RNN(cell, impl="scan", reverse=True, dropconnect=0.3)
    ours, expected = both_value_and_gradients(loss, kernel, reference, x)
    assert_close(ours, expected, rtol=1e-5, atol=1e-6)


def poison_padding(x, lengths, value):
    return jnp.where(jnp.arange(x.shape[1])[None, :, None] < lengths[:, None, None], x, value)


@pytest.mark.parametrize(("kind", "impl", "bidirectional"),
                         [("lstm", "scan", False), ("lstm", "auto", False), ("gru", "scan", False),
                          ("gru", "auto", True), ("elman_tanh", "auto", True)])
def test_nan_or_inf_padding_leaves_outputs_and_parameter_gradients_finite(kind, impl,
                                                                          bidirectional):
    """NaN and inf padding each give the clean batch's loss and finite, equal gradients (one
    compiled value-and-gradient serves the three batches)."""
    stack = StackedRNN(kind, 3, 4, 2, rngs=nnx.Rngs(0), impl=impl, bidirectional=bidirectional)
    graphdef, state = nnx.split(stack)
    x = inputs()

    def loss(state, x):
        y, carries = nnx.merge(graphdef, state)(x, seq_lengths=LENGTHS)
        return jnp.sum(y**2) + sum(jnp.sum(c) for c in jax.tree.leaves(carries))

    loss_and_grads = jax.jit(jax.value_and_grad(loss))
    value_clean, grads_clean = loss_and_grads(state, x)
    for value in (jnp.nan, jnp.inf):
        value_poisoned, grads = loss_and_grads(state, poison_padding(x, LENGTHS, value))
        assert_close(value_poisoned, value_clean, err_msg=f"padding {value}")
        assert all(np.isfinite(g).all() for g in jax.tree.leaves(grads)), f"padding {value}"
        assert_close(grads, grads_clean, err_msg=f"padding {value}")


@pytest.mark.parametrize("impl", ["scan", "auto"])
def test_lengths_beyond_time_under_jit_are_clamped_not_nan(impl):
    layer = rnn("gru", reverse=True, impl=impl)
    graphdef, state = nnx.split(layer)
    run = jax.jit(lambda state, x, lengths: nnx.merge(graphdef, state)(x, seq_lengths=lengths))
    x = inputs()
    y, carry = run(state, x, jnp.array([9, 2, 6]))
    y_ref, carry_ref = layer(x, seq_lengths=jnp.array([6, 2, 6]))
    assert_close((y, carry), (y_ref, carry_ref))


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_auto_impl_runs_every_cell_and_equals_scan(kind):
    cell = make_cell(kind, 3, 4, rngs=nnx.Rngs(0), **small_cell_kwargs(kind, 4))
    auto, scan = RNN(cell), RNN(cell, impl="scan")
    x_dtype = jnp.float32
    expected = ("parallel" if isinstance(cell, LogLinearCell)
                else "triton" if type(cell) is LSTMCell and layers._triton_available()  # GPU
                else "cpu_fused" if type(cell) is LSTMCell and layers._cpu_kernel_runs(x_dtype)
                else "xla" if cell.math is not None else "scan")
    assert auto.resolved_impl() == expected
    x = jax.random.normal(jax.random.PRNGKey(1), (3, 6, cell.input_size))

    def loss(layer, x):
        y, carry = layer(x, seq_lengths=LENGTHS)
        return jnp.sum(jnp.sin(y)) + sum(jnp.sum(c) for c in jax.tree.leaves(carry))

    ours, reference = both_value_and_gradients(loss, auto, scan, x)
    assert_close(ours, reference, rtol=1e-5, atol=1e-6)


def stack_loss(stack, x, key, carries=None):
    y, final = stack(x, seq_lengths=LENGTHS, initial_carry=carries, dropout_key=key)
    return jnp.sum(jnp.sin(y)) + sum(jnp.sum(jnp.cos(c)) for c in jax.tree.leaves(final))


@pytest.mark.parametrize(("kind", "variational"), [("lstm", False), ("elman_relu", True)])
def test_wavefront_equals_layer_by_layer_with_dropout(kind, variational):
    kwargs = {"dropout": 0.4, "variational": variational, "dropconnect": 0.2}
    wavefront = StackedRNN(kind, 3, 4, 3, rngs=nnx.Rngs(0), wavefront=True, **kwargs)
    layered = StackedRNN(kind, 3, 4, 3, rngs=nnx.Rngs(0), wavefront=False, **kwargs)
    assert wavefront._wavefront_applies() and not layered._wavefront_applies()
    x, key = inputs(), jax.random.PRNGKey(5)
    carries = jax.tree.map(lambda c: c + 0.3, layered.initial_carry(3))
    for args in ((x, key, carries), (x, None)):
        ours, reference = both_value_and_gradients(stack_loss, wavefront, layered, *args)
        assert_close(ours, reference, rtol=1e-5, atol=1e-6)


def test_wavefront_by_default_only_up_to_its_width():
    def applies(hidden: int, wavefront: bool | None = None, impl: str = "xla") -> bool:
        # parameters as shapes only (no 256-wide orthogonal initialisations): the choice depends
        # on the sizes, kinds and impls
        return nnx.eval_shape(lambda: StackedRNN("lstm", 3, hidden, 2, rngs=nnx.Rngs(0), impl=impl,
                                                 wavefront=wavefront))._wavefront_applies()

    assert applies(WAVEFRONT_MAX_HIDDEN)
    assert not applies(WAVEFRONT_MAX_HIDDEN + 1)
    assert applies(WAVEFRONT_MAX_HIDDEN + 1, wavefront=True)
    # "auto" layers that run the fused CPU kernel go layer by layer unless a wavefront is asked
    fused = layers._cpu_kernel_runs(jnp.float32)
    assert applies(WAVEFRONT_MAX_HIDDEN, impl="auto") is not fused
    assert applies(WAVEFRONT_MAX_HIDDEN, wavefront=True, impl="auto")
    assert not applies(WAVEFRONT_MAX_HIDDEN, impl="cpu_fused" if fused else "scan")


def test_fused_bidirectional_equals_separate_directions():
    forward, backward = rnn("lstm", impl="xla"), rnn("lstm", reverse=True, impl="xla")
    fused = Bidirectional(forward, backward)
    x = inputs()
    carries = (jax.tree.map(lambda c: c + 0.2, forward.initial_carry(3)),
               jax.tree.map(lambda c: c - 0.1, backward.initial_carry(3)))

    def loss(layer, x, separate=False):
        if separate:
            y_f, c_f = layer.forward(x, seq_lengths=LENGTHS, initial_carry=carries[0])
            y_b, c_b = layer.backward(x, seq_lengths=LENGTHS, initial_carry=carries[1])
            y, final = jnp.concatenate([y_f, y_b], -1), (c_f, c_b)
        else:
            y, final = layer(x, seq_lengths=LENGTHS, initial_carry=carries)
        return jnp.sum(jnp.sin(y)) + sum(jnp.sum(jnp.cos(c)) for c in jax.tree.leaves(final))

    assert_close(value_and_gradients(loss, fused, x), value_and_gradients(loss, fused, x, True),
                 rtol=1e-5, atol=1e-6)
