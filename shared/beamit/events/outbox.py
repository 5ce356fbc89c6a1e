"""The transactional outbox: every event is written with the state change that causes it.

``tenants/{t}/outbox/{evt_id}``: one document per event (``id``, ``type``, ``tenantId``,
``createdAt``, ``data``, ``pending``, ``fannedOut``), created by :func:`record` in the same Firestore batch or
transaction as the change it reports (a share and its ``study.shared``, a view and its
``share.accessed``, an expiry and its ``share.expired``, an announced arrival and its
``study.received``). The change and its event exist together or not at all.

Publishing is a separate, retryable step, at least once:

- the fast path: the request that recorded an event publishes it at once (:func:`publish`) and
  then marks it published (``pending: false``, ``publishedAt``);
- the event sweep (:func:`publish_unpublished`, run by the ``event-sweep`` scheduled function)
  publishes what is still pending ``outbox_grace_seconds`` after it was recorded: a publish that
  failed, or a request that died between its commit and its publish. One collection-group
  query across tenants (``pending == true``, ``createdAt <= now - grace``, oldest first; its
  index has collection-group scope in ``terraform/firestore_indexes.tf``).

Published is not yet delivered: Pub/Sub could dead-letter a message whose pushes kept failing
(the delivery function down for long). So the ``webhook-delivery`` function confirms each
event it fanned out (:func:`confirm_fanned_out`: ``fannedOut: true`` once its deliveries are
recorded, after which the webhook retry queue owns them), and the sweep publishes again what
is published but unconfirmed ``FANOUT_GRACE`` later (:func:`republish_unconfirmed`; a
collection-group query on ``fannedOut == false`` and ``publishedAt``, indexed like the first).
``fannedOut: false`` is written with the record and only the confirmation changes it: the
push can be confirmed before the publisher has marked the event published, and that mark
must not undo the confirmation.

An event can therefore be published more than once (a mark that failed after a publish that
worked, two sweeps at once, Pub/Sub's own redelivery, a republished unconfirmed event). Every
copy carries the same event id, and the ``webhook-delivery`` function creates one delivery per
(event id, endpoint) with an "it does not exist" precondition (:func:`beamit.webhooks.deliveries.create_delivery`), so a
receiver gets each event once per endpoint, retries aside, all with the same ``webhook-id``:
"exactly once" here is at-least-once publishing with idempotent delivery.

One document per event means no hot document: a busy tenant's events never contend (Firestore
sustains about one write per second per document). The sweep's index orders by ``createdAt``,
a monotonically increasing value; Firestore handles about 500 such index writes per second per
collection group before it needs a shard field in front of it, far above BeamIt's event rates.
Published records carry ``expireAt`` (a week later), which the Firestore TTL policy of
``terraform/firestore_fields.tf`` deletes; pending ones never expire.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from beamit import logs
from beamit.clock import utcnow
from beamit.events.event import EVENT_TYPES, Event
from beamit.failpoints import EVENTS_BEFORE_PUBLISH, failpoint
from beamit.storage import Filter, Query, Services, Write
from beamit.tenancy import TenantScope

OUTBOX = "outbox"
PUBLISH_TIMEOUT_SECONDS = 5.0
"""How long a publish may wait for Pub/Sub before the event is left to the sweep (a request
waits this long at worst when Pub/Sub is unreachable)."""
KEEP_PUBLISHED = timedelta(days=7)
FANOUT_GRACE = timedelta(minutes=10)
"""How long after publishing an event must have been fanned out before the sweep publishes it
again (Pub/Sub retries a failing push with backoff for minutes before it gives up)."""
BATCH = 200
MAX_BATCH_WRITES = 500


def outbox_path(tenant_id: str, event_id: str) -> str:
    return TenantScope(tenant_id).document(OUTBOX, event_id)


def record(event: Event) -> Write:
    """The write that records ``event`` as pending: commit it with the change it reports."""
    return Write("create", outbox_path(event.tenant_id, event.id), {
        "id": event.id,
        "type": event.type,
        "tenantId": event.tenant_id,
        "createdAt": event.created_at,
        "data": event.data,
        "pending": True,
        "fannedOut": False,
    })


def from_record(data: dict[str, Any]) -> Event:
    if data.get("type") not in EVENT_TYPES or not isinstance(data.get("data"), dict):
        raise ValueError("not an outbox record")
    return Event(str(data["id"]), str(data["type"]), str(data["tenantId"]), data["createdAt"], dict(data["data"]))


def publish(svc: Services, events: Sequence[Event]) -> list[Event]:
    """Publish recorded events and mark them published; returns those published. A failure is
    logged and leaves the events pending for the sweep (never raised: the state change they
    report is committed, and the request that made it has succeeded)."""
    if not events:
        return []
    failpoint(EVENTS_BEFORE_PUBLISH)
    try:
        svc.events.publish_many(svc.settings.topic("events"), [e.message() for e in events],
                                timeout=PUBLISH_TIMEOUT_SECONDS)
    except Exception as exc:
        logs.warning("events not published yet; the event sweep publishes them", error=type(exc).__name__,
                     events=len(events), eventIds=[e.id for e in events[:10]])
        return []
    now = utcnow()
    marks = [Write("update", outbox_path(e.tenant_id, e.id),
                   {"pending": False, "publishedAt": now, "expireAt": now + KEEP_PUBLISHED})
             for e in events]
    for start in range(0, len(marks), MAX_BATCH_WRITES):
        try:
            svc.metadata.commit(marks[start:start + MAX_BATCH_WRITES])
        except Exception as exc:  # published all the same: the sweep publishes them again, delivery de-duplicates
            logs.warning("published events not marked", error=type(exc).__name__)
    return list(events)


def confirm_fanned_out(svc: Services, tenant_id: str, event_id: str) -> None:
    """The delivery function recorded this event's deliveries: it needs no republishing. An event
    that is not in the outbox (a test event, or one past its week) is left alone."""
    try:
        svc.metadata.update(outbox_path(tenant_id, event_id), {"fannedOut": True, "fannedOutAt": utcnow()})
    except KeyError:
        pass
    except Exception as exc:  # the event is republished later; its deliveries de-duplicate
        logs.warning("fan-out not confirmed", error=type(exc).__name__, eventId=event_id)


def publish_event(svc: Services, tenant_id: str, event_type: str, data: dict[str, Any]) -> str:
    """Record an event that reports no other write (e.g. a test event) and publish it; returns
    its ``evt_`` id. Events that report a change are recorded with it (:func:`record`)."""
    event = Event.new(tenant_id, event_type, data)
    svc.metadata.commit([record(event)])
    publish(svc, [event])
    return event.id


def unpublished_query(recorded_by: datetime, limit: int = BATCH) -> Query:
    """Pending events of every tenant recorded no later than ``recorded_by``, oldest first."""
    return Query(OUTBOX, filters=(Filter("pending", "==", True), Filter("createdAt", "<=", recorded_by)),
                 order_by=(("createdAt", "asc"),), limit=limit, group=True)


def unconfirmed_query(published_by: datetime, limit: int = BATCH) -> Query:
    """Published events of every tenant not fanned out by ``published_by``, oldest first."""
    return Query(OUTBOX, filters=(Filter("fannedOut", "==", False), Filter("publishedAt", "<=", published_by)),
                 order_by=(("publishedAt", "asc"),), limit=limit, group=True)


def republish_unconfirmed(svc: Services, now: datetime | None = None, *, limit: int = BATCH) -> int:
    """Publish again the events published more than :data:`FANOUT_GRACE` ago that no delivery
    function confirmed (publishing again restarts their grace); returns how many."""
    docs = svc.metadata.query(unconfirmed_query((now or utcnow()) - FANOUT_GRACE, limit))
    events = []
    for doc in docs:
        try:
            events.append(from_record(doc.data))
        except (KeyError, ValueError):
            logs.error("malformed outbox record not republished", outboxPath=doc.path)
    if events:
        logs.warning("published events were not fanned out: published again", events=len(events))
    return len(publish(svc, events))


def publish_unpublished(svc: Services, now: datetime | None = None, *, limit: int = BATCH) -> tuple[int, bool]:
    """The sweep: publish pending events older than the grace period. Returns how many were
    published, and whether a publish failed (Pub/Sub is unreachable: the sweep stops there)."""
    recorded_by = (now or utcnow()) - timedelta(seconds=svc.settings.outbox_grace_seconds)
    published = 0
    seen: set[str] = set()
    while True:
        docs = svc.metadata.query(unpublished_query(recorded_by, limit))
        events = []
        for doc in docs:
            if doc.path in seen:
                continue
            seen.add(doc.path)
            try:
                events.append(from_record(doc.data))
            except (KeyError, ValueError):
                logs.error("malformed outbox record left pending", outboxPath=doc.path)
        done = publish(svc, events)
        published += len(done)
        if len(done) < len(events):
            return published, True  # Pub/Sub is failing: the next pass tries again
        if len(docs) < limit or not events:
            return published, False
