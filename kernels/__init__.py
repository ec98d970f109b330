"""Fused Triton LSTM kernels behind an array-level JAX API (docs/CONTRACTS.md).

    lstm_recurrence(gates_x, w_h, h0, c0, seq_lengths=None, *, impl="triton")
    check_arrays(gates_x, w_h, h0, c0, impl)  # raises unless impl's kernel takes these shapes

``impl``: "triton" (whole-sequence kernel, GPU), "triton_cell" (one fused cell launch per step,
GPU), "triton_interpret" / "triton_cell_interpret" (the same kernels under Triton's CPU
interpreter). Triton and jax-triton are imported only when a kernel runs.
"""

from .jax_binding import IMPLS, MAX_HEAD_SIZE, check_arrays, gpu_available, lstm_recurrence

__all__ = ["IMPLS", "MAX_HEAD_SIZE", "check_arrays", "gpu_available", "lstm_recurrence"]
