"""Percentiles and rates of the benchmark (beamit.bench.stats)."""

from __future__ import annotations

import pytest

from beamit.bench.stats import LatencySummary, percentile, rate


def test_percentile_interpolates_between_closest_ranks() -> None:
    samples = [4.0, 1.0, 3.0, 2.0]  # order does not matter
    assert percentile(samples, 0) == 1.0
    assert percentile(samples, 100) == 4.0
    assert percentile(samples, 50) == pytest.approx(2.5)
    assert percentile(samples, 95) == pytest.approx(3.85)


def test_percentile_matches_numpy_linear_method() -> None:
    numpy = pytest.importorskip("numpy")
    samples = [0.012, 0.5, 0.031, 0.029, 0.3, 0.011, 0.04, 0.028, 0.027, 1.2, 0.033]
    for q in (0, 5, 25, 50, 90, 95, 99, 100):
        assert percentile(samples, q) == pytest.approx(float(numpy.percentile(samples, q)))


def test_percentile_of_one_sample_is_that_sample() -> None:
    assert percentile([0.25], 95) == 0.25


@pytest.mark.parametrize("q", [-1, 100.5])
def test_percentile_refuses_q_outside_0_100(q: float) -> None:
    with pytest.raises(ValueError):
        percentile([1.0], q)


def test_percentile_refuses_no_samples() -> None:
    with pytest.raises(ValueError):
        percentile([], 50)


def test_latency_summary() -> None:
    summary = LatencySummary.of([float(i) for i in range(1, 101)])
    assert summary.count == 100
    assert summary.p50 == pytest.approx(50.5)
    assert summary.p95 == pytest.approx(95.05)


def test_rate() -> None:
    assert rate(300, 2.0) == 150
    with pytest.raises(ValueError):
        rate(1, 0)
