"""Elman ("vanilla") RNN: h_t = act(x_t W_x + h_{t-1} W_h + b) (Elman 1990).

With ``activation="relu"`` and ``recurrent_init=identity()`` it is the IRNN of Le, Jaitly & Hinton
2015. Weight layout: w_x [I, H], w_h [H, H], b [H] (PyTorch's b_ih + b_hh).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
from flax import nnx

from rnnjax import initializers as inits
from rnnjax.cells.base import RecurrentCell
from rnnjax.recurrence import Blocks
from rnnjax.validation import check_choice

ACTIVATIONS = {"tanh": jnp.tanh, "relu": jax.nn.relu}


@dataclass(frozen=True)
class ElmanMath:
    """h_t = act(x_t + r_t); backward: d pre = dh_t act'(.), with act' read off h_t."""

    activation: str
    num_gates: int = 1

    def forward(self, x: Blocks, r: Blocks, carry: Blocks) -> tuple[Blocks, Blocks]:
        h = ACTIVATIONS[self.activation](x[0] + r[0])
        return (h,), (h,)

    def backward(self, saved: Blocks, carry: Blocks, d_carry: Blocks):
        (h,), (d_h,) = saved, d_carry
        d_pre = d_h * (1.0 - h * h) if self.activation == "tanh" else jnp.where(h > 0, d_h, 0.0)
        return (d_pre,), None, (None,)


MATHS = {name: ElmanMath(name) for name in ACTIVATIONS}


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
        self.math = MATHS[activation]
        self._init_gate_params(
            input_size, hidden_size, 1, rngs=rngs, kernel_init=kernel_init,
            recurrent_init=recurrent_init, bias_init=bias_init,
        )
