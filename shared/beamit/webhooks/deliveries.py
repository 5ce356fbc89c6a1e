"""Delivery records and the retry queue.

One delivery per (event, endpoint): ``tenants/{t}/webhooks/{whk}/deliveries/{dlv}``, its id
derived from both, created only if absent, so a Pub/Sub redelivery of the same event adds
nothing. It keeps the exact body every attempt sends, the status, the last attempts
(time, status code, latency, error) and ``nextAttemptAt``.

A delivery that is in flight or waiting for a retry also has an entry in the top-level
queue ``webhook_retries/{tenant}:{dlv}`` with ``dueAt``: the scheduled retry function
reads the due entries (one single-field query across tenants) and claims each in a
transaction by moving ``dueAt`` a lease ahead, so two runs never attempt the same
delivery and a crashed attempt is picked up again when its lease ends.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from beamit.clock import rfc3339, utcnow
from beamit.errors import BadRequest, NotFound
from beamit.storage import AlreadyExists, Document, Filter, MetadataStore, Query, Transaction, Write
from beamit.tenancy import TenantScope
from beamit.webhooks.endpoints import endpoint_path
from beamit.webhooks.payloads import WebhookEvent
from beamit.webhooks.schedule import parse_retry_after, retry_delay
from beamit.webhooks.transport import AttemptOutcome

DELIVERIES = "deliveries"
QUEUE = "webhook_retries"
DELIVERY_ID = re.compile(r"^dlv_[0-9a-f]{24}$")

PENDING = "pending"  # created; the first attempt (or a redelivery) is under way
RETRYING = "retrying"  # an attempt failed; the next one is at nextAttemptAt
SUCCEEDED = "succeeded"
FAILED = "failed"  # retries exhausted, or the endpoint is gone or disabled
STATUSES = (PENDING, RETRYING, SUCCEEDED, FAILED)

LEASE = timedelta(minutes=2)
MAX_LOGGED_ATTEMPTS = 50
MAX_PAGE = 100
DEFAULT_PAGE = 20


def delivery_id(event_id: str, endpoint_id: str) -> str:
    """The one delivery of an event to an endpoint (stable across Pub/Sub redeliveries)."""
    return "dlv_" + hashlib.sha256(f"{event_id}/{endpoint_id}".encode()).hexdigest()[:24]


def delivery_path(scope: TenantScope, endpoint_id: str, dlv_id: str) -> str:
    if not isinstance(dlv_id, str) or not DELIVERY_ID.match(dlv_id):
        raise NotFound("no such delivery")
    return f"{endpoint_path(scope, endpoint_id)}/{DELIVERIES}/{dlv_id}"


def queue_path(tenant_id: str, dlv_id: str) -> str:
    return f"{QUEUE}/{tenant_id}:{dlv_id}"


@dataclass(frozen=True)
class Delivery:
    id: str
    tenant_id: str
    endpoint_id: str
    event_id: str
    event_type: str
    body: str
    status: str
    attempts: tuple[dict[str, Any], ...]
    attempt_count: int
    series_attempts: int  # attempts since creation or the last manual redelivery
    next_attempt_at: datetime | None
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None
    failure_reason: str | None
    test: bool = False  # a test event (POST /v1/webhooks/{id}/test): attempted once, never retried

    @classmethod
    def from_record(cls, dlv_id: str, data: dict[str, Any]) -> Delivery:
        return cls(
            id=dlv_id,
            tenant_id=data["tenantId"],
            endpoint_id=data["endpointId"],
            event_id=data["eventId"],
            event_type=data["eventType"],
            body=data["body"],
            status=data["status"],
            attempts=tuple(data.get("attempts", [])),
            attempt_count=int(data.get("attemptCount", 0)),
            series_attempts=int(data.get("seriesAttempts", 0)),
            next_attempt_at=data.get("nextAttemptAt"),
            created_at=data["createdAt"],
            updated_at=data.get("updatedAt", data["createdAt"]),
            delivered_at=data.get("deliveredAt"),
            failure_reason=data.get("failureReason"),
            test=bool(data.get("test")),
        )

    @property
    def scope(self) -> TenantScope:
        return TenantScope(self.tenant_id)

    @property
    def path(self) -> str:
        return delivery_path(self.scope, self.endpoint_id, self.id)

    def to_json(self) -> dict[str, Any]:
        """The delivery log entry (without the body: the event's data stays out of the log)."""
        last = self.attempts[-1] if self.attempts else {}
        return {
            "id": self.id,
            "object": "webhook_delivery",
            "endpointId": self.endpoint_id,
            "eventId": self.event_id,
            "eventType": self.event_type,
            "test": self.test,
            "status": self.status,
            "attemptCount": self.attempt_count,
            "lastStatusCode": last.get("statusCode"),
            "lastLatencyMs": last.get("latencyMs"),
            "nextAttemptAt": rfc3339(self.next_attempt_at) if self.next_attempt_at else None,
            "failureReason": self.failure_reason,
            "createdAt": rfc3339(self.created_at),
            "updatedAt": rfc3339(self.updated_at),
            "deliveredAt": rfc3339(self.delivered_at) if self.delivered_at else None,
            "attempts": [
                {
                    "at": rfc3339(a["at"]),
                    "statusCode": a.get("statusCode"),
                    "latencyMs": a.get("latencyMs"),
                    "error": a.get("error"),
                }
                for a in self.attempts
            ],
        }


def _queue_entry(delivery: Delivery, due: datetime) -> dict[str, Any]:
    return {"tenantId": delivery.tenant_id, "endpointId": delivery.endpoint_id, "deliveryId": delivery.id, "dueAt": due}


def create_delivery(store: MetadataStore, scope: TenantScope, endpoint_id: str, event: WebhookEvent) -> Delivery | None:
    """Create the event's delivery to an endpoint, leased for its first attempt; ``None`` if
    it exists already (a redelivered push: the earlier push, or the retry queue, owns it)."""
    now = utcnow()
    dlv_id = delivery_id(event.id, endpoint_id)
    record = {
        "tenantId": scope.tenant_id,
        "endpointId": endpoint_id,
        "eventId": event.id,
        "eventType": event.type,
        "body": event.body().decode("utf-8"),
        "status": PENDING,
        "attempts": [],
        "attemptCount": 0,
        "seriesAttempts": 0,
        "nextAttemptAt": now,
        "createdAt": now,
        "updatedAt": now,
        "deliveredAt": None,
        "failureReason": None,
        "test": event.test,
    }
    delivery = Delivery.from_record(dlv_id, record)
    try:
        store.commit(
            [
                Write("create", delivery.path, record),
                Write("set", queue_path(scope.tenant_id, dlv_id), _queue_entry(delivery, now + LEASE)),
            ]
        )
    except AlreadyExists:
        return None
    return delivery


def restart_delivery(store: MetadataStore, delivery: Delivery) -> Delivery:
    """A manual redelivery: a new series of attempts (the retry schedule starts over)."""
    now = utcnow()
    changes = {"status": PENDING, "seriesAttempts": 0, "nextAttemptAt": now, "failureReason": None, "updatedAt": now}
    store.commit(
        [
            Write("update", delivery.path, changes),
            Write("set", queue_path(delivery.tenant_id, delivery.id), _queue_entry(delivery, now + LEASE)),
        ]
    )
    return dataclasses.replace(delivery, status=PENDING, series_attempts=0, next_attempt_at=now, failure_reason=None)


def _attempt_error(outcome: AttemptOutcome) -> str | None:
    if outcome.error is not None:
        return outcome.error
    code = outcome.status_code
    if code is not None and 300 <= code < 400:
        return f"HTTP {code}: redirects are not followed"
    if code is not None and not outcome.succeeded:
        return f"HTTP {code}"
    return None


def record_attempt(
    store: MetadataStore, delivery: Delivery, outcome: AttemptOutcome, attempted_at: datetime, *, give_up: str | None
) -> Delivery:
    """Log an attempt and decide what follows: done, a retry at ``nextAttemptAt``, or failed
    (``give_up`` names why no retry may follow, e.g. the endpoint answered 410)."""
    now = utcnow()
    attempt = {
        "at": attempted_at,
        "statusCode": outcome.status_code,
        "latencyMs": outcome.latency_ms,
        "error": _attempt_error(outcome),
    }
    attempts = (*delivery.attempts, attempt)[-MAX_LOGGED_ATTEMPTS:]
    series = delivery.series_attempts + 1
    next_at: datetime | None = None
    failure: str | None = None
    if outcome.succeeded:
        status = SUCCEEDED
    elif give_up is not None:
        status, failure = FAILED, give_up
    else:
        delay = retry_delay(series, retry_after=parse_retry_after(outcome.retry_after, now))
        if delay is None:
            status, failure = FAILED, f"no success after {series} attempts"
        else:
            status, next_at = RETRYING, now + delay
    changes: dict[str, Any] = {
        "status": status,
        "attempts": list(attempts),
        "attemptCount": delivery.attempt_count + 1,
        "seriesAttempts": series,
        "nextAttemptAt": next_at,
        "failureReason": failure,
        "updatedAt": now,
        "deliveredAt": now if status == SUCCEEDED else delivery.delivered_at,
    }
    queue = queue_path(delivery.tenant_id, delivery.id)
    follow = Write("set", queue, _queue_entry(delivery, next_at)) if next_at else Write("delete", queue)
    try:
        store.commit([Write("update", delivery.path, changes), follow])
    except Exception:
        if store.get(delivery.path) is not None:
            raise
        store.delete(queue)  # the endpoint and its log were deleted meanwhile
    return dataclasses.replace(
        delivery,
        status=status,
        attempts=attempts,
        attempt_count=delivery.attempt_count + 1,
        series_attempts=series,
        next_attempt_at=next_at,
        failure_reason=failure,
        updated_at=now,
        delivered_at=changes["deliveredAt"],
    )


def abandon(store: MetadataStore, delivery: Delivery | None, queue_entry: str, reason: str) -> None:
    """Drop a queued retry that may not run (endpoint deleted or disabled), without an attempt."""
    writes = [Write("delete", queue_entry)]
    if delivery is not None and delivery.status in (PENDING, RETRYING):
        writes.insert(
            0,
            Write(
                "update",
                delivery.path,
                {"status": FAILED, "failureReason": reason, "nextAttemptAt": None, "updatedAt": utcnow()},
            ),
        )
    store.commit(writes)


# --- the retry queue ----------------------------------------------------------------------------


def due_entries(store: MetadataStore, now: datetime, limit: int) -> list[Document]:
    """Queue entries due at ``now``, oldest first (one field: no composite index needed)."""
    return store.query(
        Query(collection=QUEUE, filters=(Filter("dueAt", "<=", now),), order_by=(("dueAt", "asc"),), limit=limit)
    )


def claim(store: MetadataStore, entry_path: str, now: datetime) -> dict[str, Any] | None:
    """Take a due entry for one attempt (its ``dueAt`` moves a lease ahead); ``None`` if
    another run took it or it is no longer due."""

    def take(txn: Transaction) -> dict[str, Any] | None:
        data = txn.get(entry_path)
        if data is None or data["dueAt"] > now:
            return None
        txn.write(Write("update", entry_path, {"dueAt": max(now, utcnow()) + LEASE}))
        return data

    return store.run_transaction(take)


# --- the delivery log ----------------------------------------------------------------------------


def get_delivery(store: MetadataStore, scope: TenantScope, endpoint_id: str, dlv_id: str) -> Delivery:
    data = store.get(delivery_path(scope, endpoint_id, dlv_id))
    if data is None:
        raise NotFound("no such delivery")
    return Delivery.from_record(dlv_id, data)


def list_deliveries(
    store: MetadataStore,
    scope: TenantScope,
    endpoint_id: str,
    *,
    status: str | None = None,
    limit: int = DEFAULT_PAGE,
    starting_after: str | None = None,
) -> tuple[list[Delivery], bool]:
    """An endpoint's deliveries, newest first, and whether more follow."""
    if status is not None and status not in STATUSES:
        raise BadRequest(f"'status' must be one of {', '.join(STATUSES)}")
    if not 1 <= limit <= MAX_PAGE:
        raise BadRequest(f"'limit' must be from 1 to {MAX_PAGE}")
    collection = f"{endpoint_path(scope, endpoint_id)}/{DELIVERIES}"
    cursor: tuple[Any, ...] | None = None
    if starting_after is not None:
        try:
            cursor = (get_delivery(store, scope, endpoint_id, starting_after).created_at,)
        except NotFound:
            raise BadRequest("'startingAfter' names no delivery of this endpoint") from None
    filters = (Filter("status", "==", status),) if status else ()
    docs = store.query(
        Query(
            collection=collection,
            filters=filters,
            order_by=(("createdAt", "desc"),),
            limit=limit + 1,
            start_after=cursor,
        )
    )
    items = [Delivery.from_record(doc.id, doc.data) for doc in docs]
    return items[:limit], len(items) > limit

