"""/v1/sandbox: seed synthetic studies through the ingest core, reset a tenant's studies and
shares; malformed, unauthenticated, wrong-scope and cross-tenant requests."""

from __future__ import annotations

import pytest

from beamit.sandbox.datasets import generate_study
from beamit.sandbox.tenant_data import SEED_CONFIG
from beamit.storage import Query
from tests.share_flow import create_share

SEED = "/v1/sandbox/seed"
RESET = "/v1/sandbox/reset"


def studies(api, tenant) -> list[str]:
    response = api.get("/v1/dicomweb/studies", params={"limit": 200}, headers=tenant.headers)
    assert response.status_code in (200, 204), response.text
    return sorted(s["0020000D"]["Value"][0] for s in (response.json() if response.status_code == 200 else []))


def objects(svc, tenant) -> int:
    return sum(len(list(svc.blobs.list(svc.settings.bucket(role), f"{tenant.id}/"))) for role in ("dicom", "derived"))


def test_seed_stores_synthetic_studies_through_the_ingest_core(api, svc, tenant):
    response = api.post(SEED, json={"count": 2, "seed": 7}, headers=tenant.headers)
    assert response.status_code == 201, response.text
    body = response.json()
    expected = [generate_study(7, i, SEED_CONFIG) for i in range(2)]
    assert body["object"] == "sandbox_seed" and body["failed"] == 0
    assert sorted(body["studies"]) == sorted(s.study_uid for s in expected) == studies(api, tenant)
    assert body["instances"] == sum(s.instance_count for s in expected)
    assert svc.metadata.count(Query(tenant.scope.collection("instances"))) == body["instances"]
    # The same seed again stores the same studies: nothing new.
    again = api.post(SEED, json={"count": 1, "seed": 7}, headers=tenant.headers).json()
    assert again["studies"] == [expected[0].study_uid]
    assert svc.metadata.count(Query(tenant.scope.collection("instances"))) == body["instances"]
    # Without a seed: new studies each time; no body at all means one.
    fresh = api.post(SEED, headers=tenant.headers)
    assert fresh.status_code == 201 and len(fresh.json()["studies"]) == 1
    assert len(studies(api, tenant)) == 3
    record = api.get("/v1/audit", params={"action": "POST /v1/sandbox/seed"}, headers=tenant.headers).json()
    assert record["data"][0]["eventCode"] == "110107" and record["data"][0]["details"]["synthetic"] is True


def test_reset_deletes_studies_and_shares_of_that_tenant_only(api, svc, make_tenant):
    mine, theirs = make_tenant(), make_tenant()
    for tenant in (mine, theirs):
        assert api.post(SEED, json={"count": 1, "seed": 3}, headers=tenant.headers).status_code == 201
    (study,) = studies(api, mine)
    share = create_share(api, mine, study)
    hook = api.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/x", "events": ["study.received"]},
                    headers=mine.headers).json()
    assert objects(svc, mine) > 0

    response = api.post(RESET, headers=mine.headers)
    assert response.status_code == 200, response.text
    deleted = response.json()["deleted"]
    assert deleted["studies"] == 1 and deleted["shares"] == 1 and deleted["share_codes"] == 1
    assert deleted["instances"] > 0 and deleted["objects"] > 0
    assert studies(api, mine) == [] and objects(svc, mine) == 0
    assert api.get(f"/v1/shares/{share['id']}", headers=mine.headers).status_code == 404
    assert api.get(f"/s/{share['shareCode']}").status_code == 404
    # Configuration and evidence stay: the key works, the webhook is there, the trail is whole.
    assert api.get(f"/v1/webhooks/{hook['id']}", headers=mine.headers).status_code == 200
    assert api.get("/v1/audit/verify", headers=mine.headers).json()["valid"] is True
    # The other tenant's studies are untouched.
    assert studies(api, theirs) == [study] and objects(svc, theirs) > 0
    # Resetting an empty tenant is fine.
    assert api.post(RESET, json={}, headers=mine.headers).json()["deleted"]["studies"] == 0


@pytest.mark.parametrize(
    ("path", "kwargs", "status"),
    [
        (SEED, {"json": {"count": 0}}, 400),
        (SEED, {"json": {"count": 11}}, 400),
        (SEED, {"json": {"count": "2"}}, 400),
        (SEED, {"json": {"count": True}}, 400),
        (SEED, {"json": {"seed": -1}}, 400),
        (SEED, {"json": {"count": 1, "modality": "CT"}}, 400),
        (SEED, {"json": [1]}, 400),
        (SEED, {"data": "{", "headers": {"Content-Type": "application/json"}}, 400),
        (SEED, {"data": "count=1", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, 415),
        (RESET, {"json": {"everything": True}}, 400),
        (RESET, {"data": "x", "headers": {"Content-Type": "text/plain"}}, 415),
    ],
)
def test_malformed_requests_change_nothing(api, tenant, path, kwargs, status):
    headers = {**tenant.headers, **kwargs.pop("headers", {})}
    response = api.post(path, headers=headers, **kwargs)
    assert response.status_code == status, response.text
    assert response.json()["error"]["message"]
    assert studies(api, tenant) == []


def test_unauthenticated_and_wrong_scopes(api, make_tenant):
    assert api.post(SEED, json={"count": 1}).status_code == 401
    assert api.post(RESET).status_code == 401
    reader = make_tenant(scopes=["studies:read", "shares:write"])
    refused = api.post(SEED, json={"count": 1}, headers=reader.headers)
    assert refused.status_code == 403 and "studies:write" in refused.json()["error"]["message"]
    writer = make_tenant(scopes=["studies:write", "studies:read"])
    assert api.post(SEED, json={"count": 1, "seed": 5}, headers=writer.headers).status_code == 201
    refused = api.post(RESET, headers=writer.headers)  # it deletes shares too
    assert refused.status_code == 403 and "shares:write" in refused.json()["error"]["message"]
    assert len(studies(api, writer)) == 1


def test_the_sandbox_routes_are_documented(api):
    paths = api.get("/v1/openapi.json").json()["paths"]
    assert "post" in paths[SEED] and "post" in paths[RESET]
