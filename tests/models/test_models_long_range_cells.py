"""The long-range cells (IndRNN, minGRU, minLSTM) in the LM and classifier: they build, and a few
Adam steps on one batch lower the loss (the parallel scan trains through the whole model)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from rnnjax.models import RNNLM, RNNClassifier

TOKENS = jnp.asarray(np.random.default_rng(0).integers(1, 12, (4, 9)), jnp.int32)
LENGTHS = jnp.array([9, 4, 6, 2])
LABELS = jnp.array([0, 1, 2, 1])


def lm_loss(model):
    logits, _ = model(TOKENS[:, :-1])
    return optax.softmax_cross_entropy_with_integer_labels(logits, TOKENS[:, 1:]).mean()


def classifier_loss(model):
    logits = model(TOKENS, LENGTHS)
    return optax.softmax_cross_entropy_with_integer_labels(logits, LABELS).mean()


def losses_over_steps(model, loss, steps=4):
    optimizer = nnx.Optimizer(model, optax.adam(0.05), wrt=nnx.Param)

    @nnx.jit
    def step(model, optimizer):
        value, grads = nnx.value_and_grad(loss)(model)
        optimizer.update(model, grads)
        return value

    return [float(step(model, optimizer)) for _ in range(steps)]


@pytest.mark.parametrize(("cell", "kind"), [("mingru", "lm"), ("minlstm", "classifier"),
                                            ("indrnn", "lm")])
def test_long_range_cells_train_in_lm_and_classifier(cell, kind):
    if kind == "lm":
        model = RNNLM(12, rngs=nnx.Rngs(0), cell=cell, embed_size=6, hidden_size=8,
                      num_layers=1, init_scale=0.1 if cell == "mingru" else None)
        loss = lm_loss
    else:
        model = RNNClassifier(12, 3, rngs=nnx.Rngs(0), cell=cell, embed_size=6, hidden_size=8)
        loss = classifier_loss
    losses = losses_over_steps(model, loss)
    assert np.isfinite(losses).all() and losses[-1] < losses[0] - 0.05, losses
