"""The NTM experiment's task: ``rnnjax.train.algorithmic.AlgorithmicTask`` under the name "ntm",
plus, for an NTM, the addressing record of one copy-like test sequence (the read and write
weightings and the memory at every step, workdir/addressing.npz) that tables.py draws.
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np
from flax import nnx

from experiments import launch
from rnnjax.cells.ntm import NTMCell
from rnnjax.train.algorithmic import EVAL_SEED, AlgorithmicTask

ADDRESSING_FILE = "addressing.npz"


class NTMTask(AlgorithmicTask):
    experiment = "ntm"

    def write_outputs(self, model: nnx.Module, split: str, workdir: Path) -> None:
        """The carry and the output of every step of one sequence at the largest training
        size."""
        cell = model.rnn.layers[0].cell
        if split != "test" or not isinstance(cell, NTMCell):
            return
        field = self.config.data.get("test_field", "length")
        kwargs = self.test_kwargs(field, self.train_kwargs.get(f"max_{field}", 1))
        batch = self.generate(np.random.default_rng((EVAL_SEED, 999)), 1, **kwargs)

        def step(carry, x_t):
            carry, y_t = cell(carry, x_t)
            return carry, (carry, model.readout(y_t))

        steps, logits = jax.lax.scan(step, cell.initial_carry(1),
                                     np.swapaxes(batch.inputs, 0, 1))[1]
        np.savez_compressed(
            workdir / ADDRESSING_FILE, inputs=batch.inputs[0], targets=batch.targets[0],
            mask=batch.mask[0], outputs=np.asarray(jax.nn.sigmoid(logits[:, 0])),
            read_weights=np.asarray(steps.read_weights[:, 0]),
            write_weights=np.asarray(steps.write_weights[:, 0]),
            memory=np.asarray(steps.memory[:, 0]))


train_and_evaluate = launch.over_seeds(NTMTask)
