"""Input checks of kernels.lstm_recurrence: each error names the argument, expected and actual.

No kernel runs here (checks happen before any launch), so neither torch nor triton is needed.
"""

from __future__ import annotations

import re

import jax.numpy as jnp
import numpy as np
import pytest

import rnnjax_kernels as kernels

B, T, NH, D = 2, 5, 2, 4
H = NH * D


def _args(**overrides):
    args = {
        "gates_x": jnp.zeros((B, T, 4 * H), jnp.float32),
        "w_h": jnp.zeros((NH, D, 4 * D), jnp.float32),
        "h0": jnp.zeros((B, H), jnp.float32),
        "c0": jnp.zeros((B, H), jnp.float32),
        "seq_lengths": None,
    }
    args.update(overrides)
    return args


BAD_INPUTS = {
    "gates_x_rank": (dict(gates_x=jnp.zeros((B, 4 * H))), ValueError,
                     "gates_x must be of rank 3, got shape (2, 32)"),
    "gates_x_not_array": (dict(gates_x=[[1.0]]), TypeError,
                          "gates_x must be an array of rank 3, got list"),
    "gates_x_float16": (dict(gates_x=jnp.zeros((B, T, 4 * H), jnp.float16)), TypeError,
                        "gates_x must be of dtype float32 or bfloat16, got dtype float16"),
    "gates_x_int": (dict(gates_x=jnp.zeros((B, T, 4 * H), jnp.int32)), TypeError,
                    "gates_x must be of dtype float32 or bfloat16, got dtype int32"),
    "gates_x_not_4H": (dict(gates_x=jnp.zeros((B, T, 30))), ValueError,
                       "gates_x must be of shape [B >= 1, T >= 1, 4H] with H >= 1, "
                       "got shape (2, 5, 30)"),
    "gates_x_empty_time": (dict(gates_x=jnp.zeros((B, 0, 4 * H))), ValueError,
                           "got shape (2, 0, 32)"),
    "w_h_rank": (dict(w_h=jnp.zeros((H, 4 * H))), ValueError,
                 "w_h must be of rank 3, got shape (8, 32)"),
    "w_h_dtype": (dict(w_h=jnp.zeros((NH, D, 4 * D), jnp.bfloat16)), TypeError,
                  "w_h must be of dtype float32, got dtype bfloat16"),
    "w_h_heads": (dict(w_h=jnp.zeros((1, D, 4 * D))), ValueError,
                  "w_h must be of shape [num_heads, D, 4D] with num_heads * D = H = 8, "
                  "got shape (1, 4, 16)"),
    "w_h_not_4D": (dict(w_h=jnp.zeros((NH, D, 3 * D))), ValueError,
                   "with num_heads * D = H = 8, got shape (2, 4, 12)"),
    "h0_shape": (dict(h0=jnp.zeros((B + 1, H))), ValueError,
                 "h0 must be of shape (2, 8), got shape (3, 8)"),
    "c0_dtype": (dict(c0=np.zeros((B, H), np.float64)), TypeError,
                 "c0 must be of dtype float32, got dtype float64"),
    "h0_bf16": (dict(h0=jnp.zeros((B, H), jnp.bfloat16)), TypeError,
                "h0 must be of dtype float32, got dtype bfloat16"),
    "lengths_float": (dict(seq_lengths=jnp.ones((B,))), TypeError,
                      "seq_lengths must be an integer array, got dtype float32"),
    "lengths_shape": (dict(seq_lengths=jnp.ones((B, 1), jnp.int32)), ValueError,
                      "seq_lengths must be of shape (2,), got shape (2, 1)"),
    "lengths_zero": (dict(seq_lengths=jnp.asarray([0, 3])), ValueError,
                     "seq_lengths must be in [1, 5], got values in [0, 3]"),
    "lengths_above_T": (dict(seq_lengths=jnp.asarray([6, 3])), ValueError,
                        "seq_lengths must be in [1, 5], got values in [3, 6]"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_inputs_raise_naming_argument(case):
    overrides, exc, message = BAD_INPUTS[case]
    with pytest.raises(exc, match=re.escape(message)):
        kernels.lstm_recurrence(**_args(**overrides), impl="triton_interpret")


def test_unknown_impl():
    with pytest.raises(ValueError, match=re.escape("impl must be one of ('triton', ")):
        kernels.lstm_recurrence(**_args(), impl="cuda")


@pytest.mark.parametrize("impl", ["triton", "triton_interpret"])
def test_whole_sequence_kernel_rejects_head_size_above_64(impl):
    args = _args(gates_x=jnp.zeros((B, T, 4 * 80)), w_h=jnp.zeros((1, 80, 320)),
                 h0=jnp.zeros((B, 80)), c0=jnp.zeros((B, 80)))
    message = ("w_h must be of head size (axis 1) <= 64 for the whole-sequence kernel "
               f"(impl={impl!r}; use impl='triton_cell' or more heads), got head size 80")
    with pytest.raises(ValueError, match=re.escape(message)):
        kernels.lstm_recurrence(**args, impl=impl)


@pytest.mark.skipif(kernels.gpu_available(), reason="a GPU with jax-triton is present")
@pytest.mark.parametrize("impl", ["triton", "triton_cell"])
def test_gpu_impls_say_what_is_missing(impl):
    with pytest.raises(RuntimeError, match=r"needs a CUDA GPU and jax-triton.*triton_interpret"):
        kernels.lstm_recurrence(**_args(), impl=impl)
