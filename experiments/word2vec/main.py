"""Train word vectors (skip-gram, negative sampling): ``python -m experiments.word2vec
--workdir=DIR --config.data.path=FILE`` (any UTF-8 text), or a named corpus with
``--config=experiments/word2vec/configs.py:enwiki``.

Writes DIR/vectors.txt (word2vec text format) after every epoch. The shared flags
(--allow_changes, --traceback, multi-host) are in experiments/launch.py.
"""

from __future__ import annotations

from experiments import launch
from experiments.word2vec.train import train_and_evaluate

CONFIG = launch.define_config(__file__)


def main() -> None:
    launch.main(train_and_evaluate, CONFIG)


if __name__ == "__main__":
    main()
