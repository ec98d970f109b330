"""Train and evaluate a names model: ``python -m experiments.names --workdir=DIR [--config=...]``.

Without --config this is the char LSTM that classifies first names by country, 3 seeds (mean ±
std); ``--config=experiments/names/configs.py:generator`` trains the country-conditioned name
generator (then ``python -m experiments.names.sample``). The shared flags (--allow_changes,
--traceback, multi-host) are in experiments/launch.py.
"""

from __future__ import annotations

from experiments import launch
from experiments.names.tasks import train_and_evaluate

CONFIG = launch.define_config(__file__)


def main() -> None:
    launch.main(train_and_evaluate, CONFIG)


if __name__ == "__main__":
    main()
