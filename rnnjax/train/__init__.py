"""Training: the task-agnostic harness ``run(task, workdir)`` and its parts (replicates and
grids, shared data helpers, optimisers, checkpoints, metrics, the workdir, data-parallel
sharding)."""

from rnnjax.train.checkpoint import read_config, restore_params
from rnnjax.train.optim import learning_rate, make_optimizer
from rnnjax.train.replicates import (
    replicate_list,
    run_experiment,
    run_grid,
    run_replicates,
)
from rnnjax.train.run import Task, run

__all__ = ["Task", "learning_rate", "make_optimizer", "read_config", "replicate_list",
           "restore_params", "run", "run_experiment", "run_grid", "run_replicates"]
