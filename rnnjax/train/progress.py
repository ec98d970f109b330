"""How long a run will take: timed steps and evaluations, the estimate at the start, the ETA.

``RunClock`` times one session of a run with its ``clock`` (``time.perf_counter``; a test passes
a fake one). The first ``skip`` training steps of a session compile the step, so they are left out
of the rate; so is any later step slower than ``OUTLIER`` times the median of the timed ones (the
compilation for a new batch shape: a one-off, not the cost of the steps to come); the rate comes
from the last ``WINDOW`` timed steps. With s the mean of those step times and e the mean time of
an evaluation so far (0 before the first one),

    time left = (steps left) * s + (evaluations left) * e.

``ready`` turns true once ``sample`` steps after the skipped ones are timed: the harness then logs
the run's estimated time, and later an ETA with each epoch and every ``LOG_EVERY_SECONDS``.
"""

from __future__ import annotations

import collections
import statistics
import time
from collections.abc import Callable, Mapping

# A timed step slower than this many times the median of the timed steps is a compilation.
OUTLIER = 4.0
# The rate is measured over at most this many of the latest timed steps.
WINDOW = 1000
# The harness logs the progress and the ETA at most this often (besides each epoch's line).
LOG_EVERY_SECONDS = 60.0


def format_duration(seconds: float) -> str:
    """'42 s', '12 min 05 s', '3 h 07 min': rounded to the second, or to the minute past 1 h."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min"


def format_size(size: Mapping[str, int]) -> str:
    """{"examples": 3240, "tokens": 80919} -> '3,240 examples, 80,919 tokens'."""
    return ", ".join(f"{value:,} {name}" for name, value in size.items())


class RunClock:
    """Step and evaluation times of one session of a run, and its estimated time left."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter, *, skip: int = 1,
                 sample: int = 3):
        self.clock, self.skip, self.sample = clock, skip, sample
        self.count = 0  # steps timed, the skipped ones included
        # (seconds, units) of the latest steps after the skipped ones
        self.timed: collections.deque[tuple[float, int]] = collections.deque(maxlen=WINDOW)
        self.evaluation_seconds: list[float] = []
        self._started = 0.0

    def start(self) -> None:
        """Mark the start of a step or an evaluation."""
        self._started = self.clock()

    def step_done(self, units: int = 0) -> float:
        """A training step of ``units`` units (e.g. tokens) ended; its seconds."""
        seconds = self.clock() - self._started
        self.count += 1
        if self.count > self.skip:
            self.timed.append((seconds, units))
        return seconds

    def evaluation_done(self) -> float:
        """An evaluation ended; its seconds."""
        seconds = self.clock() - self._started
        self.evaluation_seconds.append(seconds)
        return seconds

    @property
    def ready(self) -> bool:
        """True once ``sample`` steps after the ``skip`` compiling ones are timed."""
        return self.count >= self.skip + self.sample

    def _typical(self) -> list[tuple[float, int]]:
        """The latest timed steps but compilations (those slower than ``OUTLIER`` x the
        median)."""
        if not self.timed:
            return []
        limit = OUTLIER * statistics.median(seconds for seconds, _ in self.timed)
        return [(seconds, units) for seconds, units in self.timed if seconds <= limit]

    def seconds_per_step(self) -> float:
        """The mean time of the typical steps (nan before any is timed)."""
        typical = self._typical()
        return sum(s for s, _ in typical) / len(typical) if typical else float("nan")

    def units_per_second(self) -> float:
        """Units trained per second of the typical steps (nan before any is timed)."""
        typical = self._typical()
        seconds = sum(s for s, _ in typical)
        return sum(u for _, u in typical) / seconds if seconds else float("nan")

    def seconds_per_evaluation(self) -> float:
        """The mean time of the evaluations so far (0 before the first)."""
        seconds = self.evaluation_seconds
        return sum(seconds) / len(seconds) if seconds else 0.0

    def time_left(self, steps: int, evaluations: int) -> float:
        """Seconds for ``steps`` more training steps and ``evaluations`` more evaluations."""
        return steps * self.seconds_per_step() + evaluations * self.seconds_per_evaluation()

    def estimate(self, steps: int, evaluations: int, unit: str) -> str:
        """The line logged once ``ready``: the time for ``steps`` steps and ``evaluations``
        evaluations, and what it rests on."""
        evaluation = (f"{format_duration(self.seconds_per_evaluation())} each"
                      if self.evaluation_seconds else "not timed yet")
        return (f"estimated time: {format_duration(self.time_left(steps, evaluations))} for "
                f"{steps:,} steps at {self.seconds_per_step():.3g} s/step "
                f"({self.units_per_second():,.0f} {unit}/s, from {len(self._typical())} steps "
                f"timed after compilation) and {evaluations} evaluations ({evaluation})")
