"""Elman ("vanilla") RNN: h_t = act(x_t W_x + h_{t-1} W_h + b) (Elman 1990).

With ``activation="relu"`` and ``recurrent_init=identity()`` it is the IRNN of Le, Jaitly & Hinton
2015. Weight layout: w_x [I, H], w_h [H, H], b [H] (PyTorch's b_ih + b_hh).
"""

from __future__ import annotations

import jax
from flax import nnx

from rnnjax import initializers as inits
from rnnjax.cells.base import Array, RecurrentCell
from rnnjax.validation import check_choice

ACTIVATIONS = {"tanh": jax.numpy.tanh, "relu": jax.nn.relu}


class ElmanCell(RecurrentCell):
    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        rngs: nnx.Rngs,
        activation: str = "tanh",
        kernel_init: inits.Initializer | None = None,
        recurrent_init: inits.Initializer | None = None,
        bias_init: inits.Initializer | None = None,
    ):
        self.activation = check_choice("ElmanCell", "activation", activation, ACTIVATIONS)
        self._init_gate_params(
            input_size, hidden_size, 1, rngs=rngs, kernel_init=kernel_init,
            recurrent_init=recurrent_init, bias_init=bias_init,
        )

    def step(self, params: dict[str, Array], carry: Array, x_proj: Array) -> Array:
        return ACTIVATIONS[self.activation](x_proj + carry @ params["w_h"])
