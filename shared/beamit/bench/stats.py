"""Summaries of timing samples: percentiles and rates."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``samples``, interpolating linearly between closest
    ranks (the "linear" method of numpy and of Hyndman & Fan's definition 7)."""
    if not samples:
        raise ValueError("no samples")
    if not 0 <= q <= 100:
        raise ValueError("q must be in [0, 100]")
    ordered = sorted(samples)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class LatencySummary:
    """p50 and p95 of a set of request latencies, in seconds."""

    count: int
    p50: float
    p95: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> LatencySummary:
        return cls(len(samples), percentile(samples, 50), percentile(samples, 95))


def rate(amount: float, seconds: float) -> float:
    """``amount`` per second; ``seconds`` must be positive."""
    if seconds <= 0:
        raise ValueError("seconds must be positive")
    return amount / seconds
