"""Train and evaluate a sentence classifier on every fold x seed:
``python -m experiments.classify --config=experiments/classify/configs.py:VARIANT --workdir=DIR``.

Without --config this is the BiLSTM (GloVe 50d) on the MR subset. The shared flags
(--allow_changes, --traceback, multi-host) are in experiments/launch.py.
"""

from __future__ import annotations

from experiments import launch
from experiments.classify.train import train_and_evaluate

CONFIG = launch.define_config(__file__)


def main() -> None:
    launch.main(train_and_evaluate, CONFIG)


if __name__ == "__main__":
    main()
