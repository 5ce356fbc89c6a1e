"""The retry schedule: about three days, jittered, postponed by Retry-After."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from beamit.webhooks.schedule import JITTER, MAX_ATTEMPTS, RETRY_DELAYS, parse_retry_after, retry_delay

NOW = datetime(2026, 2, 20, 10, 30, tzinfo=UTC)


def test_schedule_starts_like_standard_webhooks_and_lasts_about_three_days():
    assert [d.total_seconds() for d in RETRY_DELAYS[:7]] == [5, 300, 1800, 7200, 18000, 36000, 36000]
    total = sum(RETRY_DELAYS, timedelta())
    assert timedelta(days=2, hours=20) < total < timedelta(days=3)
    assert MAX_ATTEMPTS == 11


def test_each_delay_is_jittered_within_bounds():
    rng = random.Random(7)
    for failed, base in enumerate(RETRY_DELAYS, start=1):
        delays = {retry_delay(failed, rng=rng) for _ in range(50)}
        assert all(base * (1 - JITTER) <= d <= base * (1 + JITTER) for d in delays)
        assert len(delays) > 1  # actually random


def test_the_schedule_ends():
    assert retry_delay(len(RETRY_DELAYS) + 1) is None
    assert retry_delay(0) is None


def test_retry_after_postpones_but_never_shortens_and_is_capped():
    rng = random.Random(1)
    assert retry_delay(1, retry_after=timedelta(minutes=10), rng=rng) == timedelta(minutes=10)
    assert retry_delay(4, retry_after=timedelta(seconds=1), rng=rng) >= RETRY_DELAYS[3] * (1 - JITTER)
    assert retry_delay(1, retry_after=timedelta(days=30), rng=rng) == timedelta(days=1)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", timedelta(seconds=120)),
        (" 0 ", timedelta(0)),
        ("Fri, 20 Feb 2026 10:35:00 GMT", timedelta(minutes=5)),
        ("Fri, 20 Feb 2026 10:00:00 GMT", timedelta(0)),  # in the past
        ("soon", None),
        ("-5", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(header, expected):
    assert parse_retry_after(header, NOW) == expected
