"""Train the Neural Programmer: ``python -m experiments.programmer --workdir=DIR [--config=...]``.

Without --config this is the single-column table of experiments/programmer/configs.py; its
variants are the rows of the experiment's table. The shared flags are in experiments/launch.py.
"""

from __future__ import annotations

from experiments import launch
from experiments.programmer.train import train_and_evaluate

CONFIG = launch.define_config(__file__, "single")


def main() -> None:
    launch.main(train_and_evaluate, CONFIG)


if __name__ == "__main__":
    main()
