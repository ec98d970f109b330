"""Train one cell on one long-range memory task: ``python -m experiments.memory --workdir=DIR
[--config=experiments/memory/configs.py:VARIANT] [--config.model.cell=KIND]``.

Without --config this is the default of configs.py (adding problem, T = 100, GRU, one seed).
The shared flags (--allow_changes, --traceback, multi-host) are in experiments/launch.py.
"""

from __future__ import annotations

from experiments import launch
from experiments.memory.train import train_and_evaluate

CONFIG = launch.define_config(__file__)


def main() -> None:
    launch.main(train_and_evaluate, CONFIG)


if __name__ == "__main__":
    main()
