"""Sign-in throttling: an exponential delay after repeated failures, then a lockout.

Two counters are kept for every attempt: one per account (tenant + normalized email,
whether or not such a user exists, so the answers never reveal which emails are
registered) and one per client IP (password spraying across accounts). After
``free_attempts`` consecutive failures each further attempt must wait
``base_delay * 2**(failures - free_attempts)`` (capped at ``max_delay``) after the last
failure; at ``lockout_after`` failures the counter is locked for ``lockout``. An attempt
made while blocked is refused without checking the password and is not counted, so it
is no oracle. A failure older than ``window`` (or a served lockout) starts a fresh count;
a successful sign-in clears the account counter (not the IP's: a spraying client with
one valid account of its own must not be able to reset it).

Counters live in ``login_throttle/{sha256(key)}``: the key itself (an email, an IP) is
not stored. The policy functions are pure and take ``now``, so they are unit-tested
without a clock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from beamit.clock import utcnow
from beamit.storage import MetadataStore, Transaction, Write

COLLECTION = "login_throttle"


@dataclass(frozen=True)
class ThrottlePolicy:
    free_attempts: int
    base_delay: timedelta
    max_delay: timedelta
    lockout_after: int
    lockout: timedelta
    window: timedelta


ACCOUNT_POLICY = ThrottlePolicy(
    free_attempts=3,
    base_delay=timedelta(seconds=1),
    max_delay=timedelta(seconds=60),
    lockout_after=10,
    lockout=timedelta(minutes=15),
    window=timedelta(minutes=15),
)
IP_POLICY = ThrottlePolicy(
    free_attempts=20,
    base_delay=timedelta(seconds=1),
    max_delay=timedelta(seconds=60),
    lockout_after=100,
    lockout=timedelta(minutes=15),
    window=timedelta(minutes=15),
)


@dataclass(frozen=True)
class ThrottleState:
    failures: int = 0
    last_failure: datetime | None = None
    locked_until: datetime | None = None

    @classmethod
    def from_record(cls, data: dict[str, Any] | None) -> ThrottleState:
        if not data:
            return cls()
        return cls(int(data.get("failures", 0)), data.get("lastFailureAt"), data.get("lockedUntil"))

    def to_record(self) -> dict[str, Any]:
        return {"failures": self.failures, "lastFailureAt": self.last_failure, "lockedUntil": self.locked_until}


def current(policy: ThrottlePolicy, state: ThrottleState, now: datetime) -> ThrottleState:
    """The state as it stands at ``now``: a served lockout or a stale count starts afresh."""
    if state.locked_until is not None:
        return ThrottleState() if now >= state.locked_until else state
    if state.last_failure is not None and now - state.last_failure > policy.window:
        return ThrottleState()
    return state


def blocked_until(policy: ThrottlePolicy, state: ThrottleState, now: datetime) -> datetime | None:
    """When the next attempt may be made, or ``None`` if it may be made now."""
    state = current(policy, state, now)
    if state.locked_until is not None:
        return state.locked_until
    if state.last_failure is None or state.failures < policy.free_attempts:
        return None
    delay = min(policy.base_delay * 2 ** (state.failures - policy.free_attempts), policy.max_delay)
    until = state.last_failure + delay
    return until if now < until else None


def after_failure(policy: ThrottlePolicy, state: ThrottleState, now: datetime) -> ThrottleState:
    state = current(policy, state, now)
    failures = state.failures + 1
    locked = now + policy.lockout if failures >= policy.lockout_after else None
    return ThrottleState(failures, now, locked)


def throttle_key(kind: str, *parts: str) -> str:
    """Document id of a counter: a digest, so emails and IPs are not stored."""
    return hashlib.sha256("\x1f".join((kind, *parts)).encode("utf-8")).hexdigest()


def account_counter(tenant_id: str, email: str) -> tuple[ThrottlePolicy, str]:
    return ACCOUNT_POLICY, throttle_key("account", tenant_id, email)


def ip_counter(ip: str) -> tuple[ThrottlePolicy, str]:
    return IP_POLICY, throttle_key("ip", ip)


Counter = tuple[ThrottlePolicy, str]


class LoginThrottle:
    """The counters of :mod:`beamit.auth.throttle` kept in the metadata store."""

    def __init__(self, store: MetadataStore, clock: Callable[[], datetime] = utcnow) -> None:
        self._store = store
        self._clock = clock

    def blocked(self, counters: Sequence[Counter]) -> datetime | None:
        """The latest time any of ``counters`` blocks until, or ``None``."""
        now = self._clock()
        records = self._store.get_many([f"{COLLECTION}/{key}" for _, key in counters])
        times = [
            until
            for (policy, _), data in zip(counters, records)
            if (until := blocked_until(policy, ThrottleState.from_record(data), now)) is not None
        ]
        return max(times) if times else None

    def record_failure(self, counters: Sequence[Counter]) -> None:
        now = self._clock()
        paths = [f"{COLLECTION}/{key}" for _, key in counters]

        def count(txn: Transaction) -> None:
            states = [ThrottleState.from_record(txn.get(path)) for path in paths]
            for (policy, _), path, state in zip(counters, paths, states):
                txn.write(Write("set", path, after_failure(policy, state, now).to_record()))

        self._store.run_transaction(count)

    def clear(self, counter: Counter) -> None:
        self._store.delete(f"{COLLECTION}/{counter[1]}")
