"""The rate limits a request met, as the ``RateLimit-Policy`` and ``RateLimit`` fields of its answer.

Syntax of draft-ietf-httpapi-ratelimit-headers-10 (September 2025; §3 RateLimit-Policy, §4
RateLimit): Structured Field Values (RFC 9651) Lists of Items whose value is a String naming
the policy, with Integer parameters (revisions -11 and -12 followed in 2026: check them against
this when the fields change)::

    RateLimit-Policy: "share-code-ip";q=30;w=3600
    RateLimit: "share-code-ip";r=27;t=1800

``q`` is the quota of a policy, ``w`` its window in seconds; ``r`` what is left of it and ``t``
the seconds until more is available. A refusal is a 429 with ``Retry-After`` (RFC 9110 §10.2.3).

The throttles (:mod:`beamit.auth.throttle`), the share-link limits (:mod:`beamit.shares.access`)
and the API-key budget (:mod:`beamit.auth.key_budget`) :func:`report` each limit they apply; the
router (:mod:`beamit.web.router`) writes what a request reported onto its response, whatever the
status, as the request id is carried for the logs.
"""

from __future__ import annotations

import contextvars
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

_POLICY_NAME = re.compile(r"^[a-z][a-z0-9-]{0,40}$")


@dataclass(frozen=True)
class QuotaPolicy:
    """A quota policy (``RateLimit-Policy`` item): ``quota`` units per ``window`` seconds
    (``None``: no window, e.g. the wrong one-time codes a share allows)."""

    name: str
    quota: int
    window: int | None = None

    def __post_init__(self) -> None:
        if not _POLICY_NAME.match(self.name) or self.quota < 0 or (self.window is not None and self.window < 1):
            raise ValueError(f"invalid quota policy {self!r}")

    def item(self) -> str:
        window = f";w={self.window}" if self.window is not None else ""
        return f'"{self.name}";q={self.quota}{window}'


@dataclass(frozen=True)
class ServiceLimit:
    """Where a request stands in a policy (``RateLimit`` item): ``remaining`` units, more in
    ``reset`` seconds (``None``: not by waiting)."""

    policy: QuotaPolicy
    remaining: int
    reset: int | None = None

    def item(self) -> str:
        reset = f";t={self.reset}" if self.reset is not None else ""
        return f'"{self.policy.name}";r={max(0, self.remaining)}{reset}'


def seconds_until(moment: datetime, now: datetime) -> int:
    """Whole seconds from ``now`` to ``moment``, rounded up (``Retry-After`` and ``t``), at least 0."""
    return max(0, math.ceil((moment - now).total_seconds()))


def retry_after(moment: datetime, now: datetime) -> dict[str, str]:
    """The ``Retry-After`` header of a refusal until ``moment`` (at least one second)."""
    return {"Retry-After": str(max(1, seconds_until(moment, now)))}


_reported: contextvars.ContextVar[tuple[ServiceLimit, ...]] = contextvars.ContextVar("rate_limits", default=())


def report(*limits: ServiceLimit) -> None:
    """Record limits the current request met (a later report of a policy replaces an earlier one)."""
    names = {limit.policy.name for limit in limits}
    _reported.set(tuple(met for met in _reported.get() if met.policy.name not in names) + limits)


def begin_request() -> contextvars.Token[tuple[ServiceLimit, ...]]:
    """Start a request with nothing reported (the router; pair with :func:`end_request`)."""
    return _reported.set(())


def end_request(token: contextvars.Token[tuple[ServiceLimit, ...]]) -> tuple[ServiceLimit, ...]:
    """What the request reported; forgets it."""
    limits = _reported.get()
    _reported.reset(token)
    return limits


def fields(limits: Iterable[ServiceLimit]) -> dict[str, str]:
    """The ``RateLimit-Policy`` and ``RateLimit`` fields of ``limits`` (none when empty)."""
    limits = list(limits)
    if not limits:
        return {}
    return {
        "RateLimit-Policy": ", ".join(limit.policy.item() for limit in limits),
        "RateLimit": ", ".join(limit.item() for limit in limits),
    }
