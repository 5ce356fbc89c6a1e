"""When to try a failed delivery again.

The schedule follows the Standard Webhooks recommendation (immediately, 5 s, 5 min, 30 min,
2 h, 5 h, 10 h, 10 h) and goes on to about three days: 11 attempts over 71.6 hours. Each
delay gets +/-20 % jitter so endpoints recovering from an outage are not hit in lockstep,
and a ``Retry-After`` answer (RFC 9110 §10.2.3) postpones the next attempt, up to one day.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=14),
    timedelta(hours=16),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
JITTER = 0.2
MAX_RETRY_AFTER = timedelta(days=1)

_rng = random.SystemRandom()


def retry_delay(
    failed_attempts: int, *, retry_after: timedelta | None = None, rng: random.Random | None = None
) -> timedelta | None:
    """The wait before the next attempt, after ``failed_attempts`` failed attempts in a row;
    ``None`` once the schedule is exhausted (the delivery has failed)."""
    if failed_attempts < 1 or failed_attempts > len(RETRY_DELAYS):
        return None
    base = RETRY_DELAYS[failed_attempts - 1]
    delay = base * (1 + (rng or _rng).uniform(-JITTER, JITTER))
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    return delay


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """``Retry-After``: delay-seconds or an HTTP-date (RFC 9110 §10.2.3); ``None`` if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(moment - now, timedelta(0))
