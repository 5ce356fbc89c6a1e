"""GET /v1/audit?action=...: records of one action (method and route template), alone or
with the other filters, in the export too; malformed, unauthenticated, wrong-scope and
other-tenant queries."""

from __future__ import annotations

import pytest

from tests.integration.test_audit import call, trail

CREATE_KEY = "POST /v1/api-keys"
REVOKE_KEY = "DELETE /v1/api-keys/<key_id>"


@pytest.fixture
def key_calls(api, tenant):
    """Two keys created, one revoked, one list call: request ids by name."""
    created = api.post("/v1/api-keys", json={"name": "one", "scopes": ["studies:read"]}, headers=tenant.headers)
    assert created.status_code == 201, created.text
    ids = {
        "create": created.headers["X-Request-Id"],
        "create2": call(api, "POST", "/v1/api-keys", tenant.headers, json={"name": "two", "scopes": ["audit:read"]}),
        "revoke": call(api, "DELETE", f"/v1/api-keys/{created.json()['id']}", tenant.headers),
        "list": call(api, "GET", "/v1/api-keys", tenant.headers),
    }
    return ids


def test_action_filter(api, tenant, key_calls):
    created = trail(api, tenant.headers, action=CREATE_KEY)
    assert {r["requestId"] for r in created} == {key_calls["create"], key_calls["create2"]}
    assert all(r["action"] == CREATE_KEY for r in created)
    assert [r["time"] for r in created] == sorted((r["time"] for r in created), reverse=True)
    revoked = trail(api, tenant.headers, action=REVOKE_KEY)
    assert [r["requestId"] for r in revoked] == [key_calls["revoke"]]
    # With the other filters, and paged.
    mine = trail(api, tenant.headers, action=CREATE_KEY, principal=tenant.key_id, limit=1)
    assert {r["requestId"] for r in mine} == {key_calls["create"], key_calls["create2"]}
    assert trail(api, tenant.headers, action=CREATE_KEY, principal="key_someoneelse000000") == []
    assert trail(api, tenant.headers, action=CREATE_KEY, study="1.2.3") == []
    assert trail(api, tenant.headers, action="POST /v1/shares") == []


def test_export_takes_the_action_filter(api, tenant, key_calls):
    response = api.get("/v1/audit/export", params={"action": REVOKE_KEY}, headers=tenant.headers)
    assert response.status_code == 200, response.text
    bundle = response.json()
    assert bundle["resourceType"] == "Bundle" and len(bundle["entry"]) == 1
    listed = api.get("/v1/audit", params={"action": REVOKE_KEY, "limit": 1}, headers=tenant.headers).json()
    assert listed["data"][0]["id"] in bundle["entry"][0]["fullUrl"]


@pytest.mark.parametrize("action", ["shares", "POST", "post /v1/shares", "POST v1/shares", "POST /v1/" + "x" * 300,
                                    "POST /v1/shares\n", "GET /v1/caf\u00e9"])
def test_malformed_actions_are_400(api, tenant, action):
    response = api.get("/v1/audit", params={"action": action}, headers=tenant.headers)
    assert response.status_code == 400, response.text
    assert "'action'" in response.json()["error"]["message"]


def test_unauthenticated_wrong_scope_and_other_tenants(api, make_tenant, tenant, key_calls):
    assert api.get("/v1/audit", params={"action": CREATE_KEY}).status_code == 401
    writer = make_tenant(scopes=["keys:manage", "studies:read"])
    refused = api.get("/v1/audit", params={"action": CREATE_KEY}, headers=writer.headers)
    assert refused.status_code == 403 and "audit:read" in refused.json()["error"]["message"]
    other = make_tenant()
    assert trail(api, other.headers, action=CREATE_KEY) == []  # tenant's records stay in its own trail
