"""Ending access through HTTP (HIPAA §164.308(a)(3)(ii)(C)): disabling a user, revoking a
client, revoking a user's grants, and the grant's absolute lifetime. Each stops the tokens
already issued at the next request and refuses refresh; each refusal of the admin routes
(unauthenticated, wrong scope, another tenant's ids, malformed ids, a caller without the
user's scopes) changes nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

import pytest
from authlib.integrations.requests_client import OAuthError

from beamit.auth.oauth.tokens import grant_path
from beamit.clock import utcnow
from tests.oauth_flow import (
    PASSWORD,
    SIGN_IN_FAILED,
    authorize_url,
    browser,
    create_client,
    create_user,
    sign_in_with_library,
)

API_KEYS = "/v1/api-keys"


@pytest.fixture
def signed_in(api, stack, tenant):
    """An admin user of ``tenant`` signed in through a public client: (user, client info, session)."""
    user = create_user(api, tenant.headers, f"admin-{tenant.id}@example.org", "admin")
    app = create_client(api, tenant.headers, public=True)
    session = sign_in_with_library(stack, app.client_id, user.email, "keys:manage audit:read")
    assert session.get(f"{stack.url}{API_KEYS}").status_code == 200
    return user, app, session


def refresh_error(stack, session) -> str:
    with pytest.raises(OAuthError) as refused:
        session.refresh_token(f"{stack.url}/v1/auth/token")
    return str(refused.value.error)


def test_disabling_a_user_stops_their_tokens_at_once(api, stack, tenant, signed_in):
    user, app, session = signed_in
    grants = api.get(f"/v1/auth/users/{user.id}/grants", headers=tenant.headers).json()["data"]
    assert [(g["clientId"], g["status"]) for g in grants] == [(app.client_id, "active")]
    assert grants[0]["id"].startswith("grt_") and grants[0]["endsAt"] > grants[0]["createdAt"]

    disabled = api.post(f"/v1/auth/users/{user.id}/disable", headers=tenant.headers)
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["status"] == "disabled" and disabled.json()["revokedGrants"] == 1
    assert session.get(f"{stack.url}{API_KEYS}").status_code == 401  # the live access token
    assert refresh_error(stack, session) == "invalid_grant"
    records = api.get("/v1/audit", params={"principal": tenant.key_id}, headers=tenant.headers).json()["data"]
    record = next(r for r in records if r["action"] == "POST /v1/auth/users/<user_id>/disable")
    assert record["eventCode"] == "110113" and record["resources"]["user"] == user.id
    assert record["details"]["revokedGrants"] == 1

    # Enabled again: a new sign-in works; what was revoked stays revoked.
    enabled = api.post(f"/v1/auth/users/{user.id}/enable", headers=tenant.headers)
    assert enabled.status_code == 200 and enabled.json()["status"] == "active"
    assert session.get(f"{stack.url}{API_KEYS}").status_code == 401
    again = sign_in_with_library(stack, app.client_id, user.email, "keys:manage")
    assert again.get(f"{stack.url}{API_KEYS}").status_code == 200


def test_a_disabled_user_cannot_sign_in(api, stack, tenant):
    user = create_user(api, tenant.headers, f"off-{tenant.id}@example.org", "clinician")
    app = create_client(api, tenant.headers, public=True)
    assert api.post(f"/v1/auth/users/{user.id}/disable", headers=tenant.headers).status_code == 200
    user_browser = browser(stack)
    page = user_browser.open(authorize_url(stack, app.client_id))
    refused = user_browser.submit(page, user.email, PASSWORD)
    assert refused.status_code == 200 and SIGN_IN_FAILED in refused.text and "Location" not in refused.headers


def test_revoking_a_client_stops_its_tokens_at_once(api, stack, tenant, signed_in):
    user, app, session = signed_in
    revoked = api.delete(f"/v1/auth/clients/{app.client_id}", headers=tenant.headers)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked" and revoked.json()["revokedAt"]
    assert revoked.json()["revokedGrants"] == 1
    assert session.get(f"{stack.url}{API_KEYS}").status_code == 401
    assert refresh_error(stack, session) == "invalid_client"
    page = browser(stack).open(authorize_url(stack, app.client_id))
    assert page.status_code == 400 and "invalid_client" in page.text  # no new sign-in either
    assert api.get(f"/v1/auth/clients/{app.client_id}", headers=tenant.headers).json()["status"] == "revoked"
    # Repeating it changes nothing.
    assert api.delete(f"/v1/auth/clients/{app.client_id}", headers=tenant.headers).json()["revokedGrants"] == 0


def test_revoking_a_users_grants(api, stack, tenant, signed_in):
    user, app, session = signed_in
    other = sign_in_with_library(stack, app.client_id, user.email, "keys:manage")
    grants = api.get(f"/v1/auth/users/{user.id}/grants", headers=tenant.headers).json()["data"]
    assert len(grants) == 2
    newest = grants[0]
    one = api.delete(f"/v1/auth/users/{user.id}/grants/{newest['id']}", headers=tenant.headers)
    assert one.status_code == 200 and one.json()["status"] == "revoked"
    assert one.json()["revokedReason"] == "revoked_by_admin"
    assert other.get(f"{stack.url}{API_KEYS}").status_code == 401
    assert session.get(f"{stack.url}{API_KEYS}").status_code == 200  # the other grant lives on
    everything = api.delete(f"/v1/auth/users/{user.id}/grants", headers=tenant.headers)
    assert everything.status_code == 200 and everything.json()["revokedGrants"] == 1
    assert session.get(f"{stack.url}{API_KEYS}").status_code == 401
    assert refresh_error(stack, session) == "invalid_grant"
    assert api.get(f"/v1/auth/users/{user.id}/grants", headers=tenant.headers).json()["data"] == []


def test_a_grant_past_its_absolute_lifetime_cannot_be_refreshed(api, stack, svc, tenant, signed_in):
    user, app, session = signed_in
    grant_id = session.token["access_token"].split("_")[1]
    # Time travel in the store: the user signed in 90 days (BEAMIT_OAUTH_GRANT_LIFETIME_DAYS) ago.
    svc.metadata.update(grant_path(grant_id), {"createdAt": utcnow() - timedelta(days=90, seconds=1)})
    assert session.get(f"{stack.url}{API_KEYS}").status_code == 401
    assert refresh_error(stack, session) == "invalid_grant"
    listed = api.get(f"/v1/auth/users/{user.id}/grants", headers=tenant.headers).json()["data"]
    assert [g["status"] for g in listed] == ["expired"]


def test_refusals_change_nothing(api, stack, make_tenant):
    owner, stranger = make_tenant(), make_tenant()
    admin = create_user(api, owner.headers, f"admin@{owner.id}.example.org", "admin")
    app = create_client(api, owner.headers, public=True)
    session = sign_in_with_library(stack, app.client_id, admin.email, "keys:manage")
    limited = api.post(API_KEYS, json={"name": "limited", "scopes": ["keys:manage", "studies:read"]},
                       headers=owner.headers).json()
    reader = api.post(API_KEYS, json={"name": "reader", "scopes": ["studies:read"]}, headers=owner.headers).json()
    grant = api.get(f"/v1/auth/users/{admin.id}/grants", headers=owner.headers).json()["data"][0]["id"]
    calls = [("POST", f"/v1/auth/users/{admin.id}/disable"), ("POST", f"/v1/auth/users/{admin.id}/enable"),
             ("DELETE", f"/v1/auth/users/{admin.id}/grants"), ("DELETE", f"/v1/auth/users/{admin.id}/grants/{grant}"),
             ("DELETE", f"/v1/auth/clients/{app.client_id}")]
    for method, path in calls:
        assert api.request(method, path).status_code == 401, path  # unauthenticated
        assert api.request(method, path, headers={"Authorization": f"Bearer {reader['key']}"}).status_code == 403
        assert api.request(method, path, headers=stranger.headers).status_code == 404, path  # another tenant
        # keys:manage without the admin's (or the client's) scopes: may not take them away.
        refused = api.request(method, path, headers={"Authorization": f"Bearer {limited['key']}"})
        assert refused.status_code == 403 and refused.json()["error"]["type"] == "insufficient_scope", path
    # Malformed or oversized ids: not found (over the gateway's URL limit: 414).
    for method, path in (("POST", "/v1/auth/users/usr_nope/disable"), ("DELETE", f"/v1/auth/users/{admin.id}/grants/x"),
                         ("DELETE", f"/v1/auth/users/{admin.id}/grants/grt_" + "x" * 5000),
                         ("DELETE", "/v1/auth/clients/" + "c" * 3000)):
        assert api.request(method, path, headers=owner.headers).status_code in (404, 414), path[:60]
    # Nothing changed: the user is active, the client too, the token still works.
    assert api.get(f"/v1/auth/users/{admin.id}", headers=owner.headers).json()["status"] == "active"
    assert api.get(f"/v1/auth/clients/{app.client_id}", headers=owner.headers).json()["status"] == "active"
    assert session.get(f"{stack.url}{API_KEYS}").status_code == 200


def test_cli_ends_access(stack, api, tenant, signed_in):
    user, app, session = signed_in
    run = [sys.executable, "-m", "beamit.cli"]

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*run, *args, "--tenant", tenant.id], env=stack.env, capture_output=True, text=True,
                              timeout=60)

    listed = cli("users", "grants", "--id", user.id)
    assert listed.returncode == 0, listed.stderr
    assert [g["clientId"] for g in json.loads(listed.stdout)["data"]] == [app.client_id]
    disabled = cli("users", "disable", "--id", user.id)
    assert disabled.returncode == 0, disabled.stderr
    assert json.loads(disabled.stdout)["revokedGrants"] == 1
    assert session.get(f"{stack.url}{API_KEYS}").status_code == 401
    assert cli("users", "enable", "--id", user.id).returncode == 0
    revoked = cli("clients", "revoke", "--id", app.client_id)
    assert revoked.returncode == 0 and json.loads(revoked.stdout)["status"] == "revoked"
    assert cli("users", "disable", "--id", "usr_nobody").returncode == 1
    records = api.get("/v1/audit", params={"principal": "cli"}, headers=tenant.headers).json()["data"]
    assert {r["action"] for r in records} == {"CLI users disable", "CLI users enable", "CLI clients revoke"}
