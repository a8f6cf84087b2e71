"""Training progress: which stage of how many, and about how long the rest will take.

The stages are known once the data is read: for each classifier, a fit to
validate (when validation is on and there are validation sites) and the
final fit; then the topic stage. The fits' cost grows with the segments
they learn from, so each stage is weighed by its segments (the topic stage
by its examples, times :data:`TOPIC_EXAMPLE_WEIGHT`), and the time left is
the time the stages done took per unit of weight times the weight to come.
The first estimate comes once the stages done have taken :data:`TIMED_ENOUGH`
seconds: before that, a fit's fixed costs outweigh its size and the pace
says little (a small run's first stage of 5 s announced 3 minutes to come
for a run that ended 13 s later), and the run is short anyway.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

# A topic example costs about as much to learn as this many segments (five folds and a final fit of
# calibrated per-tag models over a few thousand features; measured on the shipped model's data).
TOPIC_EXAMPLE_WEIGHT = 60.0
# Seconds of stages done before the time left is estimated.
TIMED_ENOUGH = 30.0


@dataclass
class Stage:
    name: str
    weight: float


@dataclass
class TrainingProgress:
    """Says each stage as it starts, numbered, with the time left once one stage has been timed."""

    say: Callable[[str], None]
    stages: list[Stage] = field(default_factory=list)
    clock: Callable[[], float] = time.monotonic
    _done: int = 0
    _timed_weight: float = 0.0
    _timed_seconds: float = 0.0
    _started: float | None = None

    def plan(self, name: str, weight: float) -> None:
        """Add a stage to come, weighed by what it learns from (segments, or topic examples times their weight)."""
        self.stages.append(Stage(name, max(float(weight), 1.0)))

    def start(self, detail: str = "") -> None:
        """The next planned stage starts: say so, with its number and the time left."""
        self._finish()
        stage = self.stages[self._done]
        line = f"[{self._done + 1}/{len(self.stages)}] {stage.name}"
        if detail:
            line += f": {detail}"
        left = self.seconds_left()
        if left is not None:
            line += f" (about {duration(left)} left)"
        self.say(line)
        self._started = self.clock()

    def finish(self) -> None:
        """The stage under way is over (call at the end; :meth:`start` ends the one before by itself)."""
        self._finish()

    def seconds_left(self) -> float | None:
        """Estimated seconds until the last stage ends; None until the stages done took :data:`TIMED_ENOUGH` s."""
        if not self._timed_weight or self._timed_seconds < TIMED_ENOUGH:
            return None
        to_come = sum(stage.weight for stage in self.stages[self._done :])
        return to_come * self._timed_seconds / self._timed_weight

    def _finish(self) -> None:
        if self._started is None:
            return
        self._timed_seconds += self.clock() - self._started
        self._timed_weight += self.stages[self._done].weight
        self._done += 1
        self._started = None


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"
