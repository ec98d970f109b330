"""Training: ``train_and_evaluate(config, workdir)`` and its parts (optimisers, checkpoints,
metrics, data-parallel sharding)."""

from rnnjax.train.checkpoint import load_model, read_config
from rnnjax.train.loop import train_and_evaluate
from rnnjax.train.optim import learning_rate, make_optimizer

__all__ = ["learning_rate", "load_model", "make_optimizer", "read_config", "train_and_evaluate"]
