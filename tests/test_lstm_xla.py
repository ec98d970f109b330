"""The array-level LSTM recurrence: the custom VJP against autodiff and finite differences."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads
from rnnjax_testing import assert_close

from rnnjax.lstm_xla import lstm_recurrence_scan, lstm_recurrence_xla
from rnnjax.recurrence import gate_major_to_heads, heads_to_gate_major


def arrays(batch, time, hidden, heads, dtype=jnp.float32, seed=0):
    """gates_x, w_h, h0, c0 of the contract, standard normal (w_h scaled by 0.4), drawn with
    numpy (no random-number program to compile per shape); carries at least float32."""
    rng = np.random.default_rng(seed)
    d = hidden // heads
    carry_dtype = jnp.promote_types(dtype, jnp.float32)
    return (jnp.asarray(rng.standard_normal((batch, time, 4 * hidden)), dtype),
            jnp.asarray(rng.standard_normal((heads, d, 4 * d)) * 0.4, dtype),
            jnp.asarray(rng.standard_normal((batch, hidden)), carry_dtype),
            jnp.asarray(rng.standard_normal((batch, hidden)), carry_dtype))


CASES = [(3, 5, 8, 1, None), (3, 5, 8, 2, (5, 1, 3)), (1, 1, 4, 1, None), (2, 4, 12, 3, (2, 4))]


@pytest.mark.parametrize(("batch", "time", "hidden", "heads", "lengths"), CASES)
def test_custom_vjp_passes_float64_check_grads(batch, time, hidden, heads, lengths):
    with jax.enable_x64(True):
        args = arrays(batch, time, hidden, heads, jnp.float64)
        seq_lengths = None if lengths is None else jnp.array(lengths)
        check_grads(jax.jit(lambda *a: lstm_recurrence_xla(*a, seq_lengths)), args, order=1,
                    modes=["rev"], eps=1e-6, atol=1e-7, rtol=1e-7)


@pytest.mark.parametrize(("batch", "time", "hidden", "heads", "lengths"), CASES)
def test_custom_vjp_equals_autodiff_float32(batch, time, hidden, heads, lengths):
    args = arrays(batch, time, hidden, heads)
    seq_lengths = None if lengths is None else jnp.array(lengths)

    def values_and_grads(fn):
        def loss(*a):
            outputs = fn(*a, seq_lengths)
            return sum(jnp.sum(jnp.sin(o)) for o in outputs), outputs
        return jax.jit(jax.grad(loss, argnums=(0, 1, 2, 3), has_aux=True))(*args)

    assert_close(values_and_grads(lstm_recurrence_xla), values_and_grads(lstm_recurrence_scan),
                 rtol=1e-5, atol=1e-6)


def test_bfloat16_inputs_keep_float32_carries():
    args = arrays(2, 6, 8, 2, jnp.bfloat16)

    def loss(gates_x, w_h):
        outputs = lstm_recurrence_xla(gates_x, w_h, *args[2:])
        return jnp.sum(outputs[0]), outputs

    grads, (hs, h, c) = jax.jit(jax.grad(loss, argnums=(0, 1), has_aux=True))(*args[:2])
    assert hs.dtype == jnp.bfloat16 and h.dtype == c.dtype == jnp.float32
    reference = jax.jit(lstm_recurrence_scan)(args[0].astype(jnp.float32),
                                              args[1].astype(jnp.float32), *args[2:])
    assert_close((hs.astype(jnp.float32), h, c), reference, rtol=2e-2, atol=2e-2)
    assert grads[0].dtype == grads[1].dtype == jnp.bfloat16


def test_head_layout_round_trip():
    x = jnp.arange(2 * 4 * 6.0).reshape(2, 24)  # 3 heads of size 2, gate-major
    heads = gate_major_to_heads(x, 3, 4)
    assert heads.shape == (2, 3, 8)
    np.testing.assert_array_equal(heads[0, 1, :2], x[0, 2:4])  # head 1, gate i
    np.testing.assert_array_equal(heads[0, 1, 2:4], x[0, 8:10])  # head 1, gate f
    np.testing.assert_array_equal(heads_to_gate_major(heads, 4), x)


@pytest.mark.parametrize("fn", [lstm_recurrence_xla, lstm_recurrence_scan])
def test_recurrence_rejects_shapes_outside_the_contract(fn):
    gates_x, w_h, h0, c0 = arrays(2, 3, 8, 2)
    with pytest.raises(ValueError, match=r"gates_x must be of last dimension 32"):
        fn(gates_x[..., :30], w_h, h0, c0)
    with pytest.raises(ValueError, match=r"w_h must be of shape \[num_heads, D, 4D\]"):
        fn(gates_x, w_h[..., :8], h0, c0)
    with pytest.raises(ValueError, match=r"h0 must be of shape \(2, 8\)"):
        fn(gates_x, w_h, h0[:1], c0)
    with pytest.raises(ValueError, match=r"seq_lengths must be in \[1, 3\]"):
        fn(gates_x, w_h, h0, c0, jnp.array([4, 1]))
