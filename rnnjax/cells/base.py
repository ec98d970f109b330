"""The recurrent-cell interface every cell family implements.

A cell owns its parameters and two pure functions of arrays:

* ``project_inputs(x)`` -- the time-parallel part (x_t W_x + b), computed for all steps in one
  matmul outside the scan;
* ``step(params, carry, x_proj_t) -> carry`` -- the sequential part, reading only the arrays in
  ``params = cell.recurrent_params()`` so that a layer can transform them (DropConnect) and run
  the step under ``jax.lax.scan`` without touching NNX state inside the loop;
* ``output(carry) -> y_t``.

A cell whose step is ``r_t = h_{t-1} W_h + b_h`` followed by pointwise math (LSTM, GRU with the
reset gate after the matmul, Elman) sets ``math`` (a ``rnnjax.recurrence.CellMath``) and gets its
``step`` from it; layers then run it with the hand-written backward of ``rnnjax.recurrence``.
Such a cell's ``project_inputs`` is the plain x W_x + b.

``cell(carry, x_t) -> (carry, y_t)`` runs one step on raw inputs. A cell never knows how it is
scanned: ``rnnjax.layers.RNN`` does that.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from rnnjax import initializers as inits
from rnnjax.ops import over_rows
from rnnjax.recurrence import Blocks, CellMath, math_step
from rnnjax.validation import check_positive_int

Array = jax.Array
Carry = Any


class RecurrentCell(nnx.Module):
    """Base class: parameters ``w_x`` [I, G*H], ``b`` [G*H] and a recurrent matrix ``w_h``."""

    input_size: int
    hidden_size: int
    #: recurrent matrices that DropConnect masks (Wan et al. 2013; Merity et al. 2017).
    recurrent_weight_names: tuple[str, ...] = ("w_h",)
    #: the pointwise math when the step is r_t = h_{t-1} W_h + b_h then pointwise (else None).
    math: CellMath | None = None

    def _init_gate_params(
        self,
        input_size: int,
        hidden_size: int,
        num_gates: int,
        *,
        rngs: nnx.Rngs,
        kernel_init: inits.Initializer | None,
        recurrent_init: inits.Initializer | None,
        bias_init: inits.Initializer | None,
        recurrent_shape: tuple[int, ...] | None = None,
        forget_gate: int | None = None,
        forget_bias: float = 0.0,
    ) -> None:
        """Create w_x [I, G*H], w_h (default [H, G*H]) and b [G*H] for G gate blocks.

        The recurrent matrix is initialised per gate block (orthogonal per gate by default);
        ``forget_bias`` is added to the bias block ``forget_gate``.
        """
        where = type(self).__name__
        self.input_size = check_positive_int(where, "input_size", input_size)
        self.hidden_size = check_positive_int(where, "hidden_size", hidden_size)
        kernel_init = kernel_init or inits.lecun_normal()
        recurrent_init = recurrent_init or inits.orthogonal()
        bias_init = bias_init or inits.zeros
        shape = recurrent_shape or (hidden_size, num_gates * hidden_size)
        width = num_gates * hidden_size
        self.w_x = nnx.Param(kernel_init(rngs.params(), (input_size, width)))
        self.w_h = nnx.Param(inits.per_block(recurrent_init, shape[-2])(rngs.params(), shape))
        bias = bias_init(rngs.params(), (width,))
        if forget_gate is not None:
            block = slice(forget_gate * hidden_size, (forget_gate + 1) * hidden_size)
            bias = bias.at[block].add(forget_bias)
        self.b = nnx.Param(bias)

    @property
    def output_size(self) -> int:
        return self.hidden_size

    def initial_carry(self, batch_size: int, dtype: Any = jnp.float32) -> Carry:
        return jnp.zeros((batch_size, self.hidden_size), dtype)

    def input_product(self, x: Array) -> Array:
        """x [..., I] -> x W_x [..., G*H] for all positions, as one matmul."""
        return over_rows(lambda rows: rows @ self.w_x[...], x)

    def project_inputs(self, x: Array) -> Array:
        """x [..., I] -> x W_x + b [..., G*H]: the part of every gate that does not recur."""
        return self.input_product(x) + self.b[...]

    def recurrent_params(self) -> dict[str, Array]:
        return {"w_h": self.w_h[...]}

    def recurrent_weights(self, params: dict[str, Array]) -> tuple[Array, Array | None]:
        """(W_h as [K, D, G*D] (K heads; dense K = 1), recurrent bias b_h [G*H] or None)."""
        w_h = params["w_h"]
        return (w_h[None] if w_h.ndim == 2 else w_h), None

    def step(self, params: dict[str, Array], carry: Carry, x_proj: Array) -> Carry:
        """One step on x_proj = x_t W_x + b [B, G*H]: (params, carry_{t-1}) -> carry_t."""
        w_h, b_h = self.recurrent_weights(params)
        return from_blocks(math_step(self.math, w_h, b_h, as_blocks(carry), x_proj))

    def output(self, carry: Carry) -> Array:
        """y_t read off the carry (h_t for every cell but the depth-gated LSTM)."""
        return carry

    def __call__(self, carry: Carry, x_t: Array) -> tuple[Carry, Array]:
        """One step on a raw input x_t [B, I]: (carry, x_t) -> (carry, y_t)."""
        carry = self.step(self.recurrent_params(), carry, self.project_inputs(x_t))
        return carry, self.output(carry)


def as_blocks(carry: Carry) -> Blocks:
    """A cell's carry as a tuple of arrays: (h, c) stays, a single h becomes (h,)."""
    return carry if isinstance(carry, tuple) else (carry,)


def from_blocks(blocks: Blocks) -> Carry:
    """Inverse of :func:`as_blocks`."""
    return blocks if len(blocks) > 1 else blocks[0]
