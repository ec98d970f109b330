"""Train parity with or without ACT: ``python -m experiments.act --workdir=DIR [--config=...]``.

Without --config this is the ACT RNN at tau = 1e-3; the variants of experiments/act/configs.py
are the rows of its table (tau from 1e-1 to 1e-4, and the RNN without ACT). The shared flags are
in experiments/launch.py.
"""

from __future__ import annotations

from experiments import launch
from experiments.act.train import train_and_evaluate

CONFIG = launch.define_config(__file__, "act_1e-3")


def main() -> None:
    launch.main(train_and_evaluate, CONFIG)


if __name__ == "__main__":
    main()
