"""Train and evaluate a POS tagger: ``python -m experiments.tagging --workdir=DIR [--config=...]``.

Without --config this is a bidirectional LSTM on the OANC sample, 3 seeds (mean ± std), tested on
the OANC test split and on the WSJ sample. The shared flags (--allow_changes, --traceback,
multi-host) are in experiments/launch.py.
"""

from __future__ import annotations

from experiments import launch
from experiments.tagging.train import train_and_evaluate

CONFIG = launch.define_config(__file__)


def main() -> None:
    launch.main(train_and_evaluate, CONFIG)


if __name__ == "__main__":
    main()
