"""The vanishing-gradient figure, measured: ||dL/dh_t|| against t on one adding sequence for the
Elman (tanh), IRNN, LSTM and GRU cells, at initialisation and after training.

    python -m experiments.memory.gradients [--length=100] [--steps=300] \
        [--out_dir=results/memory]

Each cell is the experiment's model (``SequenceModel``, one layer of ``--hidden`` units, the
last output regressing the sum) on the adding problem of length T. Every hidden state h_t gets a
zero perturbation δ_t before it feeds step t + 1 (and the readout, at t = T), so dL/dδ_t =
dL/dh_t exactly (the total derivative through all later steps). The figure and
``gradient_norms.json`` give its Euclidean norm for one test sequence (``rng_for(0, "test")``),
at initialisation and after ``--steps`` Adam steps (rate 1e-3, global norm clipped to 1, batches
of 50) of the experiment's protocol.
"""

from __future__ import annotations

import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl import flags
from flax import nnx

from experiments.memory.tables import plot_gradient_norms_figure
from rnnjax import cli
from rnnjax.cells.base import as_blocks, from_blocks
from rnnjax.data.synthetic import adding_problem, rng_for
from rnnjax.models.sequence import SequenceModel
from rnnjax.validation import check_positive_int

CELLS = ("elman_tanh", "irnn", "lstm", "gru")
_LENGTH = flags.DEFINE_integer("length", 100, "T of the adding sequences.")
_STEPS = flags.DEFINE_integer("steps", 300, "Training steps before the second measurement.")
_HIDDEN = flags.DEFINE_integer("hidden", 64, "Units of the recurrent layer.")
_OUT_DIR = flags.DEFINE_string("out_dir", "results/memory", "Where the PNG and JSON go.")


def hidden_state_gradients(model: SequenceModel, x: jax.Array, y: jax.Array) -> jax.Array:
    """||dL/dh_t|| for t < T (mean over the batch) of the squared error of a one-layer model."""
    cell = model.rnn.layers[0].cell
    params = cell.recurrent_params()
    x_proj = jnp.swapaxes(cell.project_inputs(x), 0, 1)
    carry0 = cell.initial_carry(x.shape[0])

    def loss(deltas: jax.Array) -> jax.Array:
        def body(carry, inputs):
            x_t, delta_t = inputs
            blocks = as_blocks(cell.step(params, carry, x_t))
            return from_blocks((blocks[0] + delta_t, *blocks[1:])), None

        final, _ = jax.lax.scan(body, carry0, (x_proj, deltas))
        return jnp.mean((model.out(cell.output(final))[:, 0] - y) ** 2)

    deltas = jnp.zeros((x.shape[1], x.shape[0], cell.hidden_size), x.dtype)
    return jnp.linalg.norm(jax.grad(loss)(deltas), axis=-1).mean(-1)


def train(model: SequenceModel, length: int, steps: int) -> list[float]:
    """``steps`` Adam steps on fresh adding batches; the training MSE of each step."""
    optimizer = nnx.Optimizer(model, optax.chain(optax.clip_by_global_norm(1.0),
                                                 optax.adam(1e-3)), wrt=nnx.Param)

    @nnx.jit
    def step(model, optimizer, x, y):
        loss, grads = nnx.value_and_grad(
            lambda m: jnp.mean((m(x)[:, 0] - y) ** 2))(model)
        optimizer.update(model, grads)
        return loss

    return [float(step(model, optimizer, *adding_problem(rng_for(0, "train", i), 50, length)))
            for i in range(steps)]


def measure(length: int, steps: int, hidden: int) -> dict[str, dict[str, list[float]]]:
    """{cell: {"init": norms, "trained": norms, "train_mse": per step}}."""
    x, y = adding_problem(rng_for(0, "test"), 1, length)
    out = {}
    for kind in CELLS:
        model = SequenceModel(2, 1, rngs=nnx.Rngs(0), cell=kind, hidden_size=hidden)
        norms = nnx.jit(hidden_state_gradients)
        before = np.asarray(norms(model, x, y)).tolist()
        mse = train(model, length, steps)
        out[kind] = {"init": before, "trained": np.asarray(norms(model, x, y)).tolist(),
                     "train_mse": mse}
    return out


def main(argv: list[str]) -> None:
    del argv
    length = check_positive_int("gradients", "--length", _LENGTH.value)
    steps = check_positive_int("gradients", "--steps", _STEPS.value)
    hidden = check_positive_int("gradients", "--hidden", _HIDDEN.value)
    out_dir = Path(_OUT_DIR.value)
    out_dir.mkdir(parents=True, exist_ok=True)
    measured = measure(length, steps, hidden)
    plot_gradient_norms_figure(measured, steps, out_dir / "gradient_norms.png")
    (out_dir / "gradient_norms.json").write_text(json.dumps(
        {"length": length, "steps": steps, "hidden": hidden, "cells": measured}), "utf-8")
    for kind, values in measured.items():
        print(f"{kind}: ||dL/dh_0|| / ||dL/dh_T-1|| = "
              f"{values['init'][0] / values['init'][-1]:.3g} at init, "
              f"{values['trained'][0] / values['trained'][-1]:.3g} trained; "
              f"last training MSE {values['train_mse'][-1]:.4f}")


if __name__ == "__main__":
    cli.run(main)
