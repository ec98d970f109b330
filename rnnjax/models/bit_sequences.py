"""A recurrent network that predicts binary targets at every step: the model of the algorithmic
tasks (``rnnjax.data.algorithmic``: NTM copy / repeat copy / associative recall, ACT parity).

    y_1..T = recurrence(x_1..T);   logits_t = y_t W_o + b_o   (one sigmoid output per target bit)

The recurrence is a ``StackedRNN`` of any ``rnnjax.cells`` kind (``cell="ntm"`` gives the Neural
Turing Machine with its controller, memory and heads, ``cell_kwargs`` its sizes), or, with
``act=True``, one layer of that cell wrapped in Adaptive Computation Time
(``rnnjax.cells.act.ACTCell``), whose ponder cost tau sum_t rho_t the model returns for the
loss.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from flax import nnx

from rnnjax.cells.act import EPSILON, make_act_cell
from rnnjax.layers import RNN, StackedRNN
from rnnjax.validation import check_positive_int, fail

Array = jax.Array


class BitPredictions(NamedTuple):
    logits: Array  # [B, T, O]
    ponder_loss: Array  # tau * mean_b sum_t rho_t (0 without ACT)
    ponder_steps: Array  # [B]: sum_t N(t) (zeros without ACT)


class BitSequenceModel(nnx.Module):
    """Recurrence + per-step linear readout (module docstring)."""

    def __init__(self, input_size: int, output_size: int, *, rngs: nnx.Rngs, cell: str = "lstm",
                 hidden_size: int = 100, num_layers: int = 1,
                 cell_kwargs: dict[str, Any] | None = None, act: bool = False,
                 time_penalty: float = 1e-3, max_ponder_steps: int = 100,
                 epsilon: float = EPSILON, impl: str = "auto"):
        where = "BitSequenceModel"
        check_positive_int(where, "output_size", output_size)
        cell_kwargs = dict(cell_kwargs or {})
        self.act = bool(act)
        if self.act:
            if num_layers != 1:
                fail(where, "num_layers", "1 with act=True (one ACT layer)", num_layers)
            self.rnn = RNN(make_act_cell(cell, input_size, hidden_size, rngs=rngs,
                                         time_penalty=time_penalty, max_steps=max_ponder_steps,
                                         epsilon=epsilon, **cell_kwargs), impl=impl)
        else:
            self.rnn = StackedRNN(cell, input_size, hidden_size, num_layers, rngs=rngs,
                                  impl=impl, cell_kwargs=cell_kwargs)
        self.readout = nnx.Linear(self.rnn.output_size, output_size, rngs=rngs)

    def __call__(self, x: Array) -> BitPredictions:
        """x [B, T, input_size] -> logits [B, T, output_size] and the ponder terms."""
        outputs, carry = self.rnn(x)
        if self.act:
            cost = self.rnn.cell.ponder_loss(carry)
            steps = carry.ponder_steps[:, 0]
        else:
            cost, steps = jnp.zeros(()), jnp.zeros(x.shape[:1])
        return BitPredictions(self.readout(outputs), cost, steps)


def parameter_count(model: nnx.Module) -> int:
    """Number of trainable scalars of ``model``."""
    return sum(leaf.size for leaf in jax.tree.leaves(nnx.state(model, nnx.Param)))
