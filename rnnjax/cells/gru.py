"""Gated recurrent unit (Cho et al. 2014) in both conventions.

Gate order (r, z, n); w_x [I, 3H], w_h [H, 3H], b [3H]:

    r = sigmoid(x W_xr + h W_hr + b_r),  z = sigmoid(x W_xz + h W_hz + b_z)
    reset_after=True  (cuDNN / PyTorch):  n = tanh(x W_xn + b_n + r * (h W_hn + b_hn))
    reset_after=False (Cho et al. 2014):  n = tanh(x W_xn + b_n + (r * h) W_hn)
    h_t = (1 - z) * n + z * h_{t-1}

``b_hn`` [H] exists only with reset_after=True (it sits inside r * (.)); the other recurrent biases
are folded into b.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from rnnjax import initializers as inits
from rnnjax.cells.base import Array, RecurrentCell
from rnnjax.recurrence import Blocks


class GRUMath:
    """The reset-after GRU on gate blocks (r, z, n) with r_t = h W_h + [0, 0, b_hn]:

        forward:  reset = sigmoid(x_r + r_r), update = sigmoid(x_z + r_z),
                  n = tanh(x_n + reset * r_n),  h_t = (1 - update) * n + update * h_{t-1}
        backward: dn = dh (1 - update)(1 - n^2),  d update = dh (h_{t-1} - n) update (1 - update),
                  d reset = dn r_n reset (1 - reset);  d r_n = dn * reset,  dh_{t-1} = dh update
    """

    num_gates = 3

    def forward(self, x: Blocks, r: Blocks, carry: Blocks) -> tuple[Blocks, Blocks]:
        (h,) = carry
        reset = jax.nn.sigmoid(x[0] + r[0])
        update = jax.nn.sigmoid(x[1] + r[1])
        new = jnp.tanh(x[2] + reset * r[2])
        return (new + update * (h - new),), (reset, update, new, r[2])

    def backward(self, saved: Blocks, carry: Blocks, d_carry: Blocks):
        reset, update, new, r_n = saved
        (h,), (d_h,) = carry, d_carry
        d_new = d_h * (1.0 - update) * (1.0 - new * new)
        d_update = d_h * (h - new) * update * (1.0 - update)
        d_reset = d_new * r_n * reset * (1.0 - reset)
        return (d_reset, d_update, d_new), (d_reset, d_update, d_new * reset), (d_h * update,)


GRU_MATH = GRUMath()


class GRUCell(RecurrentCell):
    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        rngs: nnx.Rngs,
        reset_after: bool = True,
        kernel_init: inits.Initializer | None = None,
        recurrent_init: inits.Initializer | None = None,
        bias_init: inits.Initializer | None = None,
    ):
        self.reset_after = bool(reset_after)
        self._init_gate_params(
            input_size, hidden_size, 3, rngs=rngs, kernel_init=kernel_init,
            recurrent_init=recurrent_init, bias_init=bias_init,
        )
        if self.reset_after:
            self.b_hn = nnx.Param(jnp.zeros((hidden_size,)))
            self.math = GRU_MATH

    def recurrent_params(self) -> dict[str, Array]:
        params = {"w_h": self.w_h[...]}
        if self.reset_after:
            params["b_hn"] = self.b_hn[...]
        return params

    def recurrent_weights(self, params: dict[str, Array]) -> tuple[Array, Array | None]:
        """W_h [1, H, 3H] and b_h = [0, 0, b_hn] (reset_after only)."""
        zeros = jnp.zeros((2 * self.hidden_size,), params["b_hn"].dtype)
        return params["w_h"][None], jnp.concatenate([zeros, params["b_hn"]])

    def step(self, params: dict[str, Array], carry: Array, x_proj: Array) -> Array:
        if self.reset_after:
            return super().step(params, carry, x_proj)
        h = carry
        hidden = self.hidden_size
        xr, xz, xn = jnp.split(x_proj, 3, axis=-1)
        w_h = params["w_h"]
        hr, hz = jnp.split(h @ w_h[:, : 2 * hidden], 2, axis=-1)
        r, z = jax.nn.sigmoid(xr + hr), jax.nn.sigmoid(xz + hz)
        n = jnp.tanh(xn + (r * h) @ w_h[:, 2 * hidden :])
        return (1.0 - z) * n + z * h
