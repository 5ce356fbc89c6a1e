"""POST /v1/webhooks/{id}/test: a signed test event reaches one endpoint, once, and is logged;
malformed, unauthenticated, wrong-scope and other-tenant requests change nothing."""

from __future__ import annotations

import json

import pytest
from standardwebhooks import Webhook

from beamit.webhooks import deliveries
from beamit.webhooks.samples import SAMPLE_STUDY_UID
from tests.webhook_receiver import Receiver, python_verifier

WEBHOOKS = "/v1/webhooks"


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def register(api, tenant, url, events=("study.received", "share.accessed"), enabled=True) -> dict:
    body = {"url": url, "events": list(events), "enabled": enabled}
    response = api.post(WEBHOOKS, json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    return response.json()


def log_of(api, tenant, endpoint_id) -> list[dict]:
    response = api.get(f"{WEBHOOKS}/{endpoint_id}/deliveries", headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_a_test_event_is_signed_marked_and_logged(api, tenant, receiver):
    endpoint = register(api, tenant, receiver.url)
    response = api.post(f"{WEBHOOKS}/{endpoint['id']}/test", json={"type": "share.accessed"}, headers=tenant.headers)
    assert response.status_code == 201, response.text
    delivery = response.json()
    assert delivery["test"] is True and delivery["eventType"] == "share.accessed"
    assert delivery["status"] == "succeeded" and delivery["lastStatusCode"] == 200
    assert delivery["attemptCount"] == 1 and delivery["lastLatencyMs"] >= 0

    (received,) = receiver.wait_for(1)
    # Verified as any delivery: the Standard Webhooks library, and the docs' own snippet.
    event = Webhook(endpoint["secret"]).verify(received.body, received.headers)
    assert event == python_verifier()["verify_webhook"](endpoint["secret"], received.headers, received.body)
    assert event["test"] is True and event["type"] == "share.accessed" and event["id"] == delivery["eventId"]
    assert set(event) == {"id", "type", "createdAt", "data", "test"}
    assert set(event["data"]) == {"shareId", "studyInstanceUID", "studyInstanceUIDs", "expiresAt", "accessedAt",
                                  "viewCount"}
    assert received.headers["X-BeamIt-Event"] == "share.accessed"
    assert received.headers["X-BeamIt-Delivery"] == delivery["id"]

    (logged,) = log_of(api, tenant, endpoint["id"])
    assert logged["id"] == delivery["id"] and logged["test"] is True and logged["status"] == "succeeded"
    assert logged["attempts"][0]["statusCode"] == 200


def test_the_default_type_is_the_endpoints_first(api, tenant, receiver):
    endpoint = register(api, tenant, receiver.url, events=("study.received",))
    response = api.post(f"{WEBHOOKS}/{endpoint['id']}/test", headers=tenant.headers)  # no body at all
    assert response.status_code == 201, response.text
    (received,) = receiver.wait_for(1)
    event = json.loads(received.body)
    assert event["type"] == "study.received" and event["data"]["studyInstanceUID"] == SAMPLE_STUDY_UID
    assert event["data"]["studyDescription"] == "BEAMIT TEST EVENT"


def test_a_failed_test_is_not_retried_and_leaves_the_endpoint_alone(svc, api, tenant, receiver):
    receiver.fail(1, status=410)
    endpoint = register(api, tenant, receiver.url, enabled=False)  # tests reach disabled endpoints too
    response = api.post(f"{WEBHOOKS}/{endpoint['id']}/test", json={}, headers=tenant.headers)
    assert response.status_code == 201, response.text
    delivery = response.json()
    assert delivery["status"] == "failed" and delivery["lastStatusCode"] == 410
    assert delivery["nextAttemptAt"] is None and "attempted once" in delivery["failureReason"]
    after = api.get(f"{WEBHOOKS}/{endpoint['id']}", headers=tenant.headers).json()
    assert after["disabledReason"] is None and after["failingSince"] is None
    # Nothing is queued for a retry.
    assert svc.metadata.get(deliveries.queue_path(tenant.id, delivery["id"])) is None
    assert len(receiver.requests) == 1
    assert log_of(api, tenant, endpoint["id"])[0]["attemptCount"] == 1


@pytest.mark.parametrize(
    ("kwargs", "status", "message"),
    [
        ({"json": {"type": "study.deleted"}}, 400, "'type' must be one of"),
        ({"json": {"type": 3}}, 400, "'type'"),
        ({"json": {"type": "study.received", "data": {}}}, 400, "unknown field(s): data"),
        ({"json": ["study.received"]}, 400, "JSON object"),
        ({"data": "{", "headers": {"Content-Type": "application/json"}}, 400, "not valid JSON"),
        ({"data": "type=study.received", "headers": {"Content-Type": "text/plain"}}, 415, "application/json"),
    ],
)
def test_malformed_requests_send_nothing(api, tenant, receiver, kwargs, status, message):
    endpoint = register(api, tenant, receiver.url)
    headers = {**tenant.headers, **kwargs.pop("headers", {})}
    response = api.post(f"{WEBHOOKS}/{endpoint['id']}/test", headers=headers, **kwargs)
    assert response.status_code == status, response.text
    assert message in response.json()["error"]["message"]
    assert log_of(api, tenant, endpoint["id"]) == [] and receiver.requests == []


def test_unauthenticated_wrong_scope_and_other_tenants_are_refused(api, make_tenant, receiver):
    owner, other = make_tenant(), make_tenant()
    reader = make_tenant(scopes=["studies:read", "shares:write"])
    endpoint = register(api, owner, receiver.url)
    path = f"{WEBHOOKS}/{endpoint['id']}/test"
    assert api.post(path).status_code == 401
    assert api.post(path, headers={"Authorization": "Bearer bk_local_nope"}).status_code == 401
    refused = api.post(path, headers=reader.headers)
    assert refused.status_code == 403 and "webhooks:manage" in refused.json()["error"]["message"]
    assert api.post(path, headers=other.headers).status_code == 404
    assert api.post(f"{WEBHOOKS}/whk_{'0' * 20}/test", headers=owner.headers).status_code == 404
    assert api.post(f"{WEBHOOKS}/nope/test", headers=owner.headers).status_code == 404
    assert log_of(api, owner, endpoint["id"]) == [] and receiver.requests == []


def test_the_test_route_is_documented(api):
    paths = api.get("/v1/openapi.json").json()["paths"]
    assert "post" in paths["/v1/webhooks/{endpointId}/test"]
