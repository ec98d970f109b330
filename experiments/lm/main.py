"""Train and evaluate a language model: ``python -m experiments.lm --workdir=DIR [--config=...]``.

Without --config this is the char LSTM on the embedded Shakespeare corpus (a few minutes on a CPU).
The shared flags (--allow_changes, --traceback, multi-host) are in experiments/launch.py.
"""

from __future__ import annotations

from experiments import launch
from experiments.lm.train import train_and_evaluate

CONFIG = launch.define_config(__file__)


def main() -> None:
    launch.main(train_and_evaluate, CONFIG)


if __name__ == "__main__":
    main()
