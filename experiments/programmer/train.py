"""The Neural Programmer's task on the harness: random tables and templated questions
(``rnnjax.data.table_questions``), the model and loss of ``rnnjax.models.neural_programmer``.

Training batches are drawn afresh from ``numpy.random.default_rng((config.seed, epoch,
index))``, so a resumed run sees the same batches; the ``valid`` and ``test`` sets are fixed
(seeds (EVAL_SEED, split, i), never a training seed, the same for every run). Metrics per set:
``loss`` (the paper's Huber / log-loss mix), ``accuracy`` (the discrete program of the argmax
selections answers exactly: the paper's test-time inference), ``soft_accuracy`` (the soft mix
of training answers within 0.5, or its lookup above 0.5 is right) and, on the test set,
``accuracy_<template>`` per question template.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from experiments import launch
from rnnjax.data.table_questions import (
    TEMPLATES,
    VOCABULARY,
    TableQuestions,
    make_table_questions,
    program_steps,
)
from rnnjax.models.bit_sequences import parameter_count
from rnnjax.models.neural_programmer import (
    OPERATIONS,
    NeuralProgrammer,
    Program,
    correct_answers,
    programmer_loss,
)
from rnnjax.train.optim import make_optimizer
from rnnjax.train.run import Task
from rnnjax.train.task_data import check_batch_sizes, fingerprint
from rnnjax.validation import (
    check_choices,
    check_nonnegative_float,
    check_positive_int,
    fail,
)

#: first element of the seeds of the evaluation sets (never a training seed's (seed, epoch, i))
EVAL_SEED = 1_000_003
#: the batch fields the model reads, in the order of its arguments
MODEL_FIELDS = ("table", "column_names", "question", "length", "numbers", "number_positions",
                "number_mask")


def run_model(model: NeuralProgrammer, batch: dict[str, jax.Array], *, hard: bool = False
              ) -> Program:
    return model(*(batch[name] for name in MODEL_FIELDS), hard=hard)


class ProgrammerTask(Task):
    """A ``NeuralProgrammer`` (``config.model``) trained on table questions (``config.data``)."""

    experiment = "programmer"
    unit = "questions"

    def load(self, workdir: Path) -> None:
        del workdir
        data, model, where = self.config.data, self.config.model, self.experiment
        check_batch_sizes(where, data, self.mesh, ("batch_size", "eval_batch_size"))
        for name in ("rows", "columns", "max_value", "batches_per_epoch", "eval_batches"):
            check_positive_int(where, f"config.data.{name}", data[name])
        templates = check_choices(where, "config.data.templates", list(data.templates), TEMPLATES)
        operations = check_choices(where, "config.model.operations", list(model.operations),
                                   OPERATIONS)
        needed = sorted({step.operation for name in templates
                         for step in TEMPLATES[name].program} - set(operations))
        if needed:
            fail(where, "config.model.operations", f"a list holding {needed} (the operations "
                 "of config.data.templates' programs)", list(operations))
        longest = program_steps(templates)
        if check_positive_int(where, "config.model.steps", model.steps) < longest:
            fail(where, "config.model.steps", f">= {longest} (the longest program of "
                 "config.data.templates)", model.steps)
        for name in ("huber_delta", "lookup_weight"):
            check_nonnegative_float(where, f"config.loss.{name}", self.config.loss[name])
        self.kwargs = {"rows": data.rows, "columns": data.columns,
                       "max_value": data.max_value, "templates": templates}
        make_table_questions(np.random.default_rng(0), 1, **self.kwargs)  # checks the rest

    def fingerprint(self) -> str:
        return fingerprint(repr(sorted(self.config.data.to_dict().items())))

    def data_source(self) -> str:
        return "the table-question generator (config.data)"

    def build_model(self, rngs: nnx.Rngs) -> NeuralProgrammer:
        return NeuralProgrammer(len(VOCABULARY), rngs=rngs, **self.config.model.to_dict())

    def make_optimizer(self) -> optax.GradientTransformation:
        return make_optimizer(self.config.optim, seed=self.config.seed)

    def num_batches(self, epoch: int) -> int:
        return self.config.data.batches_per_epoch

    def batch(self, epoch: int, index: int) -> dict[str, np.ndarray]:
        rng = np.random.default_rng((self.config.seed, epoch, index))
        return make_table_questions(rng, self.config.data.batch_size, **self.kwargs)._asdict()

    def loss(self, model: NeuralProgrammer, state: Any, batch: dict[str, jax.Array],
             key: jax.Array):
        del key
        losses = programmer_loss(run_model(model, batch), batch["scalar_answer"],
                                 batch["lookup_answer"], batch["is_lookup"],
                                 delta=self.config.loss.huber_delta,
                                 lookup_weight=self.config.loss.lookup_weight)
        return jnp.mean(losses), (jnp.mean(losses), state)

    def prepare_evaluation(self, graphdef: Any) -> None:
        data = self.config.data
        self.eval_batches = {
            split: [make_table_questions(np.random.default_rng((EVAL_SEED, k, i)),
                                         data.eval_batch_size, **self.kwargs)
                    for i in range(data.eval_batches)]
            for k, split in enumerate(("valid", "test"))}
        loss = self.loss
        count = len(self.kwargs["templates"])

        def sums(state: Any, batch: dict[str, jax.Array]) -> dict[str, jax.Array]:
            model = nnx.merge(graphdef, state)
            answers = (batch["scalar_answer"], batch["lookup_answer"], batch["is_lookup"])
            right = correct_answers(run_model(model, batch, hard=True), *answers)
            templates = jax.nn.one_hot(batch["template"], count)
            return {"loss": loss(model, None, batch, None)[0] * len(right),
                    "accuracy": jnp.sum(right),
                    "soft_accuracy": jnp.sum(correct_answers(run_model(model, batch), *answers)),
                    "template_right": right.astype(jnp.float32) @ templates,
                    "template_count": jnp.sum(templates, axis=0)}

        self.eval_step = jax.jit(sums)

    def evaluate(self, model: nnx.Module, split: str) -> dict[str, float]:
        state, totals = nnx.state(model), {}
        batches: list[TableQuestions] = self.eval_batches[split]
        for batch in batches:
            for key, value in self.eval_step(state, batch._asdict()).items():
                totals[key] = totals.get(key, 0.0) + np.asarray(value, np.float64)
        questions = sum(len(batch.table) for batch in batches)
        metrics = {key: float(totals[key]) / questions
                   for key in ("loss", "accuracy", "soft_accuracy")}
        if split == "test":
            for name, right, seen in zip(self.kwargs["templates"], totals["template_right"],
                                         totals["template_count"], strict=True):
                metrics[f"accuracy_{name}"] = float(right / seen) if seen else float("nan")
        return metrics

    def summary(self) -> dict[str, Any]:
        """The task and the model's parameter count (the model built abstractly)."""
        model = nnx.eval_shape(lambda: self.build_model(nnx.Rngs(0)))
        return {"task": "table_questions", "parameters": parameter_count(model)}


train_and_evaluate = launch.over_seeds(ProgrammerTask)
