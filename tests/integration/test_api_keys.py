"""/v1/api-keys: issue, use, list, revoke; refusals for bad credentials and bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def test_key_lifecycle(api, tenant):
    created = api.post(
        "/v1/api-keys", json={"name": "pacs bridge", "scopes": ["studies:read", "keys:manage"]}, headers=tenant.headers
    )
    assert created.status_code == 201
    body = created.json()
    assert body["key"].startswith("bk_local_")
    assert body["id"].startswith("key_")
    assert body["scopes"] == ["keys:manage", "studies:read"]
    assert body["status"] == "active"
    new_headers = {"Authorization": f"Bearer {body['key']}"}

    # The new key works, and is bound to the creator's tenant.
    listed = api.get("/v1/api-keys", headers=new_headers)
    assert listed.status_code == 200
    ids = [k["id"] for k in listed.json()["data"]]
    assert body["id"] in ids and tenant.key_id in ids
    assert all("key" not in k for k in listed.json()["data"])  # never shown again

    fetched = api.get(f"/v1/api-keys/{body['id']}", headers=tenant.headers)
    assert fetched.status_code == 200
    assert fetched.json()["name"] == "pacs bridge"

    revoked = api.delete(f"/v1/api-keys/{body['id']}", headers=tenant.headers)
    assert revoked.status_code == 200
    assert revoked.json()["status"] == "revoked"
    # Revocation applies at once.
    assert api.get("/v1/api-keys", headers=new_headers).status_code == 401


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer bk_local_short",
        "Bearer bk_local_aaaaaaaaaaaaaaaa_" + "a" * 52,  # well-formed, unknown key
        "Bearer not-a-token",
    ],
)
def test_missing_or_malformed_credentials_are_refused(api, header):
    headers = {"Authorization": header} if header else {}
    response = api.get("/v1/api-keys", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "unauthenticated"


def test_right_key_id_wrong_secret_is_refused(api, tenant):
    prefix, secret = tenant.key.rsplit("_", 1)
    forged = prefix + "_" + ("b" if secret[0] != "b" else "c") + secret[1:]
    assert api.get("/v1/api-keys", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_missing_scope_is_forbidden(api, make_tenant):
    reader = make_tenant(scopes=["studies:read"])
    response = api.get("/v1/api-keys", headers=reader.headers)
    assert response.status_code == 403
    assert "keys:manage" in response.json()["error"]["message"]


def test_cannot_grant_scopes_the_caller_lacks(api, make_tenant):
    admin = make_tenant(scopes=["keys:manage"])
    response = api.post("/v1/api-keys", json={"name": "x", "scopes": ["studies:write"]}, headers=admin.headers)
    assert response.status_code == 403


def test_other_tenants_keys_are_not_found(api, make_tenant):
    a = make_tenant()
    b = make_tenant()
    assert api.get(f"/v1/api-keys/{b.key_id}", headers=a.headers).status_code == 404
    assert api.delete(f"/v1/api-keys/{b.key_id}", headers=a.headers).status_code == 404
    assert b.key_id not in [k["id"] for k in api.get("/v1/api-keys", headers=a.headers).json()["data"]]
    # B's key still works: A's attempt changed nothing.
    assert api.get("/v1/api-keys", headers=b.headers).status_code == 200


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"data": "not json", "headers": {"Content-Type": "application/json"}}, 400),
        ({"data": "{}", "headers": {"Content-Type": "text/plain"}}, 415),
        ({"json": ["scopes"]}, 400),
        ({"json": {"name": "x"}}, 400),
        ({"json": {"name": "x", "scopes": []}}, 400),
        ({"json": {"name": "x", "scopes": ["studies:read", "root"]}}, 400),
        ({"json": {"name": 5, "scopes": ["studies:read"]}}, 400),
        ({"data": "{" + " " * 70000 + "}", "headers": {"Content-Type": "application/json"}}, 413),
    ],
)
def test_bad_create_requests_are_refused_and_create_nothing(api, tenant, kwargs, status):
    before = len(api.get("/v1/api-keys", headers=tenant.headers).json()["data"])
    headers = {**tenant.headers, **kwargs.pop("headers", {})}
    response = api.post("/v1/api-keys", headers=headers, **kwargs)
    assert response.status_code == status, response.text
    assert response.json()["error"]["message"]
    assert len(api.get("/v1/api-keys", headers=tenant.headers).json()["data"]) == before


def test_unknown_key_id_is_404(api, tenant):
    assert api.get("/v1/api-keys/key_doesnotexist0000", headers=tenant.headers).status_code == 404
    assert api.get("/v1/api-keys/../../tenants", headers=tenant.headers).status_code == 404


def test_method_not_allowed(api, tenant):
    response = api.request("PUT", "/v1/api-keys", headers=tenant.headers)
    assert response.status_code == 405


def test_cli_bootstraps_tenant_and_key(stack, api):
    env = stack.env
    created = subprocess.run(
        [sys.executable, "-m", "beamit.cli", "tenants", "create", "--id", "cli-tenant", "--name", "CLI"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    issued = subprocess.run(
        [
            sys.executable,
            "-m",
            "beamit.cli",
            "keys",
            "create",
            "--tenant",
            "cli-tenant",
            "--scopes",
            "keys:manage,studies:read",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert issued.returncode == 0, issued.stderr
    key = json.loads(issued.stdout)["key"]
    assert api.get("/v1/api-keys", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    bad = subprocess.run(
        [sys.executable, "-m", "beamit.cli", "keys", "create", "--tenant", "cli-tenant", "--scopes", "everything"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "unknown scope" in bad.stderr
