"""Train and evaluate a language model: ``python -m experiments.lm --workdir=DIR [--config=...]``.

Without --config this is the char LSTM on the embedded Shakespeare corpus (a few minutes on a CPU).
Restarting with the same --workdir resumes from its latest checkpoint.
"""

from __future__ import annotations

from pathlib import Path

from absl import app, flags
from ml_collections import config_flags

from rnnjax.train import train_and_evaluate
from rnnjax.train.sharding import initialize_distributed

_CONFIG = config_flags.DEFINE_config_file(
    "config", str(Path(__file__).with_name("configs.py")),
    "Config file and variant, e.g. experiments/lm/configs.py:zaremba_small.", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints, metrics and results.",
                               required=True)
_COORDINATOR = flags.DEFINE_string("coordinator_address", None,
                                   "Multi-host: host:port of process 0 (jax.distributed).")
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", None, "Multi-host: number of processes.")
_PROCESS_ID = flags.DEFINE_integer("process_id", None, "Multi-host: this process's index.")


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    initialize_distributed(_COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value)
    train_and_evaluate(_CONFIG.value, _WORKDIR.value)


if __name__ == "__main__":
    app.run(main)
