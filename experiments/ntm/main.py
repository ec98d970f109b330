"""Train an NTM task: ``python -m experiments.ntm --workdir=DIR [--config=...]``.

Without --config this is the NTM (LSTM controller) on the copy task; the variants of
experiments/ntm/configs.py are the rows of its table (NTM and the 3 x 256 LSTM baseline on copy,
repeat copy and associative recall). The shared flags are in experiments/launch.py.
"""

from __future__ import annotations

from experiments import launch
from experiments.ntm.train import train_and_evaluate

CONFIG = launch.define_config(__file__, "copy_ntm")


def main() -> None:
    launch.main(train_and_evaluate, CONFIG)


if __name__ == "__main__":
    main()
