"""Fan-out, the retry state machine, disabling and redelivery, on in-memory stores (the
integration suite runs the same code on the emulators through the functions)."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest

from beamit.clock import utcnow
from beamit.errors import Conflict
from beamit.settings import load_settings
from beamit.storage import Services
from beamit.storage.firestore import index_shape
from beamit.tenancy import TenantScope
from beamit.webhooks import deliveries, dispatch, endpoints
from beamit.webhooks.payloads import WebhookEvent
from beamit.webhooks.schedule import RETRY_DELAYS
from tests.infra.indexes import uncovered
from tests.memory_store import MemoryStore
from tests.webhook_receiver import Answer, Receiver, python_verifier

SCOPE = TenantScope("acme-health")


class FakeKeys:
    """Stands in for Cloud KMS: ciphertext that only decrypts with the same AAD."""

    def encrypt(self, key, plaintext, aad=b""):
        return b"kms:" + base64.b64encode(aad) + b":" + base64.b64encode(plaintext[::-1])

    def decrypt(self, key, ciphertext, aad=b""):
        _, wrapped_aad, body = ciphertext.split(b":")
        if base64.b64decode(wrapped_aad) != aad:
            raise ValueError("AAD mismatch")
        return base64.b64decode(body)[::-1]

    def ping(self, key):
        return None


@pytest.fixture
def svc():
    return Services(settings=load_settings({}), blobs=None, metadata=MemoryStore(), events=None, keys=FakeKeys())


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def register(svc, url, events=("study.received",), enabled=True):
    fields = {"url": url, "events": list(events), "enabled": enabled, "description": ""}
    return endpoints.create_endpoint(svc, SCOPE, fields)


def event(event_type="study.received", n=1):
    return WebhookEvent.from_envelope({
        "id": f"evt_{n:024d}", "type": event_type, "createdAt": "2026-02-20T10:30:00Z", "tenantId": SCOPE.tenant_id,
        "data": {"studyInstanceUID": "1.2.3", "studyDate": "20260220", "modality": "CT", "patientId": "p1",
                 "instanceCount": 1, "studyDescription": "CT"}})


def queue(svc):
    return {path: data for path, data in svc.metadata.docs.items() if path.startswith(deliveries.QUEUE + "/")}


def test_secret_is_stored_encrypted_bound_to_tenant_and_endpoint(svc):
    issued = register(svc, "http://127.0.0.1:9/x")
    record = svc.metadata.get(endpoints.endpoint_path(SCOPE, issued.endpoint.id))
    assert issued.secret.encode() not in json.dumps(record, default=repr).encode()
    assert endpoints.signing_secrets(svc, SCOPE, issued.endpoint.id, record).current == issued.secret
    with pytest.raises(ValueError):
        endpoints.signing_secrets(svc, TenantScope("other-tenant"), issued.endpoint.id, record)


def test_fan_out_only_to_enabled_subscribed_endpoints_once_per_event(svc, receiver):
    wanted = register(svc, receiver.url)
    register(svc, receiver.url, events=("share.accessed",))
    register(svc, receiver.url, enabled=False)
    sent = dispatch.deliver_event(svc, event())
    assert [d.endpoint_id for d in sent] == [wanted.endpoint.id]
    assert sent[0].status == deliveries.SUCCEEDED and len(receiver.requests) == 1
    verify = python_verifier()["verify_webhook"]
    request = receiver.requests[0]
    assert verify(wanted.secret, request.headers, request.body) == json.loads(event().body())
    # Pub/Sub redelivers the same push: nothing new is sent or recorded.
    assert dispatch.deliver_event(svc, event()) == []
    assert len(receiver.requests) == 1 and queue(svc) == {}


def test_failures_are_retried_on_schedule_until_success(svc, receiver):
    issued = register(svc, receiver.url)
    receiver.fail(2, status=503)
    (first,) = dispatch.deliver_event(svc, event())
    assert first.status == deliveries.RETRYING and first.next_attempt_at is not None
    assert timedelta(seconds=3) < first.next_attempt_at - utcnow() < timedelta(seconds=7)
    (entry,) = queue(svc).values()
    assert entry["dueAt"] == first.next_attempt_at
    assert dispatch.run_due_retries(svc) == {}  # not due yet
    assert dispatch.run_due_retries(svc, now=utcnow() + timedelta(seconds=10)) == {"retrying": 1}
    assert dispatch.run_due_retries(svc, now=utcnow() + timedelta(hours=1)) == {"succeeded": 1}
    log = deliveries.get_delivery(svc.metadata, SCOPE, issued.endpoint.id, first.id)
    assert [a["statusCode"] for a in log.attempts] == [503, 503, 200]
    assert log.status == deliveries.SUCCEEDED and log.next_attempt_at is None and queue(svc) == {}
    # The failure streak was recorded and cleared again.
    assert endpoints.get_endpoint(svc, SCOPE, issued.endpoint.id).failing_since is None


def test_retries_give_up_after_the_last_scheduled_attempt(svc, receiver):
    issued = register(svc, receiver.url)
    receiver.default = Answer(500)
    (delivery,) = dispatch.deliver_event(svc, event())
    svc.metadata.update(delivery.path, {"seriesAttempts": len(RETRY_DELAYS)})
    assert dispatch.run_due_retries(svc, now=utcnow() + timedelta(days=1)) == {"failed": 1}
    log = deliveries.get_delivery(svc.metadata, SCOPE, issued.endpoint.id, delivery.id)
    assert log.failure_reason == "no success after 11 attempts" and queue(svc) == {}


def test_redirects_are_failures_and_retry_after_is_honoured(svc, receiver):
    register(svc, receiver.url)
    receiver.answers = [Answer(301, headers={"Location": "https://elsewhere.example/"}),
                        Answer(429, headers={"Retry-After": "3600"})]
    (delivery,) = dispatch.deliver_event(svc, event())
    assert delivery.attempts[-1]["error"] == "HTTP 301: redirects are not followed"
    dispatch.run_due_retries(svc, now=utcnow() + timedelta(minutes=1))
    (entry,) = queue(svc).values()
    assert timedelta(minutes=59) < entry["dueAt"] - utcnow() <= timedelta(hours=1)


def test_410_disables_the_endpoint_and_drops_its_queued_retries(svc, receiver):
    issued = register(svc, receiver.url, events=("study.received", "share.accessed"))
    receiver.fail(1, status=500)
    (waiting,) = dispatch.deliver_event(svc, event(n=1))
    receiver.default = Answer(410)
    (gone,) = dispatch.deliver_event(svc, event(n=2))
    assert gone.status == deliveries.FAILED and "410" in (gone.failure_reason or "")
    endpoint = endpoints.get_endpoint(svc, SCOPE, issued.endpoint.id)
    assert not endpoint.enabled and endpoint.disabled_reason == "the endpoint answered 410 Gone"
    assert dispatch.run_due_retries(svc, now=utcnow() + timedelta(minutes=1)) == {"abandoned": 1}
    dropped = deliveries.get_delivery(svc.metadata, SCOPE, issued.endpoint.id, waiting.id)
    assert dropped.status == deliveries.FAILED and dropped.failure_reason == "the endpoint is disabled"
    assert dispatch.deliver_event(svc, event(n=3)) == [] and len(receiver.requests) == 2
    with pytest.raises(Conflict):
        dispatch.redeliver(svc, SCOPE, issued.endpoint.id, waiting.id)


def test_an_endpoint_failing_for_three_days_is_disabled(svc, receiver):
    issued = register(svc, receiver.url)
    path = endpoints.endpoint_path(SCOPE, issued.endpoint.id)
    receiver.default = Answer(500)
    dispatch.deliver_event(svc, event(n=1))
    started = svc.metadata.get(path)["failingSince"]
    assert started is not None and svc.metadata.get(path)["enabled"]
    svc.metadata.update(path, {"failingSince": utcnow() - timedelta(days=3, minutes=1)})
    dispatch.deliver_event(svc, event(n=2))
    endpoint = endpoints.get_endpoint(svc, SCOPE, issued.endpoint.id)
    assert not endpoint.enabled and "for 3 days" in (endpoint.disabled_reason or "")
    # Enabling it again clears the reason and the streak.
    endpoint = endpoints.update_endpoint(svc, SCOPE, issued.endpoint.id, {"enabled": True})
    assert endpoint.enabled and endpoint.disabled_reason is None and endpoint.failing_since is None


def test_an_attempt_that_never_happened_is_picked_up_when_its_lease_ends(svc, receiver):
    issued = register(svc, receiver.url)
    delivery = deliveries.create_delivery(svc.metadata, SCOPE, issued.endpoint.id, event())  # then a crash
    assert delivery is not None
    assert dispatch.run_due_retries(svc, now=utcnow() + timedelta(seconds=30)) == {}
    assert dispatch.run_due_retries(svc, now=utcnow() + deliveries.LEASE + timedelta(seconds=1)) == {"succeeded": 1}
    assert len(receiver.requests) == 1


def test_a_claimed_entry_is_not_claimed_twice(svc, receiver):
    issued = register(svc, receiver.url)
    delivery = deliveries.create_delivery(svc.metadata, SCOPE, issued.endpoint.id, event())
    entry = deliveries.queue_path(SCOPE.tenant_id, delivery.id)
    later = utcnow() + timedelta(minutes=5)
    assert deliveries.claim(svc.metadata, entry, later) is not None
    assert deliveries.claim(svc.metadata, entry, later) is None


def test_deleted_endpoints_drop_their_queue_entries(svc, receiver):
    issued = register(svc, receiver.url)
    receiver.fail(1)
    dispatch.deliver_event(svc, event())
    endpoints.delete_endpoint(svc, SCOPE, issued.endpoint.id)
    assert dispatch.run_due_retries(svc, now=utcnow() + timedelta(minutes=1)) == {"abandoned": 1}
    assert queue(svc) == {} and not any("/deliveries/" in p for p in svc.metadata.docs)


def test_redelivery_sends_again_and_restarts_the_schedule(svc, receiver):
    issued = register(svc, receiver.url)
    (delivery,) = dispatch.deliver_event(svc, event())
    receiver.fail(1)
    again = dispatch.redeliver(svc, SCOPE, issued.endpoint.id, delivery.id)
    assert again.status == deliveries.RETRYING and again.series_attempts == 1 and again.attempt_count == 2
    assert receiver.requests[0].body == receiver.requests[1].body
    assert receiver.requests[1].headers["webhook-id"] == receiver.requests[0].headers["webhook-id"]


def test_refused_destinations_are_failed_attempts(svc):
    issued = register(svc, "http://127.0.0.1:9/x")
    path = endpoints.endpoint_path(SCOPE, issued.endpoint.id)
    svc.metadata.update(path, {"url": "https://169.254.169.254/computeMetadata/v1/"})  # stored before a policy change
    (delivery,) = dispatch.deliver_event(svc, event())
    assert delivery.status == deliveries.RETRYING
    assert delivery.attempts[0]["error"] == "refused: 'url' names the metadata server"


class RecordingStore(MemoryStore):
    def __init__(self):
        super().__init__()
        self.queries = []

    def query(self, query):
        self.queries.append(query)
        return super().query(query)


def test_every_query_has_its_index(receiver):
    store = RecordingStore()
    svc = Services(settings=load_settings({}), blobs=None, metadata=store, events=None, keys=FakeKeys())
    issued = register(svc, receiver.url)
    receiver.fail(1)
    (delivery,) = dispatch.deliver_event(svc, event())
    dispatch.run_due_retries(svc, now=utcnow() + timedelta(minutes=1))
    endpoints.list_endpoints(svc, SCOPE)
    for status in (None, "failed"):
        deliveries.list_deliveries(store, SCOPE, issued.endpoint.id, status=status, starting_after=delivery.id)
    assert uncovered([index_shape(q) for q in store.queries]) == []
    assert any(q.filters and q.filters[0].field == "status" for q in store.queries)
