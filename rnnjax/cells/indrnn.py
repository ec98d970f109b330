"""IndRNN (Li et al. 2018, "Independently Recurrent Neural Network (IndRNN): Building a Longer
and Deeper RNN"): h_t = relu(x_t W + u ⊙ h_{t-1} + b), one recurrent weight per unit (eq. 2).

Each unit is its own one-dimensional recurrence, so the gradient from step T back to step t is
∂h_T/∂h_t = Π_{k=t+1..T} u ⊙ relu'(.) = u^(T-t) while the unit is active (Section 3.1). Keeping
it between ε and γ over T steps gives the paper's bound on the recurrent weight

    |u| in [ε^(1/T), γ^(1/T)]     (with relu' = 1; Li et al. 2018, Section 3.1)

(the paper's adding problem: γ = 2, |u| <= 2^(1/T)). With ``max_steps=T`` the cell initialises u
uniformly in [ε^(1/T), γ^(1/T)] and clips it to [-γ^(1/T), γ^(1/T)] at every use, as the
authors' code does (so gradients beyond the bound are zero); without it u starts in U[0, 1] and
is not clipped. Weight layout: w_x [I, H], u [H], b [H].
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from rnnjax import initializers as inits
from rnnjax.cells.base import Array, RecurrentCell
from rnnjax.validation import check_positive_int, fail


def recurrent_bounds(max_steps: int, gamma: float = 2.0, epsilon: float = 0.0
                     ) -> tuple[float, float]:
    """(ε^(1/T), γ^(1/T)): the range of |u| whose gradient over T steps stays in [ε, γ]."""
    return epsilon ** (1.0 / max_steps), gamma ** (1.0 / max_steps)


class IndRNNCell(RecurrentCell):
    recurrent_weight_names = ("u",)

    def __init__(self, input_size: int, hidden_size: int, *, rngs: nnx.Rngs,
                 max_steps: int | None = None, gamma: float = 2.0, epsilon: float = 0.0,
                 kernel_init: inits.Initializer | None = None,
                 recurrent_init: inits.Initializer | None = None,
                 bias_init: inits.Initializer | None = None):
        where = "IndRNNCell"
        self.input_size = check_positive_int(where, "input_size", input_size)
        self.hidden_size = check_positive_int(where, "hidden_size", hidden_size)
        self.recurrent_max: float | None = None
        low, high = 0.0, 1.0
        if max_steps is not None:
            check_positive_int(where, "max_steps", max_steps)
            if not (isinstance(gamma, int | float) and gamma > 0):
                fail(where, "gamma", "a number > 0", repr(gamma))
            if not (isinstance(epsilon, int | float) and 0 <= epsilon <= gamma):
                fail(where, "epsilon", f"a number in [0, gamma={gamma}]", repr(epsilon))
            low, high = recurrent_bounds(max_steps, gamma, epsilon)
            self.recurrent_max = high

        def bounded_uniform(key, shape, dtype=jnp.float32):
            return jax.random.uniform(key, shape, dtype, low, high)

        self.w_x = nnx.Param((kernel_init or inits.lecun_normal())(
            rngs.params(), (input_size, hidden_size)))
        self.u = nnx.Param((recurrent_init or bounded_uniform)(rngs.params(), (hidden_size,)))
        self.b = nnx.Param((bias_init or inits.zeros)(rngs.params(), (hidden_size,)))

    def recurrent_params(self) -> dict[str, Array]:
        return {"u": self.u[...]}

    def step(self, params: dict[str, Array], carry: Array, x_proj: Array) -> Array:
        """h_t = relu(x_proj + clip(u) ⊙ h_{t-1})."""
        u = params["u"]
        if self.recurrent_max is not None:
            u = jnp.clip(u, -self.recurrent_max, self.recurrent_max)
        return jax.nn.relu(x_proj + u * carry)
