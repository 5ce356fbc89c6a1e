"""Throttles of guessing: sign-in, share codes, one-time codes. An attempt is counted before it
is evaluated, so parallel guesses cannot all pass one check.

A counter is kept per key (an account: tenant + normalized email, whether or not such a user
exists, so answers never reveal which emails are registered; a client IP; ...) and fixed
window of its policy (15 minutes, an hour). Within a window, attempt number ``n`` may be made
``delay(n)`` after the window's first attempt: the first ``free_attempts`` at once, each
further one ``base_delay * 2**k`` (capped at ``max_delay``) later than the one before; after
``lockout_after`` attempts none until the window ends. ``lockout_after`` per ``window`` is the
quota the ``RateLimit`` fields advertise (:mod:`beamit.auth.rate_limits`).

**Count first, then evaluate.** :meth:`LoginThrottle.reserve` adds one to the counter with an
atomic Firestore increment that returns the new count (``commit_transforms``: no transaction,
so no contention retries) and keeps the window's first time with a ``minimum`` transform; the
attempt goes ahead only if the number it drew is allowed now. Twenty parallel guesses draw
twenty different numbers, and only the first ``free_attempts`` (plus those whose delay has
passed) are evaluated. A caller whose attempt succeeds :meth:`~LoginThrottle.release`\\ s it:
the count goes back down (sign-in clears the account's counter: a spraying client with one
valid account must not reset the IP's).

**Writes stay bounded.** Before counting, the counter is read: an attempt that would be refused
anyway is refused without a write, and is no oracle (nothing is checked). So a counter document
takes at most ``lockout_after`` increments (and their releases) per window plus one per request
that was in flight when the limit was reached: a burst, never Firestore's sustained one write
per second per document for long. Counter documents are ``login_throttle/{sha256(key)}-{window}``
(the key itself, an email or an IP, is not stored), with ``expiresAt`` for a Firestore TTL policy
(terraform/firestore_fields.tf).

The policy functions are pure and take ``now``, so they are unit-tested without a clock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from beamit.auth import rate_limits
from beamit.auth.rate_limits import QuotaPolicy, ServiceLimit
from beamit.clock import utcnow
from beamit.storage import Increment, MetadataStore, Minimum, Write

COLLECTION = "login_throttle"
RETAIN = timedelta(days=1)
"""How long after its window a counter document is kept (``expiresAt``, the TTL policy's field)."""


@dataclass(frozen=True)
class ThrottlePolicy:
    name: str
    """The policy's name in the ``RateLimit`` fields."""
    free_attempts: int
    base_delay: timedelta
    max_delay: timedelta
    lockout_after: int
    window: timedelta

    @property
    def quota(self) -> QuotaPolicy:
        return QuotaPolicy(self.name, self.lockout_after, int(self.window.total_seconds()))

    def delay(self, attempt: int) -> timedelta | None:
        """How long after the window's first attempt attempt number ``attempt`` (1-based) may be
        made; ``None`` once ``lockout_after`` attempts are used up."""
        if attempt > self.lockout_after:
            return None
        total = timedelta(0)
        for k in range(max(0, attempt - self.free_attempts)):
            total += min(self.base_delay * 2**k, self.max_delay)
        return total

    def window_start(self, now: datetime) -> datetime:
        seconds = self.window.total_seconds()
        return datetime.fromtimestamp(now.timestamp() // seconds * seconds, UTC)

    def window_end(self, now: datetime) -> datetime:
        return self.window_start(now) + self.window


ACCOUNT_POLICY = ThrottlePolicy(
    name="sign-in-account",
    free_attempts=3,
    base_delay=timedelta(seconds=1),
    max_delay=timedelta(seconds=60),
    lockout_after=10,
    window=timedelta(minutes=15),
)
IP_POLICY = ThrottlePolicy(
    name="sign-in-ip",
    free_attempts=20,
    base_delay=timedelta(seconds=1),
    max_delay=timedelta(seconds=60),
    lockout_after=100,
    window=timedelta(minutes=15),
)


def refused_until(policy: ThrottlePolicy, attempt: int, first: datetime, now: datetime) -> datetime | None:
    """When attempt number ``attempt`` of the window whose first attempt was at ``first`` may be
    made, if not ``now`` (``None``: it may)."""
    end = policy.window_end(now)
    delay = policy.delay(attempt)
    if delay is None or first + delay >= end:
        return end
    return first + delay if now < first + delay else None


def throttle_key(kind: str, *parts: str) -> str:
    """The digest naming a counter: emails and IPs are not stored."""
    return hashlib.sha256("\x1f".join((kind, *parts)).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Counter:
    policy: ThrottlePolicy
    key: str

    def path(self, now: datetime) -> str:
        window = int(self.policy.window_start(now).timestamp() // self.policy.window.total_seconds())
        return f"{COLLECTION}/{self.key}-{window}"


def account_counter(tenant_id: str, email: str) -> Counter:
    return Counter(ACCOUNT_POLICY, throttle_key("account", tenant_id, email))


def ip_counter(ip: str) -> Counter:
    return Counter(IP_POLICY, throttle_key("ip", ip))


@dataclass(frozen=True)
class Reservation:
    """An attempt, counted (``counted``) or refused before counting; ``refused_until``: when to
    try again if it may not go ahead (``None``: it may)."""

    counters: tuple[Counter, ...]
    paths: tuple[str, ...]
    counted: bool
    refused_until: datetime | None

    @property
    def allowed(self) -> bool:
        return self.refused_until is None


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _moment(millis: Any, default: datetime) -> datetime:
    return datetime.fromtimestamp(int(millis) / 1000, UTC) if isinstance(millis, int) else default


class LoginThrottle:
    """The counters of :mod:`beamit.auth.throttle` kept in the metadata store."""

    def __init__(self, store: MetadataStore, clock: Callable[[], datetime] = utcnow) -> None:
        self._store = store
        self._clock = clock

    def reserve(self, counters: Sequence[Counter]) -> Reservation:
        """Count an attempt on every counter, or refuse it (``refused_until``) without counting when
        the counts already refuse it; reports each counter's standing (:func:`rate_limits.report`)."""
        now = self._clock()
        paths = tuple(counter.path(now) for counter in counters)
        seen = [(int((r or {}).get("attempts") or 0), _moment((r or {}).get("firstAt"), now))
                for r in self._store.get_many(list(paths))]
        blocked = [refused_until(c.policy, n + 1, first, now) for c, (n, first) in zip(counters, seen)]
        if any(until is not None for until in blocked):
            self._report(counters, [n for n, _ in seen], now)
            return Reservation(tuple(counters), paths, False, max(u for u in blocked if u is not None))
        results = self._store.commit_transforms([
            Write("merge", path, {"attempts": Increment(1), "firstAt": Minimum(_millis(now)),
                                  "expiresAt": counter.policy.window_end(now) + RETAIN})
            for counter, path in zip(counters, paths)
        ])
        drawn = [(int(r["attempts"]), _moment(r["firstAt"], now)) for r in results]
        verdicts = [refused_until(c.policy, n, first, now) for c, (n, first) in zip(counters, drawn)]
        self._report(counters, [n for n, _ in drawn], now)
        refused = [until for until in verdicts if until is not None]
        return Reservation(tuple(counters), paths, True, max(refused) if refused else None)

    def release(self, reservation: Reservation, *, clear: Sequence[Counter] = ()) -> None:
        """The attempt succeeded: take it off the counts again; ``clear`` counters start afresh."""
        if not reservation.counted:
            return
        refunds = [Write("merge", path, {"attempts": Increment(-1)})
                   for counter, path in zip(reservation.counters, reservation.paths) if counter not in clear]
        if refunds:
            self._store.commit_transforms(refunds)
        for counter, path in zip(reservation.counters, reservation.paths):
            if counter in clear:
                self._store.delete(path)

    @staticmethod
    def _report(counters: Sequence[Counter], attempts: Sequence[int], now: datetime) -> None:
        rate_limits.report(*(
            ServiceLimit(c.policy.quota, c.policy.lockout_after - n,
                         rate_limits.seconds_until(c.policy.window_end(now), now))
            for c, n in zip(counters, attempts)
        ))
