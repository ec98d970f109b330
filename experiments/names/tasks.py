"""The names tasks by ``config.task``, and ``train_and_evaluate`` over ``config.seeds`` seeds."""

from __future__ import annotations

import ml_collections

from experiments.launch import over_seeds
from experiments.names.generate import NameGeneratorTask
from experiments.names.train import NameClassifierTask, NamesTask
from rnnjax.validation import check_choice

TASKS = {"classify": NameClassifierTask, "generate": NameGeneratorTask}


def make_task(config: ml_collections.ConfigDict) -> NamesTask:
    """The task of ``config.task``: "classify" or "generate"."""
    return TASKS[check_choice("names", "config.task", config.get("task"), TASKS)](config)


# train_and_evaluate(config, workdir, allow_changes): config.seeds replicates, or one run
train_and_evaluate = over_seeds(make_task)
