"""Triton device functions shared by the cell-per-step and the whole-sequence LSTM kernels.

One LSTM step (gate-major i, f, g, o; forget gate of Gers et al. 2000):

    i, f, o = sigmoid(pre_i, pre_f, pre_o),  g = tanh(pre_g)
    c_t = f * c_{t-1} + i * g,               h_t = o * tanh(c_t)

and its backward, given dh_t (upstream + carried) and the carried dc_t:

    dc  = dc_t + dh_t * o * (1 - tanh(c_t)^2)
    d pre_i = dc * g * i (1 - i),   d pre_f = dc * c_{t-1} * f (1 - f)
    d pre_g = dc * i * (1 - g^2),   d pre_o = dh_t * tanh(c_t) * o (1 - o)
    dc_{t-1} = dc * f

Steps past a sequence's length (``valid`` false) freeze the carry and output 0, so there the
gate gradients are 0 and (dh, dc) pass through unchanged.
"""

import triton
import triton.language as tl

# Below this |x|, tanh uses its Taylor series: (1 - e) / (1 + e) loses relative precision to
# cancellation as x -> 0; at |x| = 0.125 the series' truncation error is ~1e-9 relative.
TANH_SERIES_BELOW = tl.constexpr(0.125)


@triton.jit
def tanh(x):
    """tanh from exp(-2|x|) in (0, 1]: finite for any finite x, exact sign, no overflow."""
    ax = tl.abs(x)
    e = tl.exp(-2.0 * ax)
    big = (1.0 - e) / (1.0 + e)
    x2 = ax * ax
    small = ax * (1.0 + x2 * (-1.0 / 3.0 + x2 * (2.0 / 15.0 + x2 * (-17.0 / 315.0))))
    t = tl.where(ax < TANH_SERIES_BELOW, small, big)
    return tl.where(x < 0, -t, t)


@triton.jit
def sigmoid(x):
    """sigmoid from exp(-|x|) in (0, 1]: 1/(1+e) for x >= 0, e/(1+e) below (no cancellation)."""
    e = tl.exp(-tl.abs(x))
    r = 1.0 / (1.0 + e)
    return tl.where(x >= 0, r, e * r)


@triton.jit
def mm(a, b, UPCAST_DOT: tl.constexpr):
    """a @ b with float32 accumulation ("ieee": no TF32 for float32 operands).

    UPCAST_DOT turns bfloat16 operands into float32 first. Every product of two bfloat16 numbers
    is exact in float32, so this is the same math; the CPU interpreter needs it because its dot
    multiplies the raw bits of bfloat16 operands.
    """
    if UPCAST_DOT:
        a = a.to(tl.float32)
        b = b.to(tl.float32)
    return tl.dot(a, b, input_precision="ieee")


@triton.jit
def load4(ptr, offs, gate_stride, mask):
    """The four gate blocks ptr[offs + k * gate_stride], k = 0..3 (i, f, g, o); 0 where masked."""
    a = tl.load(ptr + offs, mask=mask, other=0.0)
    b = tl.load(ptr + offs + gate_stride, mask=mask, other=0.0)
    c = tl.load(ptr + offs + 2 * gate_stride, mask=mask, other=0.0)
    d = tl.load(ptr + offs + 3 * gate_stride, mask=mask, other=0.0)
    return a, b, c, d


@triton.jit
def store4(ptr, offs, gate_stride, a, b, c, d, mask):
    """Store four gate blocks at ptr[offs + k * gate_stride], cast to the buffer's dtype."""
    dtype = ptr.dtype.element_ty
    tl.store(ptr + offs, a.to(dtype), mask=mask)
    tl.store(ptr + offs + gate_stride, b.to(dtype), mask=mask)
    tl.store(ptr + offs + 2 * gate_stride, c.to(dtype), mask=mask)
    tl.store(ptr + offs + 3 * gate_stride, d.to(dtype), mask=mask)


@triton.jit
def lstm_step_fwd(pre_i, pre_f, pre_g, pre_o, h_prev, c_prev, valid):
    """Activations (i, f, g, o), new carry (h, c) and output y (0 where not valid)."""
    i = sigmoid(pre_i)
    f = sigmoid(pre_f)
    g = tanh(pre_g)
    o = sigmoid(pre_o)
    c_new = f * c_prev + i * g
    h_new = o * tanh(c_new)
    h = tl.where(valid, h_new, h_prev)
    c = tl.where(valid, c_new, c_prev)
    y = tl.where(valid, h_new, 0.0)
    return i, f, g, o, h, c, y


@triton.jit
def lstm_step_bwd(i, f, g, o, c, c_prev, dh, dc, valid):
    """Pre-activation gradients (0 where not valid) and dc_{t-1} (dc passes where not valid).

    ``dh`` is the total gradient of h_t (upstream output gradient plus the carried dh); the
    caller forms dh_{t-1} = d pre_t W_h^T where valid and keeps the carried dh elsewhere.
    """
    tc = tanh(c)
    dc_t = dc + dh * o * (1.0 - tc * tc)
    d_i = tl.where(valid, dc_t * g * i * (1.0 - i), 0.0)
    d_f = tl.where(valid, dc_t * c_prev * f * (1.0 - f), 0.0)
    d_g = tl.where(valid, dc_t * i * (1.0 - g * g), 0.0)
    d_o = tl.where(valid, dh * tc * o * (1.0 - o), 0.0)
    dc_prev = tl.where(valid, dc_t * f, dc)
    return d_i, d_f, d_g, d_o, dc_prev
