"""Time budgets: every phase and every request loop of the benchmark is bounded."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

Clock = Callable[[], float]


class Deadline:
    """A point in time, ``seconds`` from now on ``clock`` (monotonic by default)."""

    def __init__(self, seconds: float, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._end = clock() + seconds

    def remaining(self) -> float:
        return max(0.0, self._end - self._clock())

    def expired(self) -> bool:
        return self._clock() >= self._end

    def within(self, seconds: float) -> Deadline:
        """A deadline ``seconds`` from now, but never later than this one."""
        return Deadline(min(seconds, self.remaining()), self._clock)


def bounded(count: int, deadline: Deadline, minimum: int = 1) -> Iterator[int]:
    """``0 .. count - 1``, stopping early once ``deadline`` has passed (after at least ``minimum``)."""
    for index in range(count):
        if index >= minimum and deadline.expired():
            return
        yield index
