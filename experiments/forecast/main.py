"""Train an RNN forecaster and score it against the statistical baselines:
``python -m experiments.forecast --workdir=DIR [--config=...] [--config.data.path=FILE]``.

Without --config this is a 1 x 64 LSTM with a quantile head on the monthly air-passenger series,
one seed. The shared flags (--allow_changes, --traceback, multi-host) are in
experiments/launch.py.
"""

from __future__ import annotations

from experiments import launch
from experiments.forecast.train import train_and_evaluate

CONFIG = launch.define_config(__file__)


def main() -> None:
    launch.main(train_and_evaluate, CONFIG)


if __name__ == "__main__":
    main()
