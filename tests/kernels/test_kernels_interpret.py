"""The Triton LSTM kernels under the CPU interpreter, through the full custom VJP.

Each kernel run fills its output buffers with NaN first, so an element a kernel fails to write
fails these tests. Shapes stay tiny: the interpreter costs ~10-20 ms per program instance.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("triton")

from kernel_cases import (
    GRAD_NAMES,
    OUTPUT_NAMES,
    assert_close,
    lengths_array,
    make_inputs,
    outputs_and_grads,
)

import rnnjax_kernels as kernels
from rnnjax.lstm_xla import lstm_recurrence_scan
from rnnjax_kernels import jax_binding

IMPLS = ("triton_interpret", "triton_cell_interpret")

# (batch, time, num_heads, head size, dtype, seq_lengths)
CASES = {
    "dense_D20": (3, 5, 1, 20, jnp.float32, None),
    "heads_3x8_lengths": (2, 4, 3, 8, jnp.float32, [4, 2]),
    "batch1_T1": (1, 1, 2, 16, jnp.float32, None),
    "two_batch_tiles_D40_lengths": (17, 3, 2, 40, jnp.float32, [1, 3, 2] * 5 + [3, 1]),
    "head64": (2, 2, 1, 64, jnp.float32, [1, 2]),
    "bf16_heads_lengths": (5, 4, 2, 12, jnp.bfloat16, [4, 1, 3, 2, 4]),
}


def _impl(impl):
    return functools.partial(kernels.lstm_recurrence, impl=impl)


@functools.cache
def _case_and_reference(case):
    """A case's dtype, inputs and lengths, and the scan reference's outputs and gradients on them
    (computed once for both kernels)."""
    batch, time, num_heads, head, dtype, lengths = CASES[case]
    args = make_inputs(batch, time, num_heads, head, dtype)
    seq_lengths = lengths_array(lengths)
    return dtype, args, seq_lengths, outputs_and_grads(lstm_recurrence_scan, args, seq_lengths)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("case", list(CASES))
def test_matches_scan_reference(impl, case):
    dtype, args, seq_lengths, (ref_out, ref_grads) = _case_and_reference(case)
    out, grads = outputs_and_grads(_impl(impl), args, seq_lengths)
    assert_close(out, ref_out, dtype, OUTPUT_NAMES)
    assert_close(grads, ref_grads, dtype, GRAD_NAMES)


def test_cell_kernel_takes_heads_above_64():
    """The cell kernel tiles the head's inputs, so dense H = 80 (3 column tiles) works."""
    args = make_inputs(2, 2, 1, 80, jnp.float32)
    out, grads = outputs_and_grads(_impl("triton_cell_interpret"), args, None)
    ref_out, ref_grads = outputs_and_grads(lstm_recurrence_scan, args, None)
    assert_close(out, ref_out, jnp.float32, OUTPUT_NAMES)
    assert_close(grads, ref_grads, jnp.float32, GRAD_NAMES)


def _numpy_lstm(gates_x, w_h, h0, c0, lengths):
    """Independent float64 forward: the contract's math written out per batch row and head."""
    gates_x, w_h = np.asarray(gates_x, np.float64), np.asarray(w_h, np.float64)
    h, c = np.array(h0, np.float64), np.array(c0, np.float64)
    batch, time, four_h = gates_x.shape
    num_heads, head, _ = w_h.shape
    hidden = four_h // 4
    hs = np.zeros((batch, time, hidden))
    sigmoid = lambda x: 1.0 / (1.0 + np.exp(-x))  # noqa: E731
    for t in range(time):
        for b in range(batch):
            if t >= lengths[b]:
                continue
            pre = gates_x[b, t].reshape(4, num_heads, head).copy()
            for k in range(num_heads):
                pre[:, k] += (h[b, k * head:(k + 1) * head] @ w_h[k]).reshape(4, head)
            i, f, g, o = sigmoid(pre[0]), sigmoid(pre[1]), np.tanh(pre[2]), sigmoid(pre[3])
            c[b] = f.ravel() * c[b] + i.ravel() * g.ravel()
            h[b] = o.ravel() * np.tanh(c[b])
            hs[b, t] = h[b]
    return hs, h, c


@pytest.mark.parametrize("impl", IMPLS)
def test_forward_matches_float64_numpy(impl):
    args = make_inputs(3, 4, 2, 8, jnp.float32, seed=3)
    lengths = [4, 1, 3]
    out = kernels.lstm_recurrence(*args, jnp.asarray(lengths), impl=impl)
    for name, a, b in zip(OUTPUT_NAMES, out, _numpy_lstm(*args, lengths), strict=True):
        np.testing.assert_allclose(np.asarray(a), b, rtol=1e-5, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("impl", IMPLS)
def test_every_output_and_saved_buffer_is_written(impl):
    """Forward outputs and the residuals saved for backward (NaN-poisoned before the launch)."""
    args = make_inputs(17, 3, 2, 12, jnp.float32, seed=1)
    lengths = jnp.asarray([1, 3, 2] * 5 + [3, 2], jnp.int32)
    outputs, residuals = jax_binding._recurrence_fwd(*args, lengths, impl)
    for leaf in jax.tree.leaves((outputs, residuals)):
        assert np.all(np.isfinite(np.asarray(leaf, np.float32)))
    hs = np.asarray(outputs[0])
    steps = np.arange(3)[None, :] >= np.asarray(lengths)[:, None]
    assert np.all(hs[steps] == 0.0), "hs must be 0 past each sequence's length"


@pytest.mark.parametrize("impl", IMPLS)
def test_activations_accurate_and_finite_for_extreme_inputs(impl):
    """W_h = 0, h0 = c0 = 0, one step, i saturated at 1: c_last = tanh(x), h_last =
    sigmoid(x) tanh(tanh(x)) elementwise, for |x| from 1e-8 to 1e4."""
    x = np.array([0.0, 1e-8, -3e-5, 0.01, -0.1, 0.12, -0.13, 0.5, -1.0, 3.0, -9.0, 20.0, -88.0,
                  100.0, -1e3, 5e3, -1e4, 1e4, 0.124999, -0.125001], np.float32)
    hidden = x.size
    gates = np.stack([np.full_like(x, 30.0), np.zeros_like(x), x, x])  # i, f, g, o
    gates_x = jnp.asarray(gates.reshape(1, 1, 4 * hidden))
    w_h = jnp.zeros((1, hidden, 4 * hidden), jnp.float32)
    zeros = jnp.zeros((1, hidden), jnp.float32)
    _, h, c = kernels.lstm_recurrence(gates_x, w_h, zeros, zeros, impl=impl)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(np.asarray(c)[0], np.tanh(x64), rtol=1e-6, atol=1e-30)
    expected_h = np.tanh(np.tanh(x64)) * np.exp(-np.logaddexp(0.0, -x64))
    np.testing.assert_allclose(np.asarray(h)[0], expected_h, rtol=1e-5, atol=1e-30)


@pytest.mark.parametrize("impl", IMPLS)
def test_huge_preactivations_give_finite_gradients(impl):
    gates_x, w_h, h0, c0 = make_inputs(2, 3, 2, 8, jnp.float32, seed=2, scale=3000.0)
    out, grads = outputs_and_grads(_impl(impl), (gates_x, 100.0 * w_h, h0, c0), None)
    for leaf in (*out, *grads):
        assert np.all(np.isfinite(np.asarray(leaf)))
    assert np.all(np.abs(np.asarray(out[0])) <= 1.0)


def test_runs_under_jit_with_traced_lengths():
    args = make_inputs(2, 3, 1, 16, jnp.float32, seed=4)
    lengths = jnp.asarray([3, 2], jnp.int32)
    fn = jax.jit(functools.partial(kernels.lstm_recurrence, impl="triton_interpret"))
    jitted = fn(*args, lengths)
    eager = kernels.lstm_recurrence(*args, lengths, impl="triton_interpret")
    for a, b in zip(jitted, eager, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
