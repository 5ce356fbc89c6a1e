"""Webhook deliveries end to end: a real STOW, the events topic, the webhook-delivery push
function, the webhook-retry scheduled function, and a receiver that verifies as the docs say."""

from __future__ import annotations

import json
import time

import pytest
import requests
from standardwebhooks import Webhook

from beamit.devstack.scheduler import tick
from beamit.events import EVENT_TYPES, SHARE_ACCESSED, SHARE_EXPIRED, STUDY_RECEIVED, STUDY_SHARED, publish_event
from beamit.webhooks import deliveries
from tests.dicom_samples import ct_instance, multipart, part10_bytes
from tests.support import poll_until, sweep_until
from tests.webhook_receiver import Answer, Receiver, make_due, python_verifier

WEBHOOKS = "/v1/webhooks"
STOW = "/v1/dicomweb/studies"
DOCUMENTED_DATA = ["studyInstanceUID", "studyDate", "modality", "patientId", "instanceCount", "studyDescription",
                   "seriesCount", "modalities", "update", "previousInstanceCount"]


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def make_receiver():
    made: list[Receiver] = []

    def make() -> Receiver:
        made.append(Receiver())
        return made[-1]

    yield make
    for r in made:
        r.close()


@pytest.fixture(scope="module")
def snippet():
    """docs/webhooks.md's Python snippet: ``verify_webhook`` and ``InvalidWebhook``."""
    return python_verifier()


@pytest.fixture(scope="module")
def verify(snippet):
    return snippet["verify_webhook"]


def register(api, tenant, url, events=(STUDY_RECEIVED,)) -> dict:
    response = api.post(WEBHOOKS, json={"url": url, "events": list(events)}, headers=tenant.headers)
    assert response.status_code == 201, response.text
    return response.json()


def store_study(api, tenant):
    ds = ct_instance()
    body, content_type = multipart([part10_bytes(ds)])
    response = api.post(STOW, data=body, headers={**tenant.headers, "Content-Type": content_type})
    assert response.status_code == 200, response.text
    return ds


def announced(stack, receiver, count=1):
    """Run the event sweep (as Cloud Scheduler would) until ``receiver`` has ``count`` requests."""
    return sweep_until(stack, lambda: len(receiver.requests) >= count and receiver.requests[:count],
                       what=f"{count} study.received deliveries")


def delivery_log(api, tenant, endpoint_id, **params) -> dict:
    response = api.get(f"{WEBHOOKS}/{endpoint_id}/deliveries", params=params, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()


def wait_for_log(api, tenant, endpoint_id, done, timeout=15.0) -> list[dict]:
    """The delivery log once ``done(deliveries)`` holds (attempts are recorded after the answer)."""
    seen: list[dict] = []

    def reached() -> bool:
        seen[:] = delivery_log(api, tenant, endpoint_id)["data"]
        return bool(done(seen))

    poll_until(reached, timeout=timeout, what=lambda: f"the delivery log {seen}")
    return seen


def wait_for_event(receiver, event_id: str):
    """The request that delivered ``event_id`` to ``receiver``."""
    (request,) = receiver.wait_for(1, where=lambda r: json.loads(r.body)["id"] == event_id)
    return request


def logged_events(api, tenant, endpoint_id) -> set[str]:
    """The event ids in an endpoint's delivery log. An event's fan-out records its delivery to
    every endpoint before it attempts any, so once one attempt of an event was received, the
    log holds every delivery of that event: a positive barrier for "not delivered here"."""
    return {d["eventId"] for d in delivery_log(api, tenant, endpoint_id, limit=100)["data"]}


def test_a_stored_study_is_delivered_signed_as_documented(stack, api, tenant, receiver, verify):
    endpoint = register(api, tenant, receiver.url)
    ds = store_study(api, tenant)
    (request,) = announced(stack, receiver)
    headers = request.headers
    assert request.path == "/hooks/beamit"
    assert headers["Content-Type"] == "application/json"
    assert headers["X-BeamIt-Event"] == "study.received"
    assert headers["X-BeamIt-Delivery"].startswith("dlv_")
    assert abs(int(headers["X-BeamIt-Timestamp"]) - time.time()) < 60
    assert headers["webhook-timestamp"] == headers["X-BeamIt-Timestamp"]
    assert headers["X-BeamIt-Signature"].startswith("sha256=") and len(headers["X-BeamIt-Signature"]) == 71
    body = json.loads(request.body)
    assert list(body) == ["id", "type", "createdAt", "data"]
    assert body["id"].startswith("evt_") and headers["webhook-id"] == body["id"]
    assert body["type"] == "study.received"
    assert list(body["data"]) == DOCUMENTED_DATA
    assert body["data"]["studyInstanceUID"] == ds.StudyInstanceUID
    assert body["data"]["instanceCount"] == 1 and body["data"]["modality"] == "CT"
    assert body["data"]["seriesCount"] == 1 and body["data"]["modalities"] == ["CT"]
    assert body["data"]["update"] is False and body["data"]["previousInstanceCount"] == 0
    assert b"tenantId" not in request.body and tenant.id.encode() not in request.body
    # The receiver verifies both signatures as docs/webhooks.md shows, and with the library.
    assert verify(endpoint["secret"], headers, request.body) == body
    assert Webhook(endpoint["secret"]).verify(request.body, headers) == body
    (logged,) = wait_for_log(api, tenant, endpoint["id"], lambda d: d and d[0]["status"] == "succeeded")
    assert logged["id"] == headers["X-BeamIt-Delivery"] and logged["eventId"] == body["id"]
    assert logged["attemptCount"] == 1 and logged["lastStatusCode"] == 200
    assert logged["attempts"][0]["latencyMs"] >= 0 and logged["attempts"][0]["error"] is None
    assert "body" not in logged and "data" not in logged


def test_a_failing_receiver_is_retried_until_it_recovers(stack, svc, api, tenant, receiver, verify):
    endpoint = register(api, tenant, receiver.url)
    receiver.fail(2, status=503)
    store_study(api, tenant)
    announced(stack, receiver)
    (pending,) = wait_for_log(api, tenant, endpoint["id"], lambda d: d and d[0]["attemptCount"] == 1)
    assert pending["status"] == "retrying" and pending["nextAttemptAt"] is not None
    assert pending["attempts"][0]["statusCode"] == 503 and pending["attempts"][0]["error"] == "HTTP 503"
    failing = api.get(f"{WEBHOOKS}/{endpoint['id']}", headers=tenant.headers).json()
    assert failing["failingSince"] is not None and failing["enabled"]

    for expected in (2, 3):  # the scheduled function, ticked as Cloud Scheduler would
        make_due(svc, tenant.id, pending["id"])
        assert tick(stack, only=("webhook-retry",))["webhook-retry"] == 200
        receiver.wait_for(expected)

    (done,) = wait_for_log(api, tenant, endpoint["id"], lambda d: d[0]["status"] == "succeeded")
    assert [a["statusCode"] for a in done["attempts"]] == [503, 503, 200]
    assert done["attemptCount"] == 3 and done["nextAttemptAt"] is None and done["deliveredAt"]
    assert all(a["latencyMs"] is not None for a in done["attempts"])
    first, *_, last = receiver.requests
    assert first.body == last.body
    assert {r.headers["X-BeamIt-Delivery"] for r in receiver.requests} == {done["id"]}
    assert {r.headers["webhook-id"] for r in receiver.requests} == {done["eventId"]}
    assert verify(endpoint["secret"], last.headers, last.body)["id"] == done["eventId"]
    assert svc.metadata.get(deliveries.queue_path(tenant.id, done["id"])) is None
    recovered = api.get(f"{WEBHOOKS}/{endpoint['id']}", headers=tenant.headers).json()
    assert recovered["failingSince"] is None
    # One delivery via GET, and the log filtered by status.
    one = api.get(f"{WEBHOOKS}/{endpoint['id']}/deliveries/{done['id']}", headers=tenant.headers)
    assert one.status_code == 200 and one.json()["attempts"] == done["attempts"]
    assert [d["id"] for d in delivery_log(api, tenant, endpoint["id"], status="succeeded")["data"]] == [done["id"]]
    assert delivery_log(api, tenant, endpoint["id"], status="failed")["data"] == []


def test_410_disables_the_endpoint(svc, api, tenant, make_receiver):
    gone, healthy = make_receiver(), make_receiver()
    gone.default = Answer(410)
    endpoint = register(api, tenant, gone.url)
    publish_event(svc, tenant.id, STUDY_RECEIVED, {"studyInstanceUID": "1.2.3"})
    gone.wait_for(1)
    (failed,) = wait_for_log(api, tenant, endpoint["id"], lambda d: d and d[0]["status"] == "failed")
    assert "410" in failed["failureReason"]
    disabled = api.get(f"{WEBHOOKS}/{endpoint['id']}", headers=tenant.headers).json()
    assert disabled["enabled"] is False and disabled["status"] == "disabled"
    assert disabled["disabledReason"] == "the endpoint answered 410 Gone" and disabled["disabledAt"]
    # The next event goes to the healthy endpoint only (both are decided in one fan-out, whose
    # deliveries are all recorded before the healthy endpoint's attempt).
    register(api, tenant, healthy.url)
    publish_event(svc, tenant.id, STUDY_RECEIVED, {"studyInstanceUID": "1.2.4"})
    healthy.wait_for(1)
    assert [d["id"] for d in delivery_log(api, tenant, endpoint["id"])["data"]] == [failed["id"]]
    assert len(gone.requests) == 1
    # Redelivery needs the endpoint enabled first.
    redeliver = f"{WEBHOOKS}/{endpoint['id']}/deliveries/{failed['id']}/redeliver"
    assert api.post(redeliver, headers=tenant.headers).status_code == 409
    enabled = api.request("PATCH", f"{WEBHOOKS}/{endpoint['id']}", json={"enabled": True}, headers=tenant.headers)
    assert enabled.json()["enabled"] is True and enabled.json()["disabledReason"] is None
    gone.default = Answer(200)
    again = api.post(redeliver, headers=tenant.headers)
    assert again.status_code == 200 and again.json()["status"] == "succeeded"


def test_redeliver_sends_the_same_event_again(api, svc, tenant, receiver, verify):
    endpoint = register(api, tenant, receiver.url)
    publish_event(svc, tenant.id, STUDY_RECEIVED, {"studyInstanceUID": "1.2.5", "instanceCount": 3})
    receiver.wait_for(1)
    (delivery,) = wait_for_log(api, tenant, endpoint["id"], lambda d: d and d[0]["status"] == "succeeded")
    response = api.post(f"{WEBHOOKS}/{endpoint['id']}/deliveries/{delivery['id']}/redeliver", headers=tenant.headers)
    assert response.status_code == 200, response.text
    again = response.json()
    assert again["status"] == "succeeded" and again["attemptCount"] == 2 and len(again["attempts"]) == 2
    first, second = receiver.wait_for(2)
    assert first.body == second.body and json.loads(second.body)["data"] == {
        "studyInstanceUID": "1.2.5", "studyDate": None, "modality": None, "patientId": None, "instanceCount": 3,
        "studyDescription": None, "seriesCount": None, "modalities": None, "update": None,
        "previousInstanceCount": None}
    assert second.headers["webhook-id"] == first.headers["webhook-id"]
    assert second.headers["X-BeamIt-Delivery"] == first.headers["X-BeamIt-Delivery"] == delivery["id"]
    assert verify(endpoint["secret"], second.headers, second.body)
    missing = f"{WEBHOOKS}/{endpoint['id']}/deliveries/dlv_{'0' * 24}/redeliver"
    assert api.post(missing, headers=tenant.headers).status_code == 404
    assert api.post(f"{WEBHOOKS}/{endpoint['id']}/deliveries/nope/redeliver", headers=tenant.headers).status_code == 404


def test_a_slow_endpoint_does_not_hold_up_another(api, svc, tenant, make_receiver):
    slow, fast = make_receiver(), make_receiver()
    slow.default = Answer(200, delay=5.0)
    slow_endpoint = register(api, tenant, slow.url)
    register(api, tenant, fast.url)
    publish_event(svc, tenant.id, STUDY_RECEIVED, {"studyInstanceUID": "1.2.6"})
    (fast_request,) = fast.wait_for(1, timeout=4.0)  # well before the slow one answers
    (slow_request,) = slow.wait_for(1, timeout=4.0)
    assert abs(fast_request.at - slow_request.at) < 2.0  # attempted side by side
    (slow_delivery,) = wait_for_log(api, tenant, slow_endpoint["id"],
                                    lambda d: d and d[0]["status"] == "succeeded")
    assert slow_delivery["lastLatencyMs"] >= 4500


def test_secret_rotation_signs_with_both_secrets(api, svc, tenant, receiver, snippet, verify):
    endpoint = register(api, tenant, receiver.url)
    old = endpoint["secret"]
    rotated = api.post(f"{WEBHOOKS}/{endpoint['id']}/rotate-secret", json={"overlapSeconds": 3600},
                       headers=tenant.headers)
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new.startswith("whsec_") and new != old and rotated.json()["previousSecretExpiresAt"]
    publish_event(svc, tenant.id, STUDY_RECEIVED, {"studyInstanceUID": "1.2.7"})
    (request,) = receiver.wait_for(1)
    beamit_signatures = request.headers["X-BeamIt-Signature"].split(",")
    assert len(beamit_signatures) == 2 and all(s.startswith("sha256=") for s in beamit_signatures)
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):  # receivers on either secret accept it during the overlap
        assert verify(secret, request.headers, request.body)["type"] == "study.received"
        assert Webhook(secret).verify(request.body, request.headers)
    # A rotation without overlap retires the old secret at once.
    latest = api.post(f"{WEBHOOKS}/{endpoint['id']}/rotate-secret", json={"overlapSeconds": 0},
                      headers=tenant.headers).json()
    assert latest["previousSecretExpiresAt"] is None
    publish_event(svc, tenant.id, STUDY_RECEIVED, {"studyInstanceUID": "1.2.8"})
    _, request = receiver.wait_for(2)
    assert "," not in request.headers["X-BeamIt-Signature"]
    assert verify(latest["secret"], request.headers, request.body)
    for retired in (old, new):
        with pytest.raises(snippet["InvalidWebhook"]):
            verify(retired, request.headers, request.body)
    # Rotating with no body uses the default overlap (24 hours).
    default = api.post(f"{WEBHOOKS}/{endpoint['id']}/rotate-secret", headers=tenant.headers)
    assert default.status_code == 200 and default.json()["previousSecretExpiresAt"]


def test_share_events_are_delivered_to_their_subscribers(api, svc, tenant, make_receiver):
    shares, studies = make_receiver(), make_receiver()
    shares_endpoint = register(api, tenant, shares.url, events=(STUDY_SHARED, SHARE_ACCESSED, SHARE_EXPIRED))
    studies_endpoint = register(api, tenant, studies.url, events=(STUDY_RECEIVED,))
    published = {
        STUDY_SHARED: {"shareId": "share_abc", "studyInstanceUID": "1.2.9", "expiresAt": "2026-02-27T00:00:00Z"},
        SHARE_ACCESSED: {"shareId": "share_abc", "studyInstanceUID": "1.2.9"},
        SHARE_EXPIRED: {"shareId": "share_abc", "studyInstanceUID": "1.2.9"},
    }
    ids = {kind: publish_event(svc, tenant.id, kind, data) for kind, data in published.items()}
    received = shares.wait_for(3)
    by_type = {r.headers["X-BeamIt-Event"]: json.loads(r.body) for r in received}
    assert set(by_type) == set(published)
    for kind, body in by_type.items():
        assert body == {"id": ids[kind], "type": kind, "createdAt": body["createdAt"], "data": published[kind]}
    received_id = publish_event(svc, tenant.id, STUDY_RECEIVED, {"studyInstanceUID": "1.2.10"})
    wait_for_event(studies, received_id)
    # Each of the four events reached an endpoint, so its fan-out (which records every delivery
    # before it attempts any) is over: the logs hold all their deliveries.
    assert logged_events(api, tenant, shares_endpoint["id"]) == set(ids.values())
    assert logged_events(api, tenant, studies_endpoint["id"]) == {received_id}
    assert [r.headers["X-BeamIt-Event"] for r in studies.requests] == ["study.received"]
    assert len(shares.requests) == 3


def test_events_of_another_tenant_are_not_delivered(api, svc, make_tenant, make_receiver):
    a, b = make_tenant(), make_tenant()
    a_receiver, b_receiver = make_receiver(), make_receiver()
    a_endpoint = register(api, a, a_receiver.url, events=EVENT_TYPES)["id"]
    b_endpoint = register(api, b, b_receiver.url, events=EVENT_TYPES)["id"]
    b_event = publish_event(svc, b.id, STUDY_RECEIVED, {"studyInstanceUID": "1.2.11"})
    a_event = publish_event(svc, a.id, SHARE_ACCESSED, {"shareId": "share_a"})
    wait_for_event(b_receiver, b_event)
    wait_for_event(a_receiver, a_event)
    # Each event's fan-out records a delivery per endpoint before it attempts any: both events
    # were received, so each delivery they made exists by now, under either tenant.
    recorded = {
        (tenant.id, endpoint, event)
        for tenant in (a, b)
        for endpoint in (a_endpoint, b_endpoint)
        for event in (a_event, b_event)
        if svc.metadata.get(deliveries.delivery_path(tenant.scope, endpoint, deliveries.delivery_id(event, endpoint)))
    }
    assert recorded == {(a.id, a_endpoint, a_event), (b.id, b_endpoint, b_event)}
    assert logged_events(api, a, a_endpoint) == {a_event} and logged_events(api, b, b_endpoint) == {b_event}
    assert len(a_receiver.requests) == 1 and len(b_receiver.requests) == 1


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        json.dumps({"message": {"data": "bm90IGpzb24=", "messageId": "1"}}).encode(),  # data is not JSON
        json.dumps({"message": {"data": "eyJpZCI6ICJldnRfeCJ9", "messageId": "2"}}).encode(),  # not an event
    ],
)
def test_pushes_that_are_not_events_are_acknowledged_and_dropped(stack, body):
    response = requests.post(f"{stack.url}/_triggers/webhook-delivery", data=body,
                             headers={"Content-Type": "application/json"}, timeout=30)
    assert response.status_code == 204
