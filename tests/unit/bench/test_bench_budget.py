"""Time budgets of the benchmark (beamit.bench.budget, beamit.bench.run.phase_budget)."""

from __future__ import annotations

from beamit.bench.budget import Deadline, bounded
from beamit.bench.run import PHASES, phase_budget


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_deadline() -> None:
    clock = FakeClock()
    deadline = Deadline(10, clock)
    assert deadline.remaining() == 10 and not deadline.expired()
    clock.now += 10
    assert deadline.remaining() == 0 and deadline.expired()


def test_within_never_extends_a_deadline() -> None:
    clock = FakeClock()
    outer = Deadline(10, clock)
    assert outer.within(5).remaining() == 5
    assert outer.within(60).remaining() == 10


def test_bounded_stops_at_count_or_deadline_after_the_minimum() -> None:
    clock = FakeClock()
    deadline = Deadline(3, clock)
    seen = []
    for index in bounded(100, deadline):
        seen.append(index)
        clock.now += 1
    assert seen == [0, 1, 2]
    assert list(bounded(3, Deadline(60, clock))) == [0, 1, 2]
    assert list(bounded(5, Deadline(0, clock))) == [0]  # at least one sample
    assert list(bounded(5, Deadline(0, clock), minimum=0)) == []


def test_phase_budget_gives_a_phase_what_earlier_phases_left() -> None:
    nominal = {name: 10.0 for name, _ in PHASES}
    later = 10.0 * (len(PHASES) - 1)
    first = PHASES[0][0]
    assert phase_budget(nominal, first, later + 10) == 10
    assert phase_budget(nominal, first, later + 70) == 70
    assert phase_budget(nominal, first, 5) == 10  # behind schedule: the nominal budget (the run's deadline caps it)
    assert phase_budget(nominal, PHASES[-1][0], 42) == 42
