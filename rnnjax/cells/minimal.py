"""minGRU and minLSTM (Feng et al. 2024, "Were RNNs All We Needed?", Sections 3.1.3 and 3.2.3).

Their gates read x_t only, never h_{t-1}:

    minGRU:   z_t = σ(x_t W_z + b_z),   h~_t = g(x_t W_h + b_h)
              h_t = (1 - z_t) ⊙ h_{t-1} + z_t ⊙ h~_t
    minLSTM:  f_t = σ(x_t W_f + b_f),   i_t = σ(x_t W_i + b_i),   h~_t = g(x_t W_h + b_h)
              f'_t = f_t / (f_t + i_t),  i'_t = i_t / (f_t + i_t)
              h_t = f'_t ⊙ h_{t-1} + i'_t ⊙ h~_t

with the paper's positive activation g(x) = x + 1/2 for x >= 0 and σ(x) for x < 0. Both are the
linear recurrence h_t = a_t ⊙ h_{t-1} + b_t with a_t, b_t > 0, so ``rnnjax.layers.RNN`` runs a
whole sequence as a parallel scan in log space (impl "parallel", ``rnnjax.linear_scan``) and the
same parameters step by step (impl "scan", ``RNN.step``). The cells give log a_t and log b_t
(the paper's Appendix B):

    log σ(k) = -softplus(-k),   log(1 - σ(k)) = -softplus(k),
    log g(x) = log(x + 1/2) (x >= 0), -softplus(-x) (x < 0),
    minLSTM:  d = softplus(-k_f) - softplus(-k_i) = log(i_t / f_t),
              log f'_t = -softplus(d),   log i'_t = -softplus(-d).

Weight layout: w_x [I, G*H] and b [G*H], gate blocks [z, h~] (minGRU) or [f, i, h~] (minLSTM).
There is no recurrent matrix (DropConnect has nothing to drop).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from rnnjax import initializers as inits
from rnnjax.cells.base import Array, RecurrentCell
from rnnjax.validation import check_positive_int


def log_g(x: Array) -> Array:
    """log g(x) for g(x) = x + 1/2 (x >= 0), σ(x) (x < 0): continuous, positive, increasing."""
    return jnp.where(x >= 0, jnp.log(jax.nn.relu(x) + 0.5), -jax.nn.softplus(-x))


class LogLinearCell(RecurrentCell):
    """A cell whose step is h_t = a_t ⊙ h_{t-1} + b_t with a_t, b_t > 0 functions of x_t alone;
    subclasses give (log a_t, log b_t) from x_proj = x_t W_x + b."""

    recurrent_weight_names: tuple[str, ...] = ()
    num_gates: int

    def __init__(self, input_size: int, hidden_size: int, *, rngs: nnx.Rngs,
                 kernel_init: inits.Initializer | None = None,
                 recurrent_init: inits.Initializer | None = None,
                 bias_init: inits.Initializer | None = None):
        """``recurrent_init`` is accepted so that every cell kind takes the same initialisers
        (e.g. ``RNNLM(init_scale=...)``); these cells have no recurrent matrix to give it to."""
        where = type(self).__name__
        del recurrent_init
        self.input_size = check_positive_int(where, "input_size", input_size)
        self.hidden_size = check_positive_int(where, "hidden_size", hidden_size)
        width = self.num_gates * hidden_size
        self.w_x = nnx.Param((kernel_init or inits.lecun_normal())(rngs.params(),
                                                                  (input_size, width)))
        self.b = nnx.Param((bias_init or inits.zeros)(rngs.params(), (width,)))

    def recurrent_params(self) -> dict[str, Array]:
        return {}

    def log_coefficients(self, x_proj: Array) -> tuple[Array, Array]:
        """x_proj [..., G*H] -> (log a_t, log b_t) [..., H]."""
        raise NotImplementedError

    def step(self, params: dict[str, Array], carry: Array, x_proj: Array) -> Array:
        """h_t = a_t ⊙ h_{t-1} + b_t."""
        del params
        log_a, log_b = self.log_coefficients(x_proj)
        return jnp.exp(log_a) * carry + jnp.exp(log_b)


class MinGRUCell(LogLinearCell):
    """minGRU: a_t = 1 - z_t, b_t = z_t ⊙ g(h~ pre-activation)."""

    num_gates = 2

    def log_coefficients(self, x_proj: Array) -> tuple[Array, Array]:
        k_z, k_h = jnp.split(x_proj, 2, axis=-1)
        return -jax.nn.softplus(k_z), -jax.nn.softplus(-k_z) + log_g(k_h)


class MinLSTMCell(LogLinearCell):
    """minLSTM: a_t = f'_t, b_t = i'_t ⊙ g(h~ pre-activation), f' + i' = 1."""

    num_gates = 3

    def log_coefficients(self, x_proj: Array) -> tuple[Array, Array]:
        k_f, k_i, k_h = jnp.split(x_proj, 3, axis=-1)
        d = jax.nn.softplus(-k_f) - jax.nn.softplus(-k_i)
        return -jax.nn.softplus(d), -jax.nn.softplus(-d) + log_g(k_h)
