"""The event sweep (``event-sweep``, Cloud Scheduler every minute; the dev stack's tick locally).

Each pass publishes the outbox events still pending after the grace period
(:func:`beamit.events.outbox.publish_unpublished`), then announces the studies that have settled
(:func:`beamit.events.arrivals.announce_settled_studies`) and publishes those events at once.

Cloud Scheduler's finest schedule is a minute: one pass a minute would announce a study between
0 and 60 s after its settle window ends. So a run keeps passing for ``event_sweep_watch_seconds``
(50 s by default): it sleeps until the earliest pending arrival settles, but at most
:data:`POLL_SECONDS` (new arrivals appear in the next poll), and passes again. With the default
window of 30 s, a study's ``study.received`` goes out:

- about 30 s after its last instance (the window, plus a pass: well under a second) while a run
  is watching, which is 50 s of every minute;
- at most 40 s after it (plus a pass) when the window ends in the 10 s between two runs: the
  next run announces it as it starts.

The cost is a function instance busy 50 s a minute (one small instance, request-billed) and
three small queries every :data:`POLL_SECONDS`. Cloud Tasks with a ``scheduleTime`` per
study would be exact, but needs a task per arrival (or a dedup name per study and window) and
has no local emulator; the watched sweep is testable on the local stack as it runs in production.

Runs may overlap (a slow pass, Cloud Scheduler's retries): each announcement is a transaction
and delivery de-duplicates by event id, so an overlap costs reads, never a second event.
"""

from __future__ import annotations

import time
from collections import Counter

from beamit.clock import utcnow
from beamit.events import arrivals, outbox
from beamit.storage import Services

POLL_SECONDS = 2.0
MIN_WAIT_SECONDS = 0.5
"""Between passes at least (an arrival that cannot be announced is not retried in a busy loop)."""


def sweep_events(svc: Services, *, watch_seconds: float | None = None) -> dict[str, int]:
    """Publish what the outbox holds and announce settled studies, passing again until
    ``watch_seconds`` (the setting by default; 0: one pass) have gone. Returns counts: ``passes``,
    ``recovered`` (events requests left unpublished, now published), ``announced``
    (``study.received`` recorded) and ``published`` (of those, published at once)."""
    watch = svc.settings.event_sweep_watch_seconds if watch_seconds is None else watch_seconds
    started = time.monotonic()
    totals: Counter[str] = Counter()
    while True:
        now = utcnow()
        totals["passes"] += 1
        recovered, failing = outbox.publish_unpublished(svc, now)
        totals["recovered"] += recovered
        if not failing and totals["passes"] == 1:  # once a run: the grace is minutes long
            totals["republished"] += outbox.republish_unconfirmed(svc, now)
        recorded = arrivals.announce_settled_studies(svc, now)
        totals["announced"] += len(recorded)
        if not failing:  # else they wait for the next pass with the others, not for a second timeout
            totals["published"] += len(outbox.publish(svc, recorded))
        if time.monotonic() - started >= watch:
            break
        due = arrivals.next_settle_time(svc)
        wait = POLL_SECONDS if due is None else (due - utcnow()).total_seconds()
        wait = min(max(wait, MIN_WAIT_SECONDS), POLL_SECONDS)
        if time.monotonic() - started + wait > watch:
            break
        time.sleep(wait)
    return {key: totals[key] for key in ("passes", "recovered", "announced", "published")}
