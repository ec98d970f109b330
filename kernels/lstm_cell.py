"""Fused LSTM cell: one launch per time step forward, one per step backward.

Arrays are one step's slices (the caller scans over time): gx [B, 4H] = x_t W_x + b, W_h
[NH, D, 4D] block-diagonal over heads, carries [B, H] float32, valid [B] int32 (t < length).
Program (pid_b, head, pid_d) owns rows pid_b*BLOCK_B.. and units pid_d*BLOCK_D.. of one head and
loops over that head's D inputs in BLOCK_D chunks, so any head size works (dense = NH 1, D = H).
"""

import triton
import triton.language as tl

from .lstm_math import load4, lstm_step_bwd, lstm_step_fwd, mm, store4


@triton.jit
def lstm_cell_fwd_kernel(
    gx_ptr, w_ptr, h_prev_ptr, c_prev_ptr, valid_ptr,  # inputs
    h_ptr, c_ptr, y_ptr, acts_ptr,  # outputs: carry (f32), output y (dtype of gx), i f g o (f32)
    B: tl.constexpr, NH: tl.constexpr, D: tl.constexpr,
    BLOCK_B: tl.constexpr, BLOCK_D: tl.constexpr, UPCAST_DOT: tl.constexpr,
):
    """pre = gx + h_{t-1} W_h[head] for a [BLOCK_B, BLOCK_D] tile of each gate, then the step."""
    H = NH * D
    rows = tl.program_id(0) * BLOCK_B + tl.arange(0, BLOCK_B)
    head = tl.program_id(1)
    cols = tl.program_id(2) * BLOCK_D + tl.arange(0, BLOCK_D)
    row_ok = rows < B
    col_ok = cols < D
    acc_i = tl.full((BLOCK_B, BLOCK_D), 0.0, tl.float32)
    acc_f = tl.full((BLOCK_B, BLOCK_D), 0.0, tl.float32)
    acc_g = tl.full((BLOCK_B, BLOCK_D), 0.0, tl.float32)
    acc_o = tl.full((BLOCK_B, BLOCK_D), 0.0, tl.float32)
    for k0 in range(0, D, BLOCK_D):
        ks = k0 + tl.arange(0, BLOCK_D)
        k_ok = ks < D
        h = tl.load(h_prev_ptr + rows[:, None] * H + head * D + ks[None, :],
                    mask=row_ok[:, None] & k_ok[None, :], other=0.0).to(w_ptr.dtype.element_ty)
        w_i, w_f, w_g, w_o = load4(w_ptr, head * D * 4 * D + ks[:, None] * (4 * D) + cols[None, :],
                                   D, k_ok[:, None] & col_ok[None, :])
        acc_i += mm(h, w_i, UPCAST_DOT)
        acc_f += mm(h, w_f, UPCAST_DOT)
        acc_g += mm(h, w_g, UPCAST_DOT)
        acc_o += mm(h, w_o, UPCAST_DOT)
    mask = row_ok[:, None] & col_ok[None, :]
    unit = rows[:, None] * H + head * D + cols[None, :]
    gate = rows[:, None] * (4 * H) + head * D + cols[None, :]
    gx_i, gx_f, gx_g, gx_o = load4(gx_ptr, gate, H, mask)
    valid = (tl.load(valid_ptr + rows, mask=row_ok, other=0) != 0)[:, None]
    h_prev = tl.load(h_prev_ptr + unit, mask=mask, other=0.0)
    c_prev = tl.load(c_prev_ptr + unit, mask=mask, other=0.0)
    i, f, g, o, h, c, y = lstm_step_fwd(gx_i + acc_i, gx_f + acc_f, gx_g + acc_g, gx_o + acc_o,
                                        h_prev, c_prev, valid)
    tl.store(h_ptr + unit, h, mask=mask)
    tl.store(c_ptr + unit, c, mask=mask)
    tl.store(y_ptr + unit, y.to(y_ptr.dtype.element_ty), mask=mask)
    store4(acts_ptr, gate, H, i, f, g, o, mask)


@triton.jit
def _gate_grads(rows, cols, head, dy_ptr, dh_ptr, dc_ptr, acts_ptr, c_ptr, c_prev_ptr, valid_ptr,
                B: tl.constexpr, NH: tl.constexpr, D: tl.constexpr):
    """Pre-activation gradients and dc_{t-1} of a [rows, cols] tile of one head, from the saved
    activations and cells; also returns the tile's carry/gate offsets and mask."""
    H = NH * D
    row_ok = rows < B
    mask = row_ok[:, None] & (cols < D)[None, :]
    unit = rows[:, None] * H + head * D + cols[None, :]
    gate = rows[:, None] * (4 * H) + head * D + cols[None, :]
    i, f, g, o = load4(acts_ptr, gate, H, mask)
    c = tl.load(c_ptr + unit, mask=mask, other=0.0)
    c_prev = tl.load(c_prev_ptr + unit, mask=mask, other=0.0)
    dh = tl.load(dh_ptr + unit, mask=mask, other=0.0)
    dh += tl.load(dy_ptr + unit, mask=mask, other=0.0).to(tl.float32)
    dc = tl.load(dc_ptr + unit, mask=mask, other=0.0)
    valid = (tl.load(valid_ptr + rows, mask=row_ok, other=0) != 0)[:, None]
    d_i, d_f, d_g, d_o, dc_prev = lstm_step_bwd(i, f, g, o, c, c_prev, dh, dc, valid)
    return d_i, d_f, d_g, d_o, dc_prev, unit, gate, mask


@triton.jit
def lstm_cell_bwd_kernel(
    dy_ptr, dh_ptr, dc_ptr, acts_ptr, c_ptr, c_prev_ptr, valid_ptr, w_ptr,  # inputs
    dgates_ptr, dh_prev_ptr, dc_prev_ptr,  # outputs: d pre (dtype of W), dh_{t-1}, dc_{t-1} (f32)
    B: tl.constexpr, NH: tl.constexpr, D: tl.constexpr,
    BLOCK_B: tl.constexpr, BLOCK_D: tl.constexpr, UPCAST_DOT: tl.constexpr,
):
    """dh_{t-1}[tile] = sum over the head's 4D gate columns m of d pre[:, m] W_h[head, tile, m].

    The gate gradients of each column chunk are recomputed pointwise by every program that needs
    them (cheap next to the matmul); the program whose own unit tile is the chunk stores them.
    """
    H = NH * D
    rows = tl.program_id(0) * BLOCK_B + tl.arange(0, BLOCK_B)
    head = tl.program_id(1)
    col0 = tl.program_id(2) * BLOCK_D
    cols = col0 + tl.arange(0, BLOCK_D)
    col_ok = cols < D
    acc = tl.full((BLOCK_B, BLOCK_D), 0.0, tl.float32)
    wd = w_ptr.dtype.element_ty
    for m0 in range(0, D, BLOCK_D):
        ms = m0 + tl.arange(0, BLOCK_D)
        d_i, d_f, d_g, d_o, dc_prev, unit, gate, mask = _gate_grads(
            rows, ms, head, dy_ptr, dh_ptr, dc_ptr, acts_ptr, c_ptr, c_prev_ptr, valid_ptr,
            B, NH, D)
        own = mask & (ms == cols)[None, :]  # this program's own unit tile (m0 == col0)
        store4(dgates_ptr, gate, H, d_i, d_f, d_g, d_o, own)
        tl.store(dc_prev_ptr + unit, dc_prev, mask=own)
        # W_h^T chunk: element [m, j] = W_h[head, j, gate * D + m]
        w_i, w_f, w_g, w_o = load4(w_ptr, head * D * 4 * D + cols[None, :] * (4 * D) + ms[:, None],
                                   D, (ms < D)[:, None] & col_ok[None, :])
        acc += mm(d_i.to(wd), w_i, UPCAST_DOT)
        acc += mm(d_f.to(wd), w_f, UPCAST_DOT)
        acc += mm(d_g.to(wd), w_g, UPCAST_DOT)
        acc += mm(d_o.to(wd), w_o, UPCAST_DOT)
    row_ok = rows < B
    mask = row_ok[:, None] & col_ok[None, :]
    unit = rows[:, None] * H + head * D + cols[None, :]
    valid = (tl.load(valid_ptr + rows, mask=row_ok, other=0) != 0)[:, None]
    dh = tl.load(dh_ptr + unit, mask=mask, other=0.0)
    tl.store(dh_prev_ptr + unit, tl.where(valid, acc, dh), mask=mask)
