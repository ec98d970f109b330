"""The training task of the algorithmic experiments (NTM tasks, ACT parity) on the harness.

Batches come from ``rnnjax.data.algorithmic.TASKS[config.data.task]`` with
``config.data.train`` as keyword arguments, drawn from ``numpy.random.default_rng((config.seed,
epoch, index))``, so a resumed run sees the same batches. The loss is the cost in bits per
sequence (``bits_per_sequence``) plus, with ACT, the ponder cost tau sum_t rho_t. Evaluation
sets are fixed (the same for every seed): ``valid`` at the training distribution; ``test`` at
the training distribution and, for each value v of ``config.data.test_values``, with
``min_<test_field> = max_<test_field> = v`` (length generalisation). Metrics per set: ``loss``
(bits per sequence), ``bit_errors`` (wrong bits per sequence), ``sequence_error`` (fraction of
sequences with any wrong bit), ``ponder`` (mean N(t) per input step, ACT only).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from rnnjax.data.algorithmic import (
    TASKS,
    AlgorithmicBatch,
    bit_errors_per_sequence,
    bits_per_sequence,
)
from rnnjax.models.bit_sequences import BitSequenceModel, parameter_count
from rnnjax.train.run import Task
from rnnjax.train.task_data import check_batch_sizes, fingerprint
from rnnjax.validation import check_choice, check_positive_int, fail

#: first element of the seeds of the evaluation sets (never a training seed's (seed, epoch, i))
EVAL_SEED = 1_000_003


def batch_metrics(predictions, batch: dict[str, jax.Array]) -> dict[str, jax.Array]:
    """Sums over the batch of bits, wrong bits, wrong sequences and ponder steps."""
    logits, mask, targets = predictions.logits, batch["mask"], batch["targets"]
    size = logits.shape[0]
    wrong = ((logits > 0) != (targets > 0.5)).any(-1) & (mask > 0)
    return {"loss": bits_per_sequence(logits, targets, mask) * size,
            "bit_errors": bit_errors_per_sequence(logits, targets, mask) * size,
            "sequence_error": wrong.any(-1).sum().astype(jnp.float32),
            "ponder": jnp.sum(predictions.ponder_steps)}


class AlgorithmicTask(Task):
    """A ``BitSequenceModel`` (``config.model``) trained on one algorithmic task."""

    unit = "sequences"

    def load(self, workdir: Path) -> None:
        del workdir
        data = self.config.data
        where = self.experiment
        check_choice(where, "config.data.task", data.task, TASKS)
        check_batch_sizes(where, data, self.mesh, ("batch_size", "eval_batch_size"))
        for name in ("batches_per_epoch", "eval_batches"):
            check_positive_int(where, f"config.data.{name}", data[name])
        self.generate = TASKS[data.task]
        self.train_kwargs = dict(data.train)
        try:  # every argument checked on a small draw, before any training
            probe = self.generate(np.random.default_rng(0), 1, **self.train_kwargs)
        except TypeError as err:
            fail(where, "config.data.train", f"arguments of {self.generate.__name__}", str(err))
        self.sizes = {"input_size": probe.inputs.shape[-1], "output_size": probe.targets.shape[-1]}
        values = tuple(data.get("test_values", ()))
        field = data.get("test_field", "length")
        for value in values:
            self.generate(np.random.default_rng(0), 1, **self.test_kwargs(field, value))
        self.eval_sets = {"valid": self.train_kwargs, "test": self.train_kwargs,
                          **{f"test_{field}{v}": self.test_kwargs(field, v) for v in values}}

    def test_kwargs(self, field: str, value: int) -> dict[str, Any]:
        """The training arguments with min_<field> = max_<field> = value, padded to fit."""
        return {**self.train_kwargs, f"min_{field}": value, f"max_{field}": value, "steps": 0}

    def fingerprint(self) -> str:
        return fingerprint(repr(sorted(self.config.data.to_dict().items())))

    def build_model(self, rngs: nnx.Rngs) -> BitSequenceModel:
        return BitSequenceModel(**self.sizes, rngs=rngs, **self.config.model.to_dict())

    def num_batches(self, epoch: int) -> int:
        return self.config.data.batches_per_epoch

    def batch(self, epoch: int, index: int) -> dict[str, np.ndarray]:
        rng = np.random.default_rng((self.config.seed, epoch, index))
        return self.generate(rng, self.config.data.batch_size, **self.train_kwargs)._asdict()

    def loss(self, model: BitSequenceModel, state: Any, batch: dict[str, jax.Array],
             key: jax.Array):
        del key
        predictions = model(batch["inputs"])
        bits = bits_per_sequence(predictions.logits, batch["targets"], batch["mask"])
        return bits + predictions.ponder_loss, (bits, state)

    def prepare_evaluation(self, graphdef: Any) -> None:
        self.eval_batches = {name: self.eval_set(index, kwargs) for index, (name, kwargs)
                             in enumerate(self.eval_sets.items())}
        self.eval_step = jax.jit(lambda state, batch: batch_metrics(
            nnx.merge(graphdef, state)(batch["inputs"]), batch))

    def eval_set(self, index: int, kwargs: dict[str, Any]) -> list[AlgorithmicBatch]:
        """``config.data.eval_batches`` fixed batches (seed (EVAL_SEED, index, i))."""
        data = self.config.data
        return [self.generate(np.random.default_rng((EVAL_SEED, index, i)),
                              data.eval_batch_size, **kwargs)
                for i in range(data.eval_batches)]

    def evaluate_set(self, model: nnx.Module, batches: list[AlgorithmicBatch]
                     ) -> dict[str, float]:
        state = nnx.state(model)
        sums: dict[str, float] = {}
        for batch in batches:
            for key, value in self.eval_step(state, batch._asdict()).items():
                sums[key] = sums.get(key, 0.0) + float(value)
        sequences = sum(len(batch.inputs) for batch in batches)
        steps = sum(batch.inputs.shape[1] for batch in batches) * len(batches[0].inputs)
        metrics = {key: value / sequences for key, value in sums.items() if key != "ponder"}
        if self.config.model.get("act", False):
            metrics["ponder"] = sums["ponder"] / steps
        return metrics

    def evaluate(self, model: nnx.Module, split: str) -> dict[str, float]:
        metrics = self.evaluate_set(model, self.eval_batches[split])
        if split == "test":
            for name, batches in self.eval_batches.items():
                if name.startswith("test_"):
                    metrics.update({f"{name[5:]}_{key}": value for key, value
                                    in self.evaluate_set(model, batches).items()})
        return metrics

    def summary(self) -> dict[str, Any]:
        """The task and the model's parameter count (the model built abstractly)."""
        if not hasattr(self, "sizes"):
            self.load(Path())
        model = nnx.eval_shape(lambda: self.build_model(nnx.Rngs(0)))
        return {"task": self.config.data.task, "parameters": parameter_count(model)}
