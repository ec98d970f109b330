"""StackedRNN.step: one step at a time gives the whole-sequence outputs and carries."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from flax import nnx

from rnnjax.layers import StackedRNN


@pytest.mark.parametrize(("kind", "skip"), [("gru", "none"), ("lstm", "residual"),
                                            ("elman_tanh", "dense"), ("depth_gated_lstm", "none")])
def test_step_by_step_equals_the_sequence(kind, skip):
    stack = StackedRNN(kind, 5, 5, 3, rngs=nnx.Rngs(0), skip=skip, dropout=0.3)
    x = jax.random.normal(jax.random.PRNGKey(1), (2, 6, 5))
    y, final = stack(x)
    carries, steps = stack.initial_carry(2), []
    for t in range(6):
        y_t, carries = stack.step(x[:, t], carries)
        steps.append(y_t)
    np.testing.assert_allclose(np.stack(steps, 1), y, rtol=1e-5, atol=1e-6)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6),
                 carries, final)


def test_step_refuses_what_needs_the_whole_sequence():
    with pytest.raises(ValueError, match=r"StackedRNN.step: self.bidirectional must be False"):
        bi = StackedRNN("gru", 3, 4, 1, rngs=nnx.Rngs(0), bidirectional=True)
        bi.step(np.zeros((1, 3), np.float32), bi.initial_carry(1))
    stack = StackedRNN("gru", 3, 4, 2, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match=r"StackedRNN.step: carries must be a list of 2"):
        stack.step(np.zeros((1, 3), np.float32), stack.initial_carry(1)[:1])
