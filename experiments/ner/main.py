"""Train and evaluate a named-entity tagger: ``python -m experiments.ner --workdir=DIR
[--config=...]``.

Without --config this is the BiLSTM-CRF on CoNLL-2003 English, one seed, 3 epochs, tested on
testb; it prints the entity-level F1. The table's rows are the variants of configs.py. The shared
flags (--allow_changes, --traceback, multi-host) are in experiments/launch.py.
"""

from __future__ import annotations

from experiments import launch
from experiments.ner.train import train_and_evaluate

CONFIG = launch.define_config(__file__)


def main() -> None:
    launch.main(train_and_evaluate, CONFIG)


if __name__ == "__main__":
    main()
