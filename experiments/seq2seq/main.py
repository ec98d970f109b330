"""Train and evaluate a translation model: ``python -m experiments.seq2seq --workdir=DIR``.

    python -m experiments.seq2seq --workdir=DIR --config.data.path=pairs.tsv    # your file
    python -m experiments.seq2seq --config=experiments/seq2seq/configs.py:dec4_resd --workdir=DIR

Without --config this is the default attention model (configs.py:default) on the prepared
trans_de_en pairs, or on ``--config.data.path`` (source<TAB>target lines). The shared flags
(--allow_changes, --traceback, multi-host) are in experiments/launch.py; the depth grid with
three seeds per row is ``python -m experiments.seq2seq.grid``.
"""

from __future__ import annotations

from experiments import launch
from experiments.seq2seq.train import train_and_evaluate

CONFIG = launch.define_config(__file__)


def main() -> None:
    launch.main(train_and_evaluate, CONFIG)


if __name__ == "__main__":
    main()
