"""Delivering events: fan-out of one event, due retries, manual redelivery.

- :func:`deliver_event` (the ``webhook-delivery`` push): records one delivery per enabled
  endpoint of the tenant subscribed to the event's type, then makes each first attempt,
  endpoints in parallel, each bounded by a short timeout; the push is acknowledged once
  every first attempt is recorded. A slow endpoint delays no other endpoint's delivery.
- :func:`run_due_retries` (the ``webhook-retry`` scheduler tick, every minute): claims the
  due entries of the retry queue and attempts them in parallel.
- :func:`redeliver` (``POST .../deliveries/{dlv}/redeliver``): one attempt now, and the
  retry schedule from the start if it fails.
- :func:`send_test_event` (``POST /v1/webhooks/{id}/test``): a test event of sample data
  (:mod:`beamit.webhooks.samples`) to one endpoint, signed like any delivery and kept in its
  log, attempted once: never retried, and it changes nothing about the endpoint's health.

An endpoint answering 410 Gone is disabled at once; one whose attempts have all failed
for three days is disabled with its ``disabledReason``. The endpoint document is written
only when that state changes (never per attempt), so it never becomes a hot document.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from beamit import logs
from beamit.clock import rfc3339, utcnow
from beamit.errors import BadRequest, Conflict
from beamit.events import EVENT_TYPES, outbox
from beamit.storage import Query, Services
from beamit.tenancy import TenantScope
from beamit.webhooks import deliveries, endpoints
from beamit.webhooks.deliveries import Delivery
from beamit.webhooks.destinations import (
    DestinationPolicy,
    RefusedDestination,
    Resolver,
    resolve_destination,
    system_resolver,
)
from beamit.webhooks.endpoints import WebhookEndpoint
from beamit.webhooks.payloads import WebhookEvent
from beamit.webhooks.samples import sample_event
from beamit.webhooks.signatures import SigningSecrets, delivery_headers
from beamit.webhooks.transport import ATTEMPT_TIMEOUT_SECONDS, AttemptOutcome, post

MAX_PARALLEL = 16
RETRY_BATCH = 100
RETRY_BUDGET_SECONDS = 240.0  # of the retry function's 300 s timeout
DISABLE_AFTER_FAILING = timedelta(days=3)
GONE_REASON = "the endpoint answered 410 Gone"
TEST_NOT_RETRIED = "a test event is attempted once"


@dataclass
class EndpointTarget:
    """An endpoint ready to receive, shared by the attempts of one run (state changes are
    written once, under a lock, instead of once per attempt)."""

    endpoint: WebhookEndpoint
    keys: SigningSecrets
    enabled: bool = True
    failing_since: datetime | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def load(cls, svc: Services, scope: TenantScope, endpoint_id: str, record: dict[str, Any]) -> EndpointTarget:
        endpoint = WebhookEndpoint.from_record(endpoint_id, record)
        keys = endpoints.signing_secrets(svc, scope, endpoint_id, record)
        return cls(endpoint, keys, endpoint.enabled, endpoint.failing_since)

    def note(self, svc: Services, outcome: AttemptOutcome, at: datetime) -> None:
        scope = TenantScope(self.endpoint.tenant_id)
        with self._lock:
            if outcome.succeeded:
                if self.failing_since is not None:
                    self.failing_since = None
                    endpoints.mark_failing(svc, scope, self.endpoint.id, None)
            elif outcome.status_code == 410:
                if self.enabled:
                    self.enabled = False
                    endpoints.disable_endpoint(svc, scope, self.endpoint.id, GONE_REASON)
            elif self.failing_since is None:
                self.failing_since = at
                endpoints.mark_failing(svc, scope, self.endpoint.id, at)
            elif self.enabled and at - self.failing_since >= DISABLE_AFTER_FAILING:
                self.enabled = False
                reason = f"every delivery attempt failed from {rfc3339(self.failing_since)} for 3 days"
                endpoints.disable_endpoint(svc, scope, self.endpoint.id, reason)


def attempt(
    svc: Services,
    target: EndpointTarget,
    delivery: Delivery,
    *,
    timeout: float = ATTEMPT_TIMEOUT_SECONDS,
    resolver: Resolver = system_resolver,
) -> Delivery:
    """One attempt of ``delivery``, recorded; returns the delivery as it now stands. A test
    delivery is not retried and leaves the endpoint's health (failure streak, disabling) alone."""
    attempted_at = utcnow()
    body = delivery.body.encode("utf-8")
    headers = delivery_headers(
        target.keys,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        delivery_id=delivery.id,
        timestamp=int(time.time()),
        body=body,
    )
    outcome: AttemptOutcome
    try:
        destination = resolve_destination(target.endpoint.url, DestinationPolicy.for_settings(svc.settings), resolver)
    except RefusedDestination as exc:
        outcome = AttemptOutcome(status_code=None, latency_ms=0, error=f"refused: {exc}")
    except (OSError, UnicodeError) as exc:
        outcome = AttemptOutcome(status_code=None, latency_ms=0, error=f"dns error: {exc}"[:300])
    else:
        outcome = post(destination, body, headers, timeout=timeout)
    if delivery.test:
        give_up: str | None = TEST_NOT_RETRIED
    else:
        give_up = f"{GONE_REASON} and was disabled" if outcome.status_code == 410 else None
    result = deliveries.record_attempt(svc.metadata, delivery, outcome, attempted_at, give_up=give_up)
    if not delivery.test:
        target.note(svc, outcome, attempted_at)
    logs.info(
        "webhook attempt",
        tenantId=delivery.tenant_id,
        endpointId=delivery.endpoint_id,
        deliveryId=delivery.id,
        eventId=delivery.event_id,
        eventType=delivery.event_type,
        statusCode=outcome.status_code,
        latencyMs=outcome.latency_ms,
        error=outcome.error,
        deliveryStatus=result.status,
    )
    return result


Job = tuple[EndpointTarget, Delivery]


def _run(svc: Services, jobs: list[Job], run: Callable[[EndpointTarget, Delivery], Delivery]) -> list[Delivery]:
    """Attempt ``jobs`` in parallel; a job that raises is logged and left to the retry queue
    (its lease ends and the retry function picks it up)."""

    def guarded(job: Job) -> Delivery | None:
        target, delivery = job
        try:
            if not target.enabled:  # disabled by an earlier attempt of this run
                entry = deliveries.queue_path(delivery.tenant_id, delivery.id)
                deliveries.abandon(svc.metadata, delivery, entry, "the endpoint was disabled")
                return None
            return run(target, delivery)
        except Exception as exc:
            logs.error(
                "webhook attempt not recorded",
                tenantId=delivery.tenant_id,
                deliveryId=delivery.id,
                error=type(exc).__name__,
                detail=str(exc)[:300],
            )
            return None

    if not jobs:
        return []
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(jobs)), thread_name_prefix="webhook") as pool:
        return [d for d in pool.map(guarded, jobs) if d is not None]


def deliver_event(svc: Services, event: WebhookEvent, *, timeout: float = ATTEMPT_TIMEOUT_SECONDS) -> list[Delivery]:
    """Fan one event out to the tenant's enabled endpoints subscribed to its type."""
    scope = TenantScope(event.tenant_id)
    docs = svc.metadata.query(Query(collection=scope.collection(endpoints.WEBHOOKS), limit=endpoints.MAX_ENDPOINTS * 5))
    jobs: list[Job] = []
    for doc in docs:
        endpoint = WebhookEndpoint.from_record(doc.id, doc.data)
        if not endpoint.receives(event.type):
            continue
        delivery = deliveries.create_delivery(svc.metadata, scope, endpoint.id, event)
        if delivery is None:
            continue  # a redelivered push: this delivery exists already
        try:
            jobs.append((EndpointTarget.load(svc, scope, endpoint.id, doc.data), delivery))
        except Exception as exc:  # e.g. KMS unavailable: the retry queue attempts it after the lease
            logs.error("webhook secret unavailable", tenantId=scope.tenant_id, endpointId=endpoint.id,
                       error=type(exc).__name__)
    # Every delivery is recorded (the retry queue owns it from here): the outbox need not publish again.
    outbox.confirm_fanned_out(svc, event.tenant_id, event.id)
    return _run(svc, jobs, lambda target, delivery: attempt(svc, target, delivery, timeout=timeout))


def _prepare(
    svc: Services, entry_path: str, entry: dict[str, Any], targets: dict[tuple[str, str], EndpointTarget | None]
) -> Job | None:
    """The job of a claimed queue entry, or ``None`` (the entry is settled without an attempt)."""
    scope = TenantScope(entry["tenantId"])
    endpoint_id, dlv_id = entry["endpointId"], entry["deliveryId"]
    record = svc.metadata.get(deliveries.delivery_path(scope, endpoint_id, dlv_id))
    delivery = Delivery.from_record(dlv_id, record) if record else None
    if delivery is None or delivery.status in (deliveries.SUCCEEDED, deliveries.FAILED):
        svc.metadata.delete(entry_path)
        return None
    key = (scope.tenant_id, endpoint_id)
    if key not in targets:
        endpoint_record = svc.metadata.get(endpoints.endpoint_path(scope, endpoint_id))
        targets[key] = EndpointTarget.load(svc, scope, endpoint_id, endpoint_record) if endpoint_record else None
    target = targets[key]
    if target is None:
        deliveries.abandon(svc.metadata, delivery, entry_path, "the endpoint was deleted")
        return None
    if not target.enabled:
        deliveries.abandon(svc.metadata, delivery, entry_path, "the endpoint is disabled")
        return None
    return target, delivery


def run_due_retries(
    svc: Services,
    *,
    now: datetime | None = None,
    batch: int = RETRY_BATCH,
    budget_seconds: float = RETRY_BUDGET_SECONDS,
    timeout: float = ATTEMPT_TIMEOUT_SECONDS,
) -> dict[str, int]:
    """Attempt every due delivery once (``now``: the moment that decides what is due; the
    present by default). Returns counts by resulting status."""
    started = time.monotonic()
    seen: set[str] = set()
    targets: dict[tuple[str, str], EndpointTarget | None] = {}
    summary: Counter[str] = Counter()
    while time.monotonic() - started < budget_seconds:
        moment = now or utcnow()
        entries = deliveries.due_entries(svc.metadata, moment, batch)
        fresh = [e for e in entries if e.path not in seen]
        if not fresh:
            break
        jobs: list[Job] = []
        for entry in fresh:
            seen.add(entry.path)
            claimed = deliveries.claim(svc.metadata, entry.path, moment)
            if claimed is None:
                continue
            try:
                job = _prepare(svc, entry.path, claimed, targets)
            except Exception as exc:
                logs.error("webhook retry not prepared", entry=entry.id, error=type(exc).__name__)
                continue
            if job is None:
                summary["abandoned"] += 1
            else:
                jobs.append(job)
        for delivery in _run(svc, jobs, lambda target, d: attempt(svc, target, d, timeout=timeout)):
            summary[delivery.status] += 1
        if len(entries) < batch:
            break
    return dict(summary)


def redeliver(svc: Services, scope: TenantScope, endpoint_id: str, dlv_id: str) -> Delivery:
    """Send a delivery again now (whatever its status); if it fails, the schedule starts over."""
    record = endpoints.get_record(svc, scope, endpoint_id)
    if not record.get("enabled"):
        raise Conflict("the endpoint is disabled: enable it (PATCH with enabled true) before redelivering")
    delivery = deliveries.get_delivery(svc.metadata, scope, endpoint_id, dlv_id)
    target = EndpointTarget.load(svc, scope, endpoint_id, record)
    delivery = deliveries.restart_delivery(svc.metadata, delivery)
    return attempt(svc, target, delivery)


def send_test_event(svc: Services, scope: TenantScope, endpoint_id: str, event_type: str | None) -> Delivery:
    """Deliver a test event of ``event_type`` (the endpoint's first subscribed type if
    ``None``) to this endpoint now, enabled or not, and return its delivery."""
    record = endpoints.get_record(svc, scope, endpoint_id)
    endpoint = WebhookEndpoint.from_record(endpoint_id, record)
    chosen = event_type or endpoint.events[0]
    if chosen not in EVENT_TYPES:
        raise BadRequest(f"'type' must be one of {', '.join(EVENT_TYPES)}")
    delivery = deliveries.create_delivery(svc.metadata, scope, endpoint_id, sample_event(scope.tenant_id, chosen))
    assert delivery is not None  # a fresh event id: its delivery cannot exist yet
    return attempt(svc, EndpointTarget.load(svc, scope, endpoint_id, record), delivery)
