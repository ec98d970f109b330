"""Training: the task-agnostic harness ``run(task, workdir)`` and its parts (optimisers,
checkpoints, metrics, the workdir, data-parallel sharding)."""

from rnnjax.train.checkpoint import read_config, restore_params
from rnnjax.train.optim import learning_rate, make_optimizer
from rnnjax.train.run import Task, run, run_replicates

__all__ = ["Task", "learning_rate", "make_optimizer", "read_config", "restore_params", "run",
           "run_replicates"]
