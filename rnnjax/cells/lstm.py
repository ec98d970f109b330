"""The LSTM family. Carry (h, c); gate blocks gate-major in w_x / w_h / b.

LSTMCell (Hochreiter & Schmidhuber 1997; forget gate of Gers et al. 2000), gates (i, f, g, o):
    [i, f, g, o] = [sigmoid, sigmoid, tanh, sigmoid](x_t W_x + h_{t-1} W_h + b)
    c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t)
W_h may be block-diagonal over ``num_heads`` heads (stored [K, D, 4D]; dense = one head).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from rnnjax import initializers as inits
from rnnjax.cells.base import Array, RecurrentCell
from rnnjax.lstm_xla import LSTM_MATH, lstm_gates
from rnnjax.validation import check_positive_int, fail

LSTMCarry = tuple[Array, Array]


class _LSTMFamily(RecurrentCell):
    """Shared carry handling: (h, c), output h."""

    def initial_carry(self, batch_size: int, dtype: Any = jnp.float32) -> LSTMCarry:
        zeros = jnp.zeros((batch_size, self.hidden_size), dtype)
        return zeros, zeros

    def output(self, carry: LSTMCarry) -> Array:
        return carry[0]


def _init_kwargs(kernel_init, recurrent_init, bias_init, forget_bias):
    return {"kernel_init": kernel_init, "recurrent_init": recurrent_init,
            "bias_init": bias_init, "forget_bias": forget_bias}


class LSTMCell(_LSTMFamily):
    """The standard LSTM; ``forget_bias`` is added to b_f at init (Jozefowicz et al. 2015).

    Layout: w_x [I, 4H], w_h [K, D, 4D] (K = num_heads, D = H / K), b [4H], gate order (i, f, g, o),
    the order of PyTorch and cuDNN. The fused implementations (``impl="xla"``/``"triton"``) run
    exactly this cell.
    """

    math = LSTM_MATH

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        rngs: nnx.Rngs,
        num_heads: int = 1,
        forget_bias: float = 1.0,
        kernel_init: inits.Initializer | None = None,
        recurrent_init: inits.Initializer | None = None,
        bias_init: inits.Initializer | None = None,
    ):
        num_heads = check_positive_int("LSTMCell", "num_heads", num_heads)
        if hidden_size % num_heads:
            fail("LSTMCell", "hidden_size", f"a multiple of num_heads={num_heads}", hidden_size)
        self.num_heads = num_heads
        head = hidden_size // num_heads
        self._init_gate_params(
            input_size, hidden_size, 4, rngs=rngs, forget_gate=1,
            recurrent_shape=(num_heads, head, 4 * head),
            **_init_kwargs(kernel_init, recurrent_init, bias_init, forget_bias),
        )


class PeepholeLSTMCell(_LSTMFamily):
    """Peephole LSTM (Gers & Schmidhuber 2000): the gates also see the cell state.

        i = sigmoid(. + p_i * c_{t-1}),  f = sigmoid(. + p_f * c_{t-1}),  o = sigmoid(. + p_o * c_t)

    Extra parameters: diagonal peepholes p_i, p_f, p_o [H].
    """

    def __init__(self, input_size: int, hidden_size: int, *, rngs: nnx.Rngs,
                 forget_bias: float = 1.0, kernel_init=None, recurrent_init=None, bias_init=None):
        self._init_gate_params(input_size, hidden_size, 4, rngs=rngs, forget_gate=1,
                               **_init_kwargs(kernel_init, recurrent_init, bias_init, forget_bias))
        self.peepholes = nnx.Param(jnp.zeros((3, hidden_size)))

    def recurrent_params(self) -> dict[str, Array]:
        return {"w_h": self.w_h[...], "peepholes": self.peepholes[...]}

    def step(self, params: dict[str, Array], carry: LSTMCarry, x_proj: Array) -> LSTMCarry:
        h, c = carry
        p_i, p_f, p_o = params["peepholes"]
        a_i, a_f, a_g, a_o = jnp.split(x_proj + h @ params["w_h"], 4, axis=-1)
        i, f = jax.nn.sigmoid(a_i + p_i * c), jax.nn.sigmoid(a_f + p_f * c)
        c_new = f * c + i * jnp.tanh(a_g)
        o = jax.nn.sigmoid(a_o + p_o * c_new)
        return o * jnp.tanh(c_new), c_new


class CoupledLSTMCell(_LSTMFamily):
    """Coupled input-forget gate LSTM ("CIFG", Greff et al. 2017): i_t = 1 - f_t.

    Three gate blocks (f, g, o): w_x [I, 3H], w_h [H, 3H], b [3H].
    """

    def __init__(self, input_size: int, hidden_size: int, *, rngs: nnx.Rngs,
                 forget_bias: float = 1.0, kernel_init=None, recurrent_init=None, bias_init=None):
        self._init_gate_params(input_size, hidden_size, 3, rngs=rngs, forget_gate=0,
                               **_init_kwargs(kernel_init, recurrent_init, bias_init, forget_bias))

    def step(self, params: dict[str, Array], carry: LSTMCarry, x_proj: Array) -> LSTMCarry:
        h, c = carry
        a_f, a_g, a_o = jnp.split(x_proj + h @ params["w_h"], 3, axis=-1)
        f = jax.nn.sigmoid(a_f)
        c_new = f * c + (1.0 - f) * jnp.tanh(a_g)
        return jax.nn.sigmoid(a_o) * jnp.tanh(c_new), c_new


class DepthGatedLSTMCell(_LSTMFamily):
    """Depth-gated LSTM (Yao et al. 2015): a gate on the lower layer's memory cell.

        d_t = sigmoid(x_t W_xd + w_cd * c_{t-1} + w_ld * c^lower_t + b_d)
        c_t = f * c_{t-1} + i * g + d_t * c^lower_t

    The input at each step is [x_t ; c^lower_t] (``input_size + lower_size`` features) and the
    output is [h_t ; c_t] (2H), so stacked depth-gated layers pass their memory cells upward.
    With ``lower_size=0`` (the bottom layer) there is no depth gate. Gate blocks (i, f, g, o, d)
    in w_x [I, 5H] and b [5H]; w_h [H, 4H] (the depth gate has no h_{t-1} term).
    """

    def __init__(self, input_size: int, hidden_size: int, *, rngs: nnx.Rngs, lower_size: int = 0,
                 forget_bias: float = 1.0, kernel_init=None, recurrent_init=None, bias_init=None):
        if lower_size not in (0, hidden_size):
            fail("DepthGatedLSTMCell", "lower_size", f"0 or hidden_size={hidden_size}", lower_size)
        self.lower_size = lower_size
        self._init_gate_params(input_size, hidden_size, 5, rngs=rngs, forget_gate=1,
                               recurrent_shape=(hidden_size, 4 * hidden_size),
                               **_init_kwargs(kernel_init, recurrent_init, bias_init, forget_bias))
        self.w_cd = nnx.Param(jnp.zeros((2, hidden_size)))  # w_cd, w_ld
        self.input_size = input_size + lower_size

    @property
    def output_size(self) -> int:
        return 2 * self.hidden_size

    def output(self, carry: LSTMCarry) -> Array:
        return jnp.concatenate(carry, axis=-1)

    def project_inputs(self, x: Array) -> Array:
        """[x ; c_lower] -> [x W_x + b ; c_lower]: the lower memory passes through unprojected."""
        inputs, lower = jnp.split(x, [self.input_size - self.lower_size], axis=-1)
        return jnp.concatenate([self.input_product(inputs) + self.b[...], lower], axis=-1)

    def recurrent_params(self) -> dict[str, Array]:
        return {"w_h": self.w_h[...], "w_cd": self.w_cd[...]}

    def step(self, params: dict[str, Array], carry: LSTMCarry, x_proj: Array) -> LSTMCarry:
        h, c = carry
        hidden = self.hidden_size
        gates_x, a_d, lower = jnp.split(x_proj, [4 * hidden, 5 * hidden], axis=-1)
        i, f, g, o = lstm_gates(gates_x + h @ params["w_h"])
        c_new = f * c + i * g
        if self.lower_size:
            w_cd, w_ld = params["w_cd"]
            c_new = c_new + jax.nn.sigmoid(a_d + w_cd * c + w_ld * lower) * lower
        return o * jnp.tanh(c_new), c_new


def layer_norm(x: Array, scale: Array, bias: Array, eps: float = 1e-5) -> Array:
    """(x - mean) / sqrt(var + eps) * scale + bias over the last axis (Ba et al. 2016)."""
    mean = x.mean(-1, keepdims=True)
    var = jnp.square(x - mean).mean(-1, keepdims=True)
    return (x - mean) * jax.lax.rsqrt(var + eps) * scale + bias


class LayerNormLSTMCell(_LSTMFamily):
    """Layer-normalised LSTM (Ba, Kiros & Hinton 2016, eqs. 20-22):

        pre = LN(x_t W_x) + LN(h_{t-1} W_h) + b,   c_t = f*c_{t-1} + i*g,   h_t = o * tanh(LN(c_t))

    LN(x_t W_x) does not recur, so it is hoisted with the input projection.
    Extra parameters: ``ln_scale`` [3, 4H] and ``ln_bias`` [3, 4H] (rows: x, h, c; c uses the
    first H columns).
    """

    def __init__(self, input_size: int, hidden_size: int, *, rngs: nnx.Rngs,
                 forget_bias: float = 1.0, kernel_init=None, recurrent_init=None, bias_init=None):
        self._init_gate_params(input_size, hidden_size, 4, rngs=rngs, forget_gate=1,
                               **_init_kwargs(kernel_init, recurrent_init, bias_init, forget_bias))
        self.ln_scale = nnx.Param(jnp.ones((3, 4 * hidden_size)))
        self.ln_bias = nnx.Param(jnp.zeros((3, 4 * hidden_size)))

    def project_inputs(self, x: Array) -> Array:
        scale, bias = self.ln_scale[0], self.ln_bias[0]
        return layer_norm(self.input_product(x), scale, bias) + self.b[...]

    def recurrent_params(self) -> dict[str, Array]:
        return {"w_h": self.w_h[...], "ln_scale": self.ln_scale[1:], "ln_bias": self.ln_bias[1:]}

    def step(self, params: dict[str, Array], carry: LSTMCarry, x_proj: Array) -> LSTMCarry:
        h, c = carry
        hidden = self.hidden_size
        (scale_h, scale_c), (bias_h, bias_c) = params["ln_scale"], params["ln_bias"]
        i, f, g, o = lstm_gates(x_proj + layer_norm(h @ params["w_h"], scale_h, bias_h))
        c_new = f * c + i * g
        return o * jnp.tanh(layer_norm(c_new, scale_c[:hidden], bias_c[:hidden])), c_new
