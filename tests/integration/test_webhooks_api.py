"""/v1/webhooks: create, list, get, update, delete, rotate; validation, tenancy, scopes, and
the signing secret (shown once, stored only encrypted)."""

from __future__ import annotations

import base64

import functions_framework
import pytest
from google.api_core.exceptions import GoogleAPICallError
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore

from beamit.devstack.emulators import REPO_ROOT
from beamit.errors import BadRequest
from beamit.settings import load_settings, reset_settings
from beamit.storage import reset_services
from beamit.webhooks import endpoints
from beamit.webhooks.destinations import DestinationPolicy

WEBHOOKS = "/v1/webhooks"
URL = "http://127.0.0.1:9/hooks"  # loopback http: accepted in the local environment only


def create(api, tenant, **body):
    body = {"url": URL, "events": ["study.received"], **body}
    return api.post(WEBHOOKS, json=body, headers=tenant.headers)


def test_endpoint_lifecycle(api, tenant):
    created = create(api, tenant, events=["share.accessed", "study.received"], description="PACS router")
    assert created.status_code == 201, created.text
    endpoint = created.json()
    assert endpoint["id"].startswith("whk_") and endpoint["object"] == "webhook_endpoint"
    assert endpoint["secret"].startswith("whsec_")
    assert len(base64.b64decode(endpoint["secret"].removeprefix("whsec_"))) == 32
    assert endpoint["events"] == ["study.received", "share.accessed"]  # canonical order
    assert endpoint["enabled"] is True and endpoint["status"] == "enabled"
    assert endpoint["description"] == "PACS router" and endpoint["disabledReason"] is None

    path = f"{WEBHOOKS}/{endpoint['id']}"
    listed = api.get(WEBHOOKS, headers=tenant.headers).json()
    assert [e["id"] for e in listed["data"]] == [endpoint["id"]]
    fetched = api.get(path, headers=tenant.headers).json()
    # The secret is never shown again.
    assert "secret" not in fetched and all("secret" not in e for e in listed["data"])
    assert endpoint["secret"] not in api.get(path, headers=tenant.headers).text

    changed = api.request("PATCH", path, json={"events": ["share.expired"], "enabled": False, "description": ""},
                          headers=tenant.headers)
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["events"] == ["share.expired"] and body["enabled"] is False and body["description"] == ""
    assert body["status"] == "disabled" and body["disabledReason"] is None and "secret" not in body
    assert body["url"] == URL

    deleted = api.delete(path, headers=tenant.headers)
    assert deleted.status_code == 200 and deleted.json() == {"id": endpoint["id"], "object": "webhook_endpoint",
                                                             "deleted": True}
    assert api.get(path, headers=tenant.headers).status_code == 404
    assert api.delete(path, headers=tenant.headers).status_code == 404
    assert api.get(f"{path}/deliveries", headers=tenant.headers).status_code == 404


def test_secret_is_stored_only_encrypted_with_kms(stack, svc, api, tenant):
    endpoint = create(api, tenant).json()
    secret = endpoint["secret"]
    client = firestore.Client(project=stack.settings.project_id, credentials=AnonymousCredentials())
    snapshot = client.document(f"tenants/{tenant.id}/webhooks/{endpoint['id']}").get()
    record = snapshot.to_dict()
    flat = repr(record).encode()
    raw_key = base64.b64decode(secret.removeprefix("whsec_"))
    assert secret.encode() not in flat and secret.removeprefix("whsec_").encode() not in flat
    assert raw_key not in record["secret"]["ciphertext"] and raw_key not in flat
    assert set(record) >= {"url", "events", "enabled", "secret", "createdAt"}
    assert isinstance(record["secret"]["ciphertext"], bytes)
    # It is the KMS ciphertext of the secret, bound to the tenant and endpoint.
    aad = f"{tenant.id}/{endpoint['id']}".encode()
    assert svc.keys.decrypt("secrets", record["secret"]["ciphertext"], aad=aad).decode() == secret
    with pytest.raises(GoogleAPICallError):
        svc.keys.decrypt("secrets", record["secret"]["ciphertext"], aad=b"other-tenant/" + endpoint["id"].encode())
    # After a rotation both the new and the overlapping old secret are stored encrypted.
    rotated = api.post(f"{WEBHOOKS}/{endpoint['id']}/rotate-secret", json={}, headers=tenant.headers).json()
    record = client.document(f"tenants/{tenant.id}/webhooks/{endpoint['id']}").get().to_dict()
    assert rotated["secret"].encode() not in repr(record).encode() and secret.encode() not in repr(record).encode()
    assert svc.keys.decrypt("secrets", record["previousSecret"]["ciphertext"], aad=aad).decode() == secret


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"url": "ftp://hooks.example.com/x"}, "https"),
        ({"url": "http://hooks.example.com/x"}, "https"),
        ({"url": "https://169.254.169.254/computeMetadata/v1/"}, "metadata server"),
        ({"url": "https://metadata.google.internal/"}, "metadata server"),
        ({"url": "https://user:pw@hooks.example.com/"}, "credentials"),
        ({"url": 5}, "url"),
        ({"events": []}, "events"),
        ({"events": "study.received"}, "events"),
        ({"events": ["study.received", "study.deleted"]}, "unknown event type(s): study.deleted"),
        ({"enabled": "yes"}, "enabled"),
        ({"description": "x" * 501}, "description"),
        ({"secret": "whsec_mine"}, "unknown field(s): secret"),
    ],
)
def test_bad_creates_are_refused_and_create_nothing(api, tenant, body, message):
    response = create(api, tenant, **body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request" and message in error["message"]
    assert api.get(WEBHOOKS, headers=tenant.headers).json()["data"] == []


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"data": "not json", "headers": {"Content-Type": "application/json"}}, 400),
        ({"data": "{}", "headers": {"Content-Type": "text/plain"}}, 415),
        ({"json": ["url"]}, 400),
        ({"json": {"events": ["study.received"]}}, 400),
        ({"json": {"url": URL}}, 400),
    ],
)
def test_malformed_bodies_get_json_errors(api, tenant, kwargs, status):
    headers = {**tenant.headers, **kwargs.pop("headers", {})}
    response = api.post(WEBHOOKS, headers=headers, **kwargs)
    assert response.status_code == status
    assert response.json()["error"]["message"] and response.json()["error"]["requestId"]


def test_bad_updates_change_nothing(api, tenant):
    endpoint = create(api, tenant).json()
    path = f"{WEBHOOKS}/{endpoint['id']}"
    for body in ({}, {"events": ["nope"]}, {"url": "https://169.254.169.254/"}, {"enabled": None}, {"id": "whk_x"}):
        response = api.request("PATCH", path, json=body, headers=tenant.headers)
        assert response.status_code == 400, (body, response.text)
    after = api.get(path, headers=tenant.headers).json()
    assert after["events"] == ["study.received"] and after["url"] == URL and after["enabled"] is True
    for body in ({"overlapSeconds": -1}, {"overlapSeconds": 604801}, {"overlapSeconds": "1h"}, {"overlap": 5}):
        response = api.post(f"{path}/rotate-secret", json=body, headers=tenant.headers)
        assert response.status_code == 400, (body, response.text)


def test_https_and_public_addresses_are_required_outside_local():
    production = DestinationPolicy.for_settings(
        load_settings({"BEAMIT_ENV": "production", "GOOGLE_CLOUD_PROJECT": "acme-prod"}))
    body = {"url": "http://127.0.0.1:8099/hooks", "events": ["study.received"]}
    with pytest.raises(BadRequest, match="https"):
        endpoints.validate_fields(body, production, partial=False)
    with pytest.raises(BadRequest, match="loopback"):
        endpoints.validate_fields({**body, "url": "https://127.0.0.1:8099/hooks"}, production, partial=False)
    public = {**body, "url": "https://hooks.example.com/beamit"}
    assert endpoints.validate_fields(public, production, partial=False)["url"] == public["url"]


@pytest.fixture
def sandbox_webhooks(stack, monkeypatch):
    """The webhooks function as deployed with BEAMIT_ENV=sandbox, in this process, on the emulators."""
    monkeypatch.setenv("BEAMIT_ENV", "sandbox")
    for hook in ("BEAMIT_TEST_AUDIT_FAILURE_TENANT", "BEAMIT_FAILPOINTS"):  # local-only test hooks
        monkeypatch.delenv(hook, raising=False)
    reset_settings()
    reset_services()
    app = functions_framework.create_app(target="webhooks", source=str(REPO_ROOT / "functions" / "main.py"))
    try:
        yield app.test_client()
    finally:
        monkeypatch.undo()
        reset_settings()
        reset_services()


@pytest.mark.parametrize("url", ["http://127.0.0.1:8099/hooks", "https://10.1.2.3/hooks", "https://localhost/hooks",
                                 "https://[fd12::1]/hooks"])
def test_sandbox_refuses_internal_destinations_and_stores_nothing(sandbox_webhooks, tenant, url):
    # sandbox runs on Google Cloud like production: a private address there is the platform's own network
    response = sandbox_webhooks.post(WEBHOOKS, json={"url": url, "events": ["study.received"]},
                                     headers=tenant.headers)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["error"]["type"] == "invalid_request"
    assert sandbox_webhooks.get(WEBHOOKS, headers=tenant.headers).get_json()["data"] == []


def test_other_tenants_endpoints_are_not_found(api, make_tenant):
    a, b = make_tenant(), make_tenant()
    endpoint = create(api, a).json()
    path = f"{WEBHOOKS}/{endpoint['id']}"
    assert api.get(path, headers=b.headers).status_code == 404
    assert api.request("PATCH", path, json={"enabled": False}, headers=b.headers).status_code == 404
    assert api.delete(path, headers=b.headers).status_code == 404
    assert api.post(f"{path}/rotate-secret", headers=b.headers).status_code == 404
    assert api.get(f"{path}/deliveries", headers=b.headers).status_code == 404
    assert api.get(f"{path}/deliveries/dlv_{'0' * 24}", headers=b.headers).status_code == 404
    assert api.post(f"{path}/deliveries/dlv_{'0' * 24}/redeliver", headers=b.headers).status_code == 404
    assert api.get(WEBHOOKS, headers=b.headers).json()["data"] == []
    # A's endpoint is untouched.
    after = api.get(path, headers=a.headers).json()
    assert after["enabled"] is True and after["previousSecretExpiresAt"] is None


@pytest.mark.parametrize("endpoint_id", ["whk_doesnotexist00000", "nope", "whk_" + "A" * 20, "..%2F..%2Fapi_keys"])
def test_unknown_or_malformed_ids_are_not_found(api, tenant, endpoint_id):
    response = api.get(f"{WEBHOOKS}/{endpoint_id}", headers=tenant.headers)
    assert response.status_code == 404 and response.json()["error"]["type"] == "not_found"


def test_authentication_and_scope(api, make_tenant):
    assert api.get(WEBHOOKS).status_code == 401
    assert api.post(WEBHOOKS, json={"url": URL, "events": ["study.received"]}).status_code == 401
    assert api.get(WEBHOOKS, headers={"Authorization": "Bearer bk_local_nope"}).status_code == 401
    reader = make_tenant(scopes=["studies:read", "keys:manage"])
    for method, path in (("GET", WEBHOOKS), ("POST", WEBHOOKS), ("GET", f"{WEBHOOKS}/whk_{'a' * 20}"),
                         ("POST", f"{WEBHOOKS}/whk_{'a' * 20}/rotate-secret")):
        response = api.request(method, path, json={}, headers=reader.headers)
        assert response.status_code == 403, (method, path)
        assert "webhooks:manage" in response.json()["error"]["message"]


def test_delivery_log_paging_and_validation(api, tenant):
    endpoint = create(api, tenant).json()
    path = f"{WEBHOOKS}/{endpoint['id']}/deliveries"
    empty = api.get(path, headers=tenant.headers).json()
    assert empty == {"object": "list", "data": [], "hasMore": False}
    for query in ("limit=0", "limit=101", "limit=x", "status=done", f"startingAfter=dlv_{'0' * 24}"):
        response = api.get(f"{path}?{query}", headers=tenant.headers)
        assert response.status_code == 400, query
    assert api.get(f"{path}/dlv_{'0' * 24}", headers=tenant.headers).status_code == 404
    assert api.get(f"{path}/not-a-delivery", headers=tenant.headers).status_code == 404


def test_at_most_twenty_endpoints_per_tenant(api, tenant):
    for _ in range(endpoints.MAX_ENDPOINTS):
        assert create(api, tenant).status_code == 201
    refused = create(api, tenant)
    assert refused.status_code == 400 and refused.json()["error"]["type"] == "limit_exceeded"
