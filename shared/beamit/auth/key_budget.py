"""The request budget of each API key: ``requests`` per fixed window (600 a minute by default,
``BEAMIT_API_KEY_REQUESTS_PER_MINUTE``; a tenant may have its own, :mod:`beamit.tenancy`).

Counted without a hot document. Every process leases blocks of the window's budget: it adds a
block (:func:`block_size`, a twentieth of the budget) to ``api_key_usage/{key}-{window}`` with
one atomic increment that returns the new total, owns the units of that block which fall within
the budget, and spends them locally, one per request, under a lock. So a key's counter document
takes about 20 writes a window, whatever the request rate and however many instances serve
it, plus one per process once the budget is gone (the process then refuses the key until the
window ends without writing).

What it guarantees: **at most the budget** is served per key and window, across all instances
(leases never overlap: each comes from one increment). Not that the whole budget is served:
units a process leased but did not spend lapse with the window, so a key spread over ``n``
instances may be refused up to ``(n - 1)`` blocks early. Windows are fixed (aligned to the
epoch), so a client can spend a budget at the end of one window and another at the start of
the next. A tenant's budget is read at most once a minute per process (:data:`SETTINGS_TTL`).

Each answer to an API-key call carries the key's standing in the ``RateLimit`` fields
(:mod:`beamit.auth.rate_limits`): ``r`` is what is left of the window's budget as this process
knows it (the units not yet leased by anyone, plus its own unspent ones).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from beamit.auth import rate_limits
from beamit.auth.rate_limits import QuotaPolicy, ServiceLimit
from beamit.clock import utcnow
from beamit.errors import RateLimited
from beamit.storage import Increment, MetadataStore, Write
from beamit.tenancy import ApiKeyRateLimit, get_tenant

COLLECTION = "api_key_usage"
POLICY_NAME = "api-key"
SETTINGS_TTL = 60.0
"""Seconds a process keeps a tenant's budget before reading it again."""
RETAIN = timedelta(days=1)


def block_size(requests: int) -> int:
    """Units leased at a time: a twentieth of the budget (at most 20 leases a window), at least 1."""
    return max(1, requests // 20)


@dataclass
class _Lease:
    units: int = 0  # leased by this process, not yet spent
    leased_total: int = 0  # the key's leased units in this window, as last seen
    exhausted: bool = False  # the budget is all leased: no more leases this window


class KeyBudget:
    """The budgets of the API keys this process serves (one per process: :func:`key_budget`)."""

    def __init__(self, store: MetadataStore, default: int, clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.default = ApiKeyRateLimit(default, 60)
        self._clock = clock
        self._lock = threading.Lock()
        self._leases: dict[tuple[str, int], _Lease] = {}
        self._limits: dict[str, tuple[float, ApiKeyRateLimit]] = {}

    def limit_of(self, tenant_id: str) -> ApiKeyRateLimit:
        cached = self._limits.get(tenant_id)
        if cached is not None and time.monotonic() - cached[0] < SETTINGS_TTL:
            return cached[1]
        tenant = get_tenant(self.store, tenant_id)
        limit = tenant.api_key_rate_limit if tenant and tenant.api_key_rate_limit else self.default
        self._limits[tenant_id] = (time.monotonic(), limit)
        return limit

    def spend(self, tenant_id: str, key_id: str) -> ServiceLimit:
        """Spend one unit of the key's budget, or raise :class:`RateLimited` (429, ``Retry-After``:
        the window's end); reports the key's standing either way."""
        limit = self.limit_of(tenant_id)
        now = self._clock()
        window = int(now.timestamp() // limit.window_seconds)
        end = datetime.fromtimestamp((window + 1) * limit.window_seconds, UTC)
        policy = QuotaPolicy(POLICY_NAME, limit.requests, limit.window_seconds)
        taken = self._take(key_id, window) or self._lease(key_id, window, limit.requests, end)
        lease, spent = taken
        standing = ServiceLimit(policy, limit.requests - lease.leased_total + lease.units,
                                rate_limits.seconds_until(end, now))
        rate_limits.report(standing)
        if not spent:
            raise RateLimited("this API key has used its request budget for now; wait and try again",
                              headers=rate_limits.retry_after(end, now))
        return standing

    def _take(self, key_id: str, window: int) -> tuple[_Lease, bool] | None:
        """Spend a unit this process holds: (lease, True); (lease, False) when the budget is all
        leased; ``None`` when a new lease is needed."""
        with self._lock:
            lease = self._leases.get((key_id, window))
            if lease is None:
                return None
            if lease.units > 0:
                lease.units -= 1
                return lease, True
            return (lease, False) if lease.exhausted else None

    def _lease(self, key_id: str, window: int, requests: int, end: datetime) -> tuple[_Lease, bool]:
        block = block_size(requests)
        total = int(self.store.commit_transforms([
            Write("merge", f"{COLLECTION}/{key_id}-{window}", {"leased": Increment(block), "expiresAt": end + RETAIN})
        ])[0]["leased"])
        granted = max(0, min(total, requests) - (total - block))
        with self._lock:
            for stale in [k for k in self._leases if k[1] < window]:
                del self._leases[stale]
            lease = self._leases.setdefault((key_id, window), _Lease())
            lease.units += granted
            lease.leased_total = max(lease.leased_total, total)
            lease.exhausted = lease.exhausted or total >= requests
            if lease.units > 0:
                lease.units -= 1  # this request's
                return lease, True
            return lease, False


_budget: KeyBudget | None = None


def key_budget(store: MetadataStore, default: int) -> KeyBudget:
    """The process's :class:`KeyBudget` (a new one when the store is new: tests reset services)."""
    global _budget
    if _budget is None or _budget.store is not store or _budget.default.requests != default:
        _budget = KeyBudget(store, default)
    return _budget
