"""Adaptive Computation Time (Graves 2016, "Adaptive Computation Time for Recurrent Neural
Networks") as a wrapper around any recurrent cell.

At input step t the wrapped cell S runs ponder steps n = 1, 2, ..., max_steps on the same input,
with a flag that marks the first one (section 2):

    s^n_t = S(s^{n-1}_t, [x_t ; delta_{n,1}]),  s^0_t = s_{t-1}               (eqs. 7-8)
    h^n_t = sigmoid(w_h . y(s^n_t) + b_h)   (the halting unit, on the cell's output y)  (eq. 6)
    N(t) = min(max_steps, min{n' : sum_{n <= n'} h^n_t >= 1 - epsilon})         (eq. 11)
    R(t) = 1 - sum_{n < N(t)} h^n_t                                            (eq. 12)
    p^n_t = h^n_t for n < N(t), R(t) for n = N(t), 0 after                       (eq. 13)
    s_t = sum_n p^n_t s^n_t,   y_t = sum_n p^n_t y^n_t                           (eqs. 14-15)
    rho_t = N(t) + R(t);   loss = task loss + tau sum_t rho_t                    (eqs. 16-18)

N(t) is an integer, so the ponder cost's gradient flows through R(t) alone (section 2.1).
Every ponder step up to ``max_steps`` is computed and those after N(t) get weight 0: one
fixed-size program, at the price of computing max_steps steps. The mean-field output is the
cell's output of the mean-field state, which equals sum_n p^n y^n for every cell whose output is
a linear read of its carry (h, [h ; c], [h ; r] -- all of ``rnnjax.cells``). The carry also
accumulates sum_t rho_t and sum_t N(t) per sequence (``ACTState``); ``ponder_loss`` is tau times
their batch mean.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from flax import nnx

from rnnjax.cells import make_cell
from rnnjax.cells.base import Array, Carry, RecurrentCell
from rnnjax.validation import check_positive_int, fail

#: the paper's halting threshold epsilon
EPSILON = 0.01


class ACTState(NamedTuple):
    """The wrapper's carry: the wrapped cell's mean-field carry and two running totals."""

    inner: Carry
    ponder_cost: Array  # sum_t rho_t = N(t) + R(t) so far [B, 1]
    ponder_steps: Array  # sum_t N(t) so far [B, 1]


def halting_distribution(halts: Array, epsilon: float = EPSILON
                         ) -> tuple[Array, Array, Array]:
    """(p [..., N], N(t) [...], R(t) [...]) from the halting probabilities h [..., N] (eqs. 11-13).

    The last step always halts (N(t) <= N); p sums to 1 over the last axis.
    """
    max_steps = halts.shape[-1]
    cumulative = jnp.cumsum(halts, axis=-1)
    below = (cumulative < 1.0 - epsilon).astype(jnp.int32)
    steps = jnp.minimum(1 + below.sum(-1), max_steps)  # 1-based N(t)
    index = jnp.arange(1, max_steps + 1)
    before = jnp.sum(jnp.where(index < steps[..., None], halts, 0.0), axis=-1)
    remainder = 1.0 - before
    weights = jnp.where(index < steps[..., None], halts,
                        jnp.where(index == steps[..., None], remainder[..., None], 0.0))
    return weights, steps.astype(halts.dtype), remainder


def check_time_penalty(where: str, tau: Any) -> float:
    """The ponder-cost weight tau: a number >= 0."""
    if isinstance(tau, bool) or not isinstance(tau, int | float) or not tau >= 0:
        fail(where, "time_penalty", "a number >= 0 (the ponder cost weight tau)", repr(tau))
    return float(tau)


class ACTCell(RecurrentCell):
    """``cell`` with adaptive computation time (module docstring).

    ``cell`` reads one more input feature than the wrapper (the first-ponder-step flag), so
    ``input_size = cell.input_size - 1``. Extra parameters: the halting unit ``w_halt``
    [cell.output_size] and ``b_halt`` (starts at ``halt_bias``). ``time_penalty`` is tau.
    """

    def __init__(self, cell: RecurrentCell, *, rngs: nnx.Rngs, time_penalty: float = 1e-3,
                 max_steps: int = 100, epsilon: float = EPSILON, halt_bias: float = 1.0):
        where = "ACTCell"
        if not isinstance(cell, RecurrentCell) or isinstance(cell, ACTCell):
            fail(where, "cell", "a RecurrentCell (not itself an ACTCell)", type(cell).__name__,
                 TypeError)
        if cell.input_size < 2:
            fail(where, "cell.input_size", ">= 2 (the inputs and the first-step flag)",
                 cell.input_size)
        self.cell = cell
        self.time_penalty = check_time_penalty(where, time_penalty)
        self.max_steps = check_positive_int(where, "max_steps", max_steps)
        if isinstance(epsilon, bool) or not isinstance(epsilon, float) or not 0 < epsilon < 1:
            fail(where, "epsilon", "a float in (0, 1)", repr(epsilon))
        self.epsilon = epsilon
        self.input_size = cell.input_size - 1
        self.hidden_size = cell.hidden_size
        self.recurrent_weight_names = cell.recurrent_weight_names
        self.w_halt = nnx.Param(jax.nn.initializers.lecun_normal()(
            rngs.params(), (cell.output_size, 1))[:, 0])
        self.b_halt = nnx.Param(jnp.asarray(halt_bias, jnp.float32))

    @property
    def output_size(self) -> int:
        return self.cell.output_size

    def initial_carry(self, batch_size: int, dtype: Any = jnp.float32) -> ACTState:
        zeros = jnp.zeros((batch_size, 1), dtype)
        return ACTState(self.cell.initial_carry(batch_size, dtype), zeros, zeros)

    def project_inputs(self, x: Array) -> Array:
        """[P([x ; 1]) ; P([x ; 0])] with P the cell's projection: the first ponder step's
        inputs and the later steps', both outside the loop."""
        flag = jnp.ones((*x.shape[:-1], 1), x.dtype)
        return jnp.concatenate([self.cell.project_inputs(jnp.concatenate([x, flag], -1)),
                                self.cell.project_inputs(jnp.concatenate([x, 0 * flag], -1))],
                               axis=-1)

    def recurrent_params(self) -> dict[str, Array]:
        return {**self.cell.recurrent_params(), "act_w_halt": self.w_halt[...],
                "act_b_halt": self.b_halt[...]}

    def step(self, params: dict[str, Array], carry: ACTState, x_proj: Array) -> ACTState:
        """All max_steps ponder steps, the halting distribution, the mean-field carry."""
        cell = self.cell
        first, later = jnp.split(x_proj, 2, axis=-1)
        inputs = jnp.concatenate([first[None], jnp.broadcast_to(
            later, (self.max_steps - 1, *later.shape))], axis=0)

        def ponder(state, x_n):
            state = cell.step(params, state, x_n)
            halt = jax.nn.sigmoid(cell.output(state) @ params["act_w_halt"]
                                  + params["act_b_halt"])
            return state, (state, halt)

        _, (states, halts) = jax.lax.scan(ponder, carry.inner, inputs)
        weights, steps, remainder = halting_distribution(halts.T, self.epsilon)
        mean_field = jax.tree.map(
            lambda s: jnp.einsum("bn,nb...->b...", weights.astype(s.dtype), s), states)
        return ACTState(mean_field, carry.ponder_cost + (steps + remainder)[:, None],
                        carry.ponder_steps + steps[:, None])

    def output(self, carry: ACTState) -> Array:
        return self.cell.output(carry.inner)

    def ponder_loss(self, carry: ACTState) -> Array:
        """tau times the batch mean of the ponder cost sum_t rho_t (eq. 18's second term)."""
        return self.time_penalty * jnp.mean(carry.ponder_cost)


def make_act_cell(kind: str, input_size: int, hidden_size: int, *, rngs: nnx.Rngs,
                  time_penalty: float = 1e-3, max_steps: int = 100, epsilon: float = EPSILON,
                  **cell_kwargs: Any) -> ACTCell:
    """``make_cell(kind, input_size + 1, hidden_size, ...)`` wrapped in an ``ACTCell``."""
    check_time_penalty("make_act_cell", time_penalty)
    check_positive_int("make_act_cell", "input_size", input_size)
    cell = make_cell(kind, input_size + 1, hidden_size, rngs=rngs, **cell_kwargs)
    return ACTCell(cell, rngs=rngs, time_penalty=time_penalty, max_steps=max_steps,
                   epsilon=epsilon)
