"""The run's time estimate: its arithmetic on a fake clock, the data size of the start line, and
the start, estimate and time-left lines of a real (toy) run."""

from __future__ import annotations

import logging
import re

import numpy as np
import pytest
from toy_task import ToyTask, toy_config

from rnnjax.data.batching import LMBatches
from rnnjax.data.padded import PaddedBatches
from rnnjax.train.progress import RunClock, format_duration, format_size
from rnnjax.train.replicates import run_replicates
from rnnjax.train.run import run


class FakeClock:
    """A clock that stands still until the test advances it."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def timed(clock: RunClock, fake: FakeClock, seconds: list[float], units: int = 100) -> None:
    for duration in seconds:
        clock.start()
        fake.advance(duration)
        clock.step_done(units)


def test_the_estimate_leaves_out_compilations_and_adds_the_evaluations():
    fake = FakeClock()
    clock = RunClock(fake, skip=1, sample=3)
    timed(clock, fake, [30.0, 2.0, 1.0])  # the first step compiles
    assert not clock.ready and clock.seconds_per_step() == pytest.approx(1.5)
    timed(clock, fake, [3.0, 40.0, 2.0])  # 40 s: a new shape compiles (> 4 x the median 2)
    assert clock.ready
    assert clock.seconds_per_step() == pytest.approx((2 + 1 + 3 + 2) / 4)
    assert clock.units_per_second() == pytest.approx(400 / 8)
    # no evaluation timed yet: the steps alone
    assert clock.time_left(100, 3) == pytest.approx(200.0)
    for seconds in (10.0, 14.0):
        clock.start()
        fake.advance(seconds)
        clock.evaluation_done()
    assert clock.seconds_per_evaluation() == pytest.approx(12.0)
    assert clock.time_left(100, 3) == pytest.approx(100 * 2.0 + 3 * 12.0)
    line = clock.estimate(100, 3, "tokens")
    assert line.startswith("estimated time: 3 min 56 s for 100 steps at 2 s/step (50 tokens/s")
    assert "4 steps timed after compilation) and 3 evaluations (12 s each)" in line


@pytest.mark.parametrize(("seconds", "text"), [
    (0.4, "0 s"), (42.4, "42 s"), (725, "12 min 05 s"), (3599.6, "1 h 00 min"),
    (3 * 3600 + 7 * 60 + 10, "3 h 07 min")])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_the_default_data_size_reads_the_training_batches():
    task = ToyTask(toy_config())
    assert task.data_size() == {}
    lengths = [3, 5, 2, 7, 1]
    task.train_batches = PaddedBatches(
        {"tokens": [np.arange(1, n + 1) for n in lengths], "label": np.zeros(5, np.int32)}, 2,
        shuffle=True)
    assert task.data_size() == {"examples": 5, "tokens": sum(lengths)}
    task.train_batches = LMBatches(np.arange(103), batch_size=4, bptt=5)
    # 4 streams of 103 // 4 = 25 tokens, each with 24 (input, target) steps
    assert task.data_size() == {"tokens": 4 * 24}
    assert format_size({"examples": 3240, "tokens": 80919}) == "3,240 examples, 80,919 tokens"


def test_a_run_logs_its_start_its_estimate_and_the_time_left(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="absl")
    config = toy_config(num_epochs=3)  # 3 epochs of 8 steps
    run(ToyTask(config), tmp_path)
    lines = [r.getMessage() for r in caplog.records]
    start = [line for line in lines if line.startswith("training on")]
    assert start == ["training on data of unreported size: 3 epochs of 8 steps, 24 steps to go; "
                     "the time estimate follows after 4 steps"]
    estimates = [line for line in lines if line.startswith("estimated time:")]
    assert len(estimates) == 1 and " for 20 steps at " in estimates[0]  # after step 4 of 24
    assert "and 4 evaluations (not timed yet)" in estimates[0]  # 3 validations and the test
    epochs = [line for line in lines if line.startswith("epoch ")]
    assert len(epochs) == 3
    assert all(" left" in line for line in epochs[:2]) and " left" not in epochs[2]


def test_replicates_log_the_time_left_from_the_ones_run(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="absl")
    run_replicates(ToyTask, toy_config(num_epochs=1), tmp_path, [{"seed": s} for s in range(3)])
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("replicate ")]
    assert len(lines) == 2  # none before the first: nothing is timed yet
    assert re.fullmatch(r"replicate 2/3 \(seed1\): 2 to go, about \d+ s left "
                        r"\(\d+ s each so far\)", lines[0])
    # one to go: the time left is the mean of the two run
    assert re.fullmatch(r"replicate 3/3 \(seed2\): 1 to go, about (\d+) s left "
                        r"\(\1 s each so far\)", lines[1])
