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

    def recurrent_params(self) -> dict[str, Array]:
        params = {"w_h": self.w_h[...]}
        if self.reset_after:
            params["b_hn"] = self.b_hn[...]
        return params

    def step(self, params: dict[str, Array], carry: Array, x_proj: Array) -> Array:
        h = carry
        hidden = self.hidden_size
        xr, xz, xn = jnp.split(x_proj, 3, axis=-1)
        w_h = params["w_h"]
        if self.reset_after:
            hr, hz, hn = jnp.split(h @ w_h, 3, axis=-1)
            r, z = jax.nn.sigmoid(xr + hr), jax.nn.sigmoid(xz + hz)
            n = jnp.tanh(xn + r * (hn + params["b_hn"]))
        else:
            hr, hz = jnp.split(h @ w_h[:, : 2 * hidden], 2, axis=-1)
            r, z = jax.nn.sigmoid(xr + hr), jax.nn.sigmoid(xz + hz)
            n = jnp.tanh(xn + (r * h) @ w_h[:, 2 * hidden :])
        return (1.0 - z) * n + z * h
