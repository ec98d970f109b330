"""Whole-sequence LSTM: the time loop runs inside the kernel, one launch per layer and direction.

Program (pid_b, head) owns BLOCK_B batch rows of one head. It loads that head's recurrent matrix
W_h[head] (4 blocks of D x D, D <= 64) once and keeps it on chip for all T steps; h and c live in
float32 registers. Heads are independent (block-diagonal W_h), so no program waits on another and
Triton's missing grid-wide barrier does not matter. Dense recurrence is the case NH = 1, D = H.

Saved for the backward kernel: activations acts [B, T, 4H] (f32, laid out like gates_x) and
cells cs [B, T+1, H] (f32; cs[:, 0] = c0, cs[:, t+1] = carry after step t). The backward kernel
returns d pre for all steps; dW_h = sum_t h_{t-1}^T d pre_t is one matmul afterwards (in JAX).
"""

import triton
import triton.language as tl

from .lstm_math import load4, lstm_step_bwd, lstm_step_fwd, mm, store4


@triton.jit
def _tile(w_ptr, B, T: tl.constexpr, NH: tl.constexpr, D: tl.constexpr,
          BLOCK_B: tl.constexpr, BLOCK_D: tl.constexpr, TRANSPOSE_W: tl.constexpr):
    """This program's (batch tile, head): masks, offsets into [B,H] carries, [B,T,H] outputs,
    [B,T,4H] gates and [B,T+1,H] cells, and W_h[head] (transposed for the backward) on chip.

    Padded rows/columns of W_h load as 0, so padded units of h stay exactly 0.
    """
    H = NH * D
    rows = tl.program_id(0) * BLOCK_B + tl.arange(0, BLOCK_B)
    head = tl.program_id(1)
    cols = tl.arange(0, BLOCK_D)
    row_ok = rows < B
    col_ok = cols < D
    mask = row_ok[:, None] & col_ok[None, :]
    if TRANSPOSE_W:  # element [m, j] = W_h[head, j, gate * D + m]
        w_offs = head * D * 4 * D + cols[None, :] * (4 * D) + cols[:, None]
    else:
        w_offs = head * D * 4 * D + cols[:, None] * (4 * D) + cols[None, :]
    w_i, w_f, w_g, w_o = load4(w_ptr, w_offs, D, col_ok[:, None] & col_ok[None, :])
    rows64 = rows.to(tl.int64)
    carry = rows[:, None] * H + head * D + cols[None, :]
    unit = rows64[:, None] * (T * H) + head * D + cols[None, :]
    gate = rows64[:, None] * (T * 4 * H) + head * D + cols[None, :]
    cell = rows64[:, None] * ((T + 1) * H) + head * D + cols[None, :]
    return rows, row_ok, mask, w_i, w_f, w_g, w_o, carry, unit, gate, cell


@triton.jit
def lstm_sequence_fwd_kernel(
    gx_ptr, w_ptr, h0_ptr, c0_ptr, len_ptr,  # inputs
    hs_ptr, h_last_ptr, c_last_ptr, acts_ptr, cs_ptr,  # outputs
    B: tl.constexpr, T: tl.constexpr, NH: tl.constexpr, D: tl.constexpr,
    BLOCK_B: tl.constexpr, BLOCK_D: tl.constexpr, UPCAST_DOT: tl.constexpr,
):
    """for t < T: pre = gx[:, t] + h W_h[head]; (h, c) = LSTM step; hs[:, t] = h (0 past length)."""
    H = NH * D
    rows, row_ok, mask, w_i, w_f, w_g, w_o, carry, unit, gate, cell = _tile(
        w_ptr, B, T, NH, D, BLOCK_B, BLOCK_D, False)
    wd = w_ptr.dtype.element_ty
    h = tl.load(h0_ptr + carry, mask=mask, other=0.0)
    c = tl.load(c0_ptr + carry, mask=mask, other=0.0)
    length = tl.load(len_ptr + rows, mask=row_ok, other=0)
    tl.store(cs_ptr + cell, c, mask=mask)
    for t in range(T):
        gx_i, gx_f, gx_g, gx_o = load4(gx_ptr, gate + t * 4 * H, H, mask)
        hw = h.to(wd)
        i, f, g, o, h, c, y = lstm_step_fwd(
            gx_i + mm(hw, w_i, UPCAST_DOT), gx_f + mm(hw, w_f, UPCAST_DOT),
            gx_g + mm(hw, w_g, UPCAST_DOT), gx_o + mm(hw, w_o, UPCAST_DOT),
            h, c, (t < length)[:, None])
        tl.store(hs_ptr + unit + t * H, y.to(hs_ptr.dtype.element_ty), mask=mask)
        store4(acts_ptr, gate + t * 4 * H, H, i, f, g, o, mask)
        tl.store(cs_ptr + cell + (t + 1) * H, c, mask=mask)
    tl.store(h_last_ptr + carry, h, mask=mask)
    tl.store(c_last_ptr + carry, c, mask=mask)


@triton.jit
def lstm_sequence_bwd_kernel(
    dhs_ptr, dh_last_ptr, dc_last_ptr, acts_ptr, cs_ptr, w_ptr, len_ptr,  # inputs
    dgates_ptr, dh0_ptr, dc0_ptr,  # outputs: d pre [B, T, 4H] (dtype of W), dh0, dc0 (f32)
    B: tl.constexpr, T: tl.constexpr, NH: tl.constexpr, D: tl.constexpr,
    BLOCK_B: tl.constexpr, BLOCK_D: tl.constexpr, UPCAST_DOT: tl.constexpr,
):
    """for t = T-1..0: d pre_t from (dh, dc) and the saved step; dh = d pre_t W_h[head]^T."""
    H = NH * D
    rows, row_ok, mask, w_i, w_f, w_g, w_o, carry, unit, gate, cell = _tile(
        w_ptr, B, T, NH, D, BLOCK_B, BLOCK_D, True)
    wd = w_ptr.dtype.element_ty
    dh = tl.load(dh_last_ptr + carry, mask=mask, other=0.0)
    dc = tl.load(dc_last_ptr + carry, mask=mask, other=0.0)
    length = tl.load(len_ptr + rows, mask=row_ok, other=0)
    c = tl.load(cs_ptr + cell + T * H, mask=mask, other=0.0)
    for s in range(T):
        t = T - 1 - s
        c_prev = tl.load(cs_ptr + cell + t * H, mask=mask, other=0.0)
        i, f, g, o = load4(acts_ptr, gate + t * 4 * H, H, mask)
        dy = tl.load(dhs_ptr + unit + t * H, mask=mask, other=0.0).to(tl.float32)
        valid = (t < length)[:, None]
        d_i, d_f, d_g, d_o, dc = lstm_step_bwd(i, f, g, o, c, c_prev, dh + dy, dc, valid)
        store4(dgates_ptr, gate + t * 4 * H, H, d_i, d_f, d_g, d_o, mask)
        dh_prev = (mm(d_i.to(wd), w_i, UPCAST_DOT) + mm(d_f.to(wd), w_f, UPCAST_DOT)
                   + mm(d_g.to(wd), w_g, UPCAST_DOT) + mm(d_o.to(wd), w_o, UPCAST_DOT))
        dh = tl.where(valid, dh_prev, dh)
        c = c_prev
    tl.store(dh0_ptr + carry, dh, mask=mask)
    tl.store(dc0_ptr + carry, dc, mask=mask)
