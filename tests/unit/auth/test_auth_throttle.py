"""Sign-in throttling: free attempts, exponential delay, lockout, reset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from beamit.auth.throttle import (
    ACCOUNT_POLICY,
    IP_POLICY,
    LoginThrottle,
    ThrottleState,
    account_counter,
    after_failure,
    blocked_until,
    ip_counter,
)
from tests.memory_store import MemoryStore

T0 = datetime(2026, 2, 20, 10, 0, tzinfo=UTC)


def fail(times: int, start: datetime = T0, gap: timedelta = timedelta(0)) -> ThrottleState:
    state, now = ThrottleState(), start
    for _ in range(times):
        state = after_failure(ACCOUNT_POLICY, state, now)
        now += gap
    return state


def test_first_failures_are_free():
    for failures in range(ACCOUNT_POLICY.free_attempts):
        assert blocked_until(ACCOUNT_POLICY, fail(failures), T0) is None


def test_delay_doubles_then_caps():
    delays = []
    for failures in range(3, 10):
        state = fail(failures)
        until = blocked_until(ACCOUNT_POLICY, state, T0)
        assert until is not None
        delays.append((until - T0).total_seconds())
        assert blocked_until(ACCOUNT_POLICY, state, until) is None  # waiting is enough
    assert delays == [1, 2, 4, 8, 16, 32, 60]


def test_lockout_after_ten_failures_for_fifteen_minutes():
    state = fail(10)
    assert state.locked_until == T0 + timedelta(minutes=15)
    assert blocked_until(ACCOUNT_POLICY, state, T0 + timedelta(minutes=14, seconds=59)) == state.locked_until
    assert blocked_until(ACCOUNT_POLICY, state, T0 + timedelta(minutes=15)) is None
    # After a served lockout the count starts again.
    assert after_failure(ACCOUNT_POLICY, state, T0 + timedelta(minutes=16)).failures == 1


def test_old_failures_are_forgotten():
    state = fail(5)
    later = T0 + ACCOUNT_POLICY.window + timedelta(seconds=1)
    assert blocked_until(ACCOUNT_POLICY, state, later) is None
    assert after_failure(ACCOUNT_POLICY, state, later).failures == 1


def test_ip_policy_is_looser_than_account_policy():
    state = ThrottleState()
    for _ in range(IP_POLICY.free_attempts - 1):
        state = after_failure(IP_POLICY, state, T0)
    assert blocked_until(IP_POLICY, state, T0) is None


def test_store_counts_per_account_and_ip_and_clears_the_account():
    store, now = MemoryStore(), [T0]
    throttle = LoginThrottle(store, clock=lambda: now[0])
    account, ip = account_counter("acme", "ana@acme.example"), ip_counter("203.0.113.9")
    for _ in range(3):
        assert throttle.blocked([account, ip]) is None
        throttle.record_failure([account, ip])
    assert throttle.blocked([account, ip]) == T0 + timedelta(seconds=1)
    now[0] += timedelta(seconds=1)
    assert throttle.blocked([account, ip]) is None
    throttle.clear(account)
    assert throttle.blocked([account]) is None
    assert store.get(f"login_throttle/{ip[1]}")["failures"] == 3  # the IP's count stays
    # Neither the email nor the IP is stored.
    assert "ana@acme.example" not in str(store.docs) and "203.0.113.9" not in str(store.docs)
