"""The ACT experiment's task: ``rnnjax.train.algorithmic.AlgorithmicTask`` on parity under the
name "act" (metrics: sequence error, and with ACT the mean ponder time N(t) per input)."""

from __future__ import annotations

from experiments import launch
from rnnjax.train.algorithmic import AlgorithmicTask


class ACTTask(AlgorithmicTask):
    experiment = "act"


train_and_evaluate = launch.over_seeds(ACTTask)
