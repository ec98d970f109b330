"""A recurrent model over real-valued sequences with a linear readout (the long-range memory
tasks: adding problem, copy memory, pixel-by-pixel images):

    h_t = StackedRNN(x)_t          any cell, any depth, optional dilations (Chang et al. 2017)
    readout "last":  y = h_T W + b            [B, O]  (adding: O = 1, pixels: O = classes)
    readout "every": y_t = h_t W + b          [B, T, O]  (copy memory)
"""

from __future__ import annotations

from typing import Any

import jax
from flax import nnx

from rnnjax.cells import CELLS
from rnnjax.layers import StackedRNN
from rnnjax.validation import check_choice, check_positive_int, fail

Array = jax.Array
READOUTS = ("last", "every")


class SequenceModel(nnx.Module):
    """x [B, T, input_size] float -> outputs [B, num_outputs] ("last") or [B, T, num_outputs]."""

    def __init__(self, input_size: int, num_outputs: int, *, rngs: nnx.Rngs, cell: str = "lstm",
                 hidden_size: int = 128, num_layers: int = 1,
                 dilations: list[int] | tuple[int, ...] | None = None, readout: str = "last",
                 impl: str = "auto", cell_kwargs: dict[str, Any] | None = None):
        where = "SequenceModel"
        check_choice(where, "cell", cell, CELLS)
        self.input_size = check_positive_int(where, "input_size", input_size)
        check_positive_int(where, "num_outputs", num_outputs)
        self.readout = check_choice(where, "readout", readout, READOUTS)
        self.rnn = StackedRNN(cell, input_size, hidden_size, num_layers, rngs=rngs, impl=impl,
                              dilations=dilations or None, cell_kwargs=cell_kwargs)
        self.out = nnx.Linear(self.rnn.output_size, num_outputs, rngs=rngs)

    def features(self, x: Array) -> Array:
        """The top layer's outputs h_t [B, T, H]."""
        if x.ndim != 3 or x.shape[-1] != self.input_size:
            fail("SequenceModel", "x", f"an array [batch, time, {self.input_size}]",
                 f"shape {x.shape}")
        return self.rnn(x)[0]

    def __call__(self, x: Array) -> Array:
        h = self.features(x)
        return self.out(h[:, -1] if self.readout == "last" else h)
