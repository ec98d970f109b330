"""The Triton LSTM kernels compiled for the GPU via jax-triton (skipped without a CUDA GPU).

Run on a GPU machine with ``python -m pytest -m gpu tests/kernels`` (scripts/gpu_check.sh).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
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

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not kernels.gpu_available(), reason="needs a CUDA GPU with jax-triton"),
]

_LENGTHS = np.random.default_rng(0).integers(1, 34, size=40).tolist()
# (batch, time, num_heads, head size, dtype, seq_lengths)
CASES = {
    "heads24x32_bf16": (16, 64, 24, 32, jnp.bfloat16, None),
    "heads12x64_f32_lengths": (5, 33, 12, 64, jnp.float32, _LENGTHS[:5]),
    "dense48_f32": (3, 17, 1, 48, jnp.float32, None),
    "batch1_T1": (1, 1, 4, 16, jnp.float32, None),
    "three_batch_tiles_8x64_bf16_lengths": (40, 33, 8, 64, jnp.bfloat16, _LENGTHS),
}
CELL_ONLY = {"dense768_bf16": (4, 8, 1, 768, jnp.bfloat16, [8, 3, 1, 5])}


def _check(impl, case):
    batch, time, num_heads, head, dtype, lengths = case
    args = make_inputs(batch, time, num_heads, head, dtype)
    seq_lengths = lengths_array(lengths)
    out, grads = outputs_and_grads(functools.partial(kernels.lstm_recurrence, impl=impl), args,
                                   seq_lengths)
    with jax.default_matmul_precision("highest"):  # no TF32 in the float32 reference
        ref_out, ref_grads = outputs_and_grads(lstm_recurrence_scan, args, seq_lengths)
    assert_close(out, ref_out, dtype, OUTPUT_NAMES)
    assert_close(grads, ref_grads, dtype, GRAD_NAMES)


@pytest.mark.parametrize("impl", ["triton", "triton_cell"])
@pytest.mark.parametrize("case", list(CASES))
def test_matches_scan_reference(impl, case):
    _check(impl, CASES[case])


@pytest.mark.parametrize("case", list(CELL_ONLY))
def test_cell_kernel_dense_hidden_768(case):
    _check("triton_cell", CELL_ONLY[case])


@pytest.mark.parametrize("impl", ["triton", "triton_cell"])
def test_saved_buffers_finite_and_huge_inputs_safe(impl):
    gates_x, w_h, h0, c0 = make_inputs(9, 12, 4, 32, jnp.bfloat16, seed=2, scale=3000.0)
    lengths = jnp.asarray([12, 1, 5, 7, 12, 2, 3, 11, 9], jnp.int32)
    outputs, residuals = jax_binding._recurrence_fwd(gates_x, 100.0 * w_h, h0, c0, lengths, impl)
    for leaf in jax.tree.leaves((outputs, residuals)):
        assert np.all(np.isfinite(np.asarray(leaf, np.float32)))
    _, grads = outputs_and_grads(functools.partial(kernels.lstm_recurrence, impl=impl),
                                 (gates_x, 100.0 * w_h, h0, c0), lengths)
    for leaf in grads:
        assert np.all(np.isfinite(np.asarray(leaf, np.float32)))


@pytest.mark.parametrize("impl", ["triton", "triton_cell"])
def test_jit_matches_eager(impl):
    args = make_inputs(8, 16, 2, 32, jnp.bfloat16, seed=5)
    fn = functools.partial(kernels.lstm_recurrence, impl=impl)
    for a, b in zip(jax.jit(fn)(*args), fn(*args), strict=True):
        np.testing.assert_array_equal(np.asarray(a, np.float32), np.asarray(b, np.float32))
