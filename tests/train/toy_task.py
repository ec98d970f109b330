"""A tiny Task for the harness tests: logistic regression on two Gaussian blobs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from flax import nnx

from rnnjax.train.run import Task

SPLITS = {"train": 0, "valid": 1, "test": 2}


def toy_config(**overrides) -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.name = "toy"
    c.seed = 0
    c.num_epochs = 3
    c.steps_per_epoch = 0
    c.log_every_steps = 2
    c.checkpoint_every_steps = 2
    c.data = ml_collections.ConfigDict({"size": 64, "batch_size": 8, "shift": 1.5})
    c.model = ml_collections.ConfigDict({"features": 2})
    c.optim = ml_collections.ConfigDict({"name": "sgd", "learning_rate": 0.5})
    c.update_from_flattened_dict(overrides)
    return c


def blobs(size: int, shift: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size).astype(np.int32)
    x = rng.normal(size=(size, 2)).astype(np.float32) + shift * (2 * labels[:, None] - 1)
    return x, labels


class ToyTask(Task):
    experiment = "toy"

    def load(self, workdir: Path) -> None:
        data = self.config.data
        self.splits = {name: blobs(data.size, data.shift, seed) for name, seed in SPLITS.items()}

    def fingerprint(self) -> str:
        return hashlib.sha256(self.splits["train"][0].tobytes()).hexdigest()

    def build_model(self, rngs: nnx.Rngs) -> nnx.Module:
        return nnx.Linear(self.config.model.features, 2, rngs=rngs)

    def num_batches(self, epoch: int) -> int:
        return self.config.data.size // self.config.data.batch_size

    def batch(self, epoch: int, index: int):
        order = np.random.default_rng([self.config.seed, epoch]).permutation(self.config.data.size)
        rows = order[index * self.config.data.batch_size:(index + 1) * self.config.data.batch_size]
        x, y = self.splits["train"]
        return x[rows], y[rows]

    def loss(self, model, state, batch, key):
        x, y = batch
        loss = optax.softmax_cross_entropy_with_integer_labels(model(x), y).mean()
        return loss, (loss, state)

    def evaluate(self, model, split):
        x, y = self.splits[split]
        logits = model(jnp.asarray(x))
        loss = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
        return {"loss": float(loss), "accuracy": float((logits.argmax(-1) == y).mean())}


class SelectingToyTask(ToyTask):
    selection = ("valid_accuracy", "max")
