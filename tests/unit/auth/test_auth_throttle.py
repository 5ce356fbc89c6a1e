"""Throttles: free attempts, exponential delay, the quota of a window; counting before evaluating."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from beamit.auth import rate_limits
from beamit.auth.throttle import (
    ACCOUNT_POLICY,
    IP_POLICY,
    LoginThrottle,
    account_counter,
    ip_counter,
    refused_until,
)
from tests.memory_store import MemoryStore

T0 = datetime(2026, 2, 20, 10, 0, tzinfo=UTC)  # a window start of both sign-in policies


def test_first_attempts_are_free():
    for attempt in range(1, ACCOUNT_POLICY.free_attempts + 1):
        assert refused_until(ACCOUNT_POLICY, attempt, T0, T0) is None


def test_each_further_attempt_waits_twice_as_long_up_to_the_cap():
    waits = [ACCOUNT_POLICY.delay(n) - ACCOUNT_POLICY.delay(n - 1) for n in range(4, 11)]
    assert [w.total_seconds() for w in waits] == [1, 2, 4, 8, 16, 32, 60]
    assert refused_until(ACCOUNT_POLICY, 4, T0, T0) == T0 + timedelta(seconds=1)
    assert refused_until(ACCOUNT_POLICY, 4, T0, T0 + timedelta(seconds=1)) is None  # waiting is enough


def test_the_quota_of_a_window_then_nothing_until_it_ends():
    end = T0 + ACCOUNT_POLICY.window
    late = T0 + timedelta(minutes=14)
    assert refused_until(ACCOUNT_POLICY, 10, T0, late) is None
    assert refused_until(ACCOUNT_POLICY, 11, T0, late) == end
    # A new window starts afresh.
    assert refused_until(ACCOUNT_POLICY, 1, end, end) is None


def test_ip_policy_is_looser_than_account_policy():
    assert refused_until(IP_POLICY, IP_POLICY.free_attempts, T0, T0) is None
    assert IP_POLICY.lockout_after > ACCOUNT_POLICY.lockout_after


def test_attempts_are_counted_before_they_are_checked_and_released_on_success():
    store, now = MemoryStore(), [T0]
    throttle = LoginThrottle(store, clock=lambda: now[0])
    account, ip = account_counter("acme", "ana@acme.example"), ip_counter("203.0.113.9")
    for _ in range(3):
        assert throttle.reserve([account, ip]).allowed
    # The fourth is refused: a second has not passed since the first attempt.
    refused = throttle.reserve([account, ip])
    assert refused.refused_until == T0 + timedelta(seconds=1) and not refused.counted
    assert store.get(account.path(T0))["attempts"] == 3  # refused from the read: not counted, no write
    now[0] += timedelta(seconds=1)
    success = throttle.reserve([account, ip])
    assert success.allowed
    throttle.release(success, clear=[account])
    assert store.get(account.path(T0)) is None and store.get(ip.path(T0))["attempts"] == 3
    assert throttle.reserve([account]).allowed


def test_parallel_attempts_that_all_passed_the_read_are_sorted_by_their_count():
    """Five requests read 2 attempts so far, then each draws its number: only the third is free."""
    store = MemoryStore()
    throttle = LoginThrottle(store, clock=lambda: T0)
    account = account_counter("acme", "ana@acme.example")
    store.set(account.path(T0), {"attempts": 2, "firstAt": int(T0.timestamp() * 1000)})
    reads = store.get_many
    store.get_many = lambda paths, fields=None: [{"attempts": 2, "firstAt": int(T0.timestamp() * 1000)}]
    outcomes = [throttle.reserve([account]) for _ in range(5)]
    store.get_many = reads
    assert [o.allowed for o in outcomes] == [True, False, False, False, False]
    assert all(o.counted for o in outcomes) and store.get(account.path(T0))["attempts"] == 7


def test_each_reservation_reports_its_standing():
    store = MemoryStore()
    throttle = LoginThrottle(store, clock=lambda: T0 + timedelta(minutes=5))
    token = rate_limits.begin_request()
    throttle.reserve([account_counter("acme", "ana@acme.example")])
    limits = rate_limits.end_request(token)
    assert rate_limits.fields(limits) == {
        "RateLimit-Policy": '"sign-in-account";q=10;w=900',
        "RateLimit": '"sign-in-account";r=9;t=600',
    }
