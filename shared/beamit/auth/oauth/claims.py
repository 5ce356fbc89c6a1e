"""Calls that name an OAuth client without proving to be it: "claimed client" calls.

A client id is public (it sits in every authorization URL), so anyone can name one. A call
to the token, revocation or introspection endpoint whose client authentication failed, a
public client's failed call (public clients cannot authenticate), and a failed or declined
sign-in at the authorization endpoint are recorded in the named client's tenant trail as
*claimed* events: known values only, no User-Agent (:class:`beamit.audit.note.AuditActor`).

Each such record is admitted by two counters of :mod:`beamit.auth.throttle` (the same
policy functions and store as sign-in throttling, counted before they are checked), one per
client id and one per source IP: :data:`CLAIMED_CLIENT_POLICY` records 10 events freely, then
one after 1 s, 2 s, ... up to 60 s after the previous one, and after 30 none until its
15-minute window ends. A call over the
budget writes nothing to the trail (the access log and Cloud Logging still have it) and the
token endpoints answer 429 with ``Retry-After``. Calls by a client that *did* authenticate
(or a public client's successful exchange) never touch these counters, so a flood in a
client's name cannot lock out the client itself.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from beamit.auth.throttle import Counter, LoginThrottle, ThrottlePolicy, throttle_key
from beamit.clock import utcnow
from beamit.storage import MetadataStore

CLAIMED_CLIENT_POLICY = ThrottlePolicy(
    name="claimed-client",
    free_attempts=10,
    base_delay=timedelta(seconds=1),
    max_delay=timedelta(seconds=60),
    lockout_after=30,
    window=timedelta(minutes=15),
)
CLAIMED_IP_POLICY = ThrottlePolicy(
    name="claimed-client-ip",
    free_attempts=20,
    base_delay=timedelta(seconds=1),
    max_delay=timedelta(seconds=60),
    lockout_after=100,
    window=timedelta(minutes=15),
)

GRANT_TYPES = ("authorization_code", "refresh_token")
"""The ``grant_type`` values a record keeps as they are; any other is ``"other"``."""

OAUTH_ERRORS = (
    "invalid_request", "invalid_client", "invalid_grant", "unauthorized_client", "unsupported_grant_type",
    "invalid_scope", "access_denied", "unsupported_response_type", "server_error", "temporarily_unavailable",
    "unsupported_token_type",
)


def known(value: object, values: tuple[str, ...]) -> str | None:
    """``value`` if it is one of ``values``, ``None`` if absent, else ``"other"``: what a
    record keeps of a parameter the caller chose."""
    if value is None or value == "":
        return None
    return value if isinstance(value, str) and value in values else "other"


def claimed_counters(client_id: str, ip: str | None) -> list[Counter]:
    counters = [Counter(CLAIMED_CLIENT_POLICY, throttle_key("claimed-client", client_id))]
    if ip:
        counters.append(Counter(CLAIMED_IP_POLICY, throttle_key("claimed-ip", ip)))
    return counters


class ClaimBudget:
    """Whether one more claimed-client event of a client id and IP may be recorded."""

    def __init__(self, store: MetadataStore, clock: Callable[[], datetime] = utcnow) -> None:
        self._throttle = LoginThrottle(store, clock)

    def admit(self, client_id: str, ip: str | None) -> datetime | None:
        """``None`` if the event may be recorded (it is counted first, then checked); else when
        the next may be."""
        return self._throttle.reserve(claimed_counters(client_id, ip)).refused_until
