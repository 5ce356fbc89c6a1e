"""The outbox on an in-memory store and a fake event bus: recording, the fast path, the sweep
of what is left, and the indexes of the sweep's queries (held to terraform/)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from beamit.catalog import arrivals
from beamit.clock import utcnow
from beamit.events import STUDY_SHARED, Event, outbox
from beamit.settings import load_settings
from beamit.storage import Query, Services
from beamit.storage.firestore import index_shape
from tests.infra.indexes import declared_indexes, uncovered
from tests.memory_store import MemoryStore


class FakeBus:
    """Stands in for Pub/Sub: records each published message, or fails while ``down``."""

    def __init__(self) -> None:
        self.published: list[tuple[bytes, dict[str, str]]] = []
        self.down = False

    def publish_many(self, topic, messages, *, timeout=30.0):
        if self.down:
            raise TimeoutError("pubsub unreachable")
        self.published += list(messages)
        return [str(i) for i, _ in enumerate(messages)]


@pytest.fixture
def bus():
    return FakeBus()


@pytest.fixture
def svc(bus):
    settings = load_settings({"BEAMIT_OUTBOX_GRACE_SECONDS": "10"})
    return Services(settings=settings, blobs=None, metadata=MemoryStore(), events=bus, keys=None)


def recorded(svc, tenant="acme-health", age=timedelta(0), data=None) -> Event:
    event = Event.new(tenant, STUDY_SHARED, data or {"shareId": "share_1"}, at=utcnow() - age)
    svc.metadata.commit([outbox.record(event)])
    return event


def record_of(svc, event) -> dict:
    return svc.metadata.get(outbox.outbox_path(event.tenant_id, event.id))


def test_an_event_is_one_document_under_its_tenant(svc):
    event = recorded(svc)
    path = outbox.outbox_path(event.tenant_id, event.id)
    assert path == f"tenants/acme-health/outbox/{event.id}"
    assert record_of(svc, event) == {"id": event.id, "type": STUDY_SHARED, "tenantId": "acme-health",
                                     "createdAt": event.created_at, "data": {"shareId": "share_1"},
                                     "pending": True, "fannedOut": False}
    assert outbox.from_record(record_of(svc, event)) == event


def test_the_fast_path_publishes_and_marks(svc, bus):
    event = recorded(svc)
    assert outbox.publish(svc, [event]) == [event]
    (data, attributes), = bus.published
    assert attributes == {"type": STUDY_SHARED, "tenantId": "acme-health", "eventId": event.id}
    assert json.loads(data) == {"id": event.id, "type": STUDY_SHARED, "createdAt": event.envelope()["createdAt"],
                                "tenantId": "acme-health", "data": {"shareId": "share_1"}}
    marked = record_of(svc, event)
    assert marked["pending"] is False and marked["publishedAt"] is not None
    assert marked["expireAt"] == marked["publishedAt"] + outbox.KEEP_PUBLISHED


def test_a_failed_publish_leaves_the_event_to_the_sweep(svc, bus):
    event = recorded(svc)
    bus.down = True
    assert outbox.publish(svc, [event]) == []  # logged, not raised: the request has succeeded
    assert record_of(svc, event)["pending"] is True
    bus.down = False
    # Within the grace period the sweep leaves it to its request; after it, publishes it.
    assert outbox.publish_unpublished(svc) == (0, False)
    assert outbox.publish_unpublished(svc, utcnow() + timedelta(seconds=11)) == (1, False)
    assert record_of(svc, event)["pending"] is False
    assert [a["eventId"] for _, a in bus.published] == [event.id]


def test_the_sweep_takes_every_tenant_oldest_first_in_batches(svc, bus):
    old = [recorded(svc, tenant, age=timedelta(minutes=5 - i)) for i, tenant in
           enumerate(["acme-health", "beta-clinic", "acme-health", "gamma-imaging", "beta-clinic"])]
    fresh = recorded(svc, "acme-health")
    published_already = recorded(svc, "beta-clinic", age=timedelta(minutes=9))
    outbox.publish(svc, [published_already])
    bus.published.clear()
    assert outbox.publish_unpublished(svc, limit=2) == (5, False)
    assert [a["eventId"] for _, a in bus.published] == [e.id for e in old]
    assert record_of(svc, fresh)["pending"] is True


def test_the_sweep_stops_while_pubsub_is_down(svc, bus):
    events = [recorded(svc, age=timedelta(minutes=1)) for _ in range(3)]
    bus.down = True
    assert outbox.publish_unpublished(svc, limit=1) == (0, True)
    assert all(record_of(svc, e)["pending"] for e in events)
    bus.down = False
    assert outbox.publish_unpublished(svc, limit=1) == (3, False)


def test_publish_event_records_then_publishes(svc, bus):
    event_id = outbox.publish_event(svc, "acme-health", STUDY_SHARED, {"shareId": "share_2"})
    assert record_of(svc, Event(event_id, STUDY_SHARED, "acme-health", utcnow(), {}))["pending"] is False
    assert bus.published[0][1]["eventId"] == event_id
    with pytest.raises(ValueError):
        Event.new("acme-health", "study.deleted", {})


def test_the_sweep_queries_have_collection_group_indexes():
    now = utcnow()
    queries = [outbox.unpublished_query(now), arrivals.pending_query(settled_by=now, limit=100),
               arrivals.pending_query(limit=1), outbox.unconfirmed_query(now)]
    shapes = [index_shape(q) for q in queries]
    assert shapes[3] == ("**/outbox", (("fannedOut", "ASCENDING"), ("publishedAt", "ASCENDING")))
    assert shapes[0] == ("**/outbox", (("pending", "ASCENDING"), ("createdAt", "ASCENDING")))
    assert shapes[1] == shapes[2] == ("**/studies", (("announcePending", "ASCENDING"),
                                                     ("lastArrivalAt", "ASCENDING")))
    assert uncovered(shapes) == []
    # The same fields in a collection-scope index do not serve a collection-group query.
    collection_scope = {(name.removeprefix("**/"), fields) for name, fields in declared_indexes()}
    assert uncovered(shapes, collection_scope) == [shapes[0], shapes[1], shapes[3]]
    # A collection-group query names its index even when a collection query would need none.
    assert index_shape(Query("outbox", group=True, order_by=(("__name__", "asc"),)))[0] == "**/outbox"


def test_a_published_event_nobody_fanned_out_is_published_again(svc, bus):
    """Pub/Sub may dead-letter a message whose pushes kept failing: an event published but not
    confirmed by a delivery function is published again after FANOUT_GRACE; a confirmed one is
    not, and an event outside the outbox (a test event) is left alone."""
    lost, delivered = recorded(svc), recorded(svc)
    outbox.publish(svc, [lost, delivered])
    outbox.confirm_fanned_out(svc, delivered.tenant_id, delivered.id)
    outbox.confirm_fanned_out(svc, "acme-health", "evt_test_not_in_the_outbox")
    assert record_of(svc, delivered)["fannedOut"] is True and record_of(svc, lost)["fannedOut"] is False
    bus.published.clear()
    assert outbox.republish_unconfirmed(svc) == 0  # within the grace
    later = utcnow() + outbox.FANOUT_GRACE + timedelta(seconds=1)
    first_published = record_of(svc, lost)["publishedAt"]
    assert outbox.republish_unconfirmed(svc, later) == 1
    assert [a["eventId"] for _, a in bus.published] == [lost.id]
    assert record_of(svc, lost)["publishedAt"] > first_published  # published again: its grace starts again


def test_a_fan_out_confirmed_before_the_publisher_marks_the_event_stays_confirmed(svc, bus):
    """Pub/Sub can push the message, and the delivery function confirm it, before ``publish``
    has returned and marked the event published: the mark must not undo the confirmation (the
    event would be published again, and flagged by ``beamit check``, for nothing)."""
    event = recorded(svc)
    publish_many = bus.publish_many

    def pushed_at_once(topic, messages, *, timeout=30.0):
        ids = publish_many(topic, messages, timeout=timeout)
        outbox.confirm_fanned_out(svc, event.tenant_id, event.id)
        return ids

    bus.publish_many = pushed_at_once
    assert outbox.publish(svc, [event]) == [event]
    assert record_of(svc, event)["pending"] is False and record_of(svc, event)["fannedOut"] is True
    assert outbox.republish_unconfirmed(svc, utcnow() + outbox.FANOUT_GRACE + timedelta(seconds=1)) == 0
