"""OAuth 2.0 against the running stack: a standard client library (Authlib's
OAuth2Session) through sign-in, consent, code exchange with PKCE, API calls, refresh
rotation with reuse detection and revocation; each refusal in its RFC's form; the audit
trail of every call; and tenant isolation for OAuth principals."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session, OAuthError

from beamit.auth.oauth.tokens import code_path, token_path
from beamit.auth.throttle import account_counter
from beamit.clock import utcnow
from beamit.ids import new_id
from tests.dicom_samples import ct_instance, multipart, part10_bytes
from tests.oauth_flow import (
    PASSWORD,
    REDIRECT_URI,
    SIGN_IN_FAILED,
    VERIFIER,
    Recorder,
    authorize_url,
    browser,
    create_client,
    create_user,
    public_session,
    query_of,
    read_form,
    sign_in_with_library,
)
from tests.support import client_session


def token_request(api, body: dict[str, str], *, as_json: bool = False, auth: tuple[str, str] | None = None):
    if as_json:
        return api.post("/v1/auth/token", json=body, auth=auth)
    return api.post("/v1/auth/token", data=body, auth=auth)


@pytest.fixture
def admin(api, tenant):
    return create_user(api, tenant.headers, f"admin-{tenant.id}@example.org", "admin")


def test_metadata_document(api, stack):
    response = api.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    body = response.json()
    assert body["issuer"] == stack.url
    assert body["authorization_endpoint"] == f"{stack.url}/v1/auth/authorize"
    assert body["token_endpoint"] == f"{stack.url}/v1/auth/token"
    assert body["code_challenge_methods_supported"] == ["S256"]
    assert body["authorization_response_iss_parameter_supported"] is True
    assert body["grant_types_supported"] == ["authorization_code", "refresh_token"]


def test_standard_client_library_completes_the_flow(api, stack, tenant, admin):
    recorder = Recorder()
    app = create_client(api, tenant.headers, public=True)
    client = sign_in_with_library(stack, app.client_id, admin.email, "keys:manage studies:read", recorder)
    first = dict(client.token)
    assert first["token_type"] == "Bearer" and first["expires_in"] == 900
    assert first["scope"] == "keys:manage studies:read"

    # The token works on the API, bound to the user's tenant.
    listed = client.get(f"{stack.url}/v1/api-keys")
    assert listed.status_code == 200 and tenant.key_id in [k["id"] for k in listed.json()["data"]]

    # Refresh: a new pair; the old refresh token is spent.
    second = dict(client.refresh_token(f"{stack.url}/v1/auth/token"))
    assert second["refresh_token"] != first["refresh_token"] and second["access_token"] != first["access_token"]
    assert client.get(f"{stack.url}/v1/api-keys").status_code == 200

    # Replaying the old refresh token: invalid_grant, and the whole family is revoked.
    with pytest.raises(OAuthError) as replay:
        client.refresh_token(f"{stack.url}/v1/auth/token", refresh_token=first["refresh_token"])
    assert replay.value.error == "invalid_grant"
    denied = client.get(f"{stack.url}/v1/api-keys")
    assert denied.status_code == 401 and denied.json()["error"]["type"] == "unauthenticated"
    with pytest.raises(OAuthError) as after:
        client.refresh_token(f"{stack.url}/v1/auth/token", refresh_token=second["refresh_token"])
    assert after.value.error == "invalid_grant"

    # Every one of those calls is in the tenant's audit trail.
    assert len(recorder.ids) >= 9
    trail = audit_request_ids(api, tenant)
    missing = [call for rid, call in recorder.calls if rid not in trail]
    assert missing == ["GET /v1/auth/authorize"]  # opening the sign-in page proves nothing: access log only
    logins = api.get("/v1/audit", params={"principal": admin.id, "limit": 200}, headers=tenant.headers).json()["data"]
    events = {(r["eventCode"], r["action"], r["details"].get("event"), r["details"].get("result")) for r in logins}
    assert ("110114", "POST /v1/auth/authorize", "login", "success") in events
    assert ("110114", "POST /v1/auth/token", "token", "ok") in events
    assert any(r["action"] == "GET /v1/api-keys" and r["credentialId"] == app.client_id for r in logins)


def audit_request_ids(api, tenant) -> set[str]:
    ids: set[str] = set()
    cursor = None
    while True:
        params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        page = api.get("/v1/audit", params=params, headers=tenant.headers)
        assert page.status_code == 200, page.text
        ids |= {r["requestId"] for r in page.json()["data"]}
        cursor = page.json()["nextCursor"]
        if not cursor:
            return ids


def test_revoked_access_token_stops_at_once(api, stack, tenant, admin):
    app = create_client(api, tenant.headers, public=False)
    client = OAuth2Session(app.client_id, app.client_secret, scope="keys:manage", redirect_uri=REDIRECT_URI,
                           code_challenge_method="S256")
    verifier = generate_token(64)
    url, state = client.create_authorization_url(f"{stack.url}/v1/auth/authorize", code_verifier=verifier)
    location = browser(stack).authorize(url, admin.email)
    token = client.fetch_token(f"{stack.url}/v1/auth/token", authorization_response=location,
                               code_verifier=verifier, state=state)
    auth = (app.client_id, app.client_secret)
    active = api.post("/v1/auth/introspect", data={"token": token["access_token"]}, auth=auth)
    assert active.status_code == 200 and active.json()["active"] is True
    assert active.json()["sub"] == admin.id and active.json()["scope"] == "keys:manage"
    assert client.get(f"{stack.url}/v1/api-keys").status_code == 200

    revoked = api.post("/v1/auth/revoke", data={"token": token["access_token"], "token_type_hint": "access_token"},
                       auth=auth)
    assert revoked.status_code == 200
    assert client.get(f"{stack.url}/v1/api-keys").status_code == 401
    inactive = api.post("/v1/auth/introspect", data={"token": token["access_token"]}, auth=auth)
    assert inactive.status_code == 200 and inactive.json() == {"active": False}
    # RFC 7009: an unknown token is a 200 as well; bad client authentication is 401 invalid_client.
    assert api.post("/v1/auth/revoke", data={"token": "bat_unknown"}, auth=auth).status_code == 200
    bad = api.post("/v1/auth/revoke", data={"token": token["refresh_token"]}, auth=(app.client_id, "bcs_wrong"))
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    # Revoking the refresh token ends the grant.
    assert api.post("/v1/auth/revoke", data={"token": token["refresh_token"]}, auth=auth).status_code == 200
    with pytest.raises(OAuthError) as refused:
        client.refresh_token(f"{stack.url}/v1/auth/token")
    assert refused.value.error == "invalid_grant"


def test_documented_json_token_request(api, stack, tenant, admin):
    # The documented requests carry no PKCE: a confidential client registered without it.
    app = create_client(api, tenant.headers, public=False, pkce_required=False)
    location = browser(stack).authorize(authorize_url(stack, app.client_id, scope="studies:read shares:write",
                                                      pkce=False), admin.email)
    assert query_of(location)["state"] == "st-42"
    response = token_request(api, {"grant_type": "authorization_code", "code": query_of(location)["code"],
                                   "client_id": app.client_id, "client_secret": app.client_secret,
                                   "redirect_uri": REDIRECT_URI}, as_json=True)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    assert body["scope"] == "shares:write studies:read"
    assert response.headers["Cache-Control"] == "no-store" and response.headers["Pragma"] == "no-cache"


# --- each refusal in the RFC's form ---------------------------------------------------------------------


@pytest.fixture
def confidential(api, tenant):
    return create_client(api, tenant.headers, public=False)


def fresh_code(stack, client_id: str, email: str, **extra: str) -> str:
    return query_of(browser(stack).authorize(authorize_url(stack, client_id, **extra), email))["code"]


def exchange(api, client, code: str) -> dict[str, str]:
    """The tokens of ``code`` (issued with ``VERIFIER``'s challenge) for a confidential client."""
    response = token_request(api, {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
                                    "code_verifier": VERIFIER}, auth=(client.client_id, client.client_secret))
    assert response.status_code == 200, response.text
    return response.json()


def test_wrong_redirect_uri_is_not_followed(api, stack, admin, confidential):
    page = browser(stack).open(authorize_url(stack, confidential.client_id, redirect_uri="https://evil.example/cb"))
    assert page.status_code == 400 and "Location" not in page.headers
    assert "invalid_request" in page.text and page.headers["X-Frame-Options"] == "DENY"
    # A prefix of the registered URI is not it either (exact matching).
    page = browser(stack).open(authorize_url(stack, confidential.client_id, redirect_uri=REDIRECT_URI + "/x"))
    assert page.status_code == 400
    # At the token endpoint: the code is bound to the URI it was issued for.
    code = fresh_code(stack, confidential.client_id, admin.email)
    response = token_request(api, {"grant_type": "authorization_code", "code": code,
                                   "redirect_uri": "https://app.example.org/other", "code_verifier": VERIFIER},
                             auth=(confidential.client_id, confidential.client_secret))
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_reused_code_is_invalid_grant_and_revokes_its_tokens(api, stack, admin, confidential):
    code = fresh_code(stack, confidential.client_id, admin.email, scope="keys:manage")
    body = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, "code_verifier": VERIFIER}
    auth = (confidential.client_id, confidential.client_secret)
    first = token_request(api, body, auth=auth)
    assert first.status_code == 200
    headers = {"Authorization": f"Bearer {first.json()['access_token']}"}
    assert api.get("/v1/api-keys", headers=headers).status_code == 200
    again = token_request(api, body, auth=auth)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert again.json()["error_description"]
    assert api.get("/v1/api-keys", headers=headers).status_code == 401


def test_expired_code_is_invalid_grant(api, stack, svc, admin, confidential):
    code = fresh_code(stack, confidential.client_id, admin.email)
    # Time travel in the store: the code was issued more than its 60 s ago.
    svc.metadata.update(code_path(code), {"expiresAt": utcnow() - timedelta(seconds=1)})
    response = token_request(api, {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
                                   "code_verifier": VERIFIER},
                             auth=(confidential.client_id, confidential.client_secret))
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_expired_access_token_is_refused(api, stack, svc, admin, confidential):
    token = exchange(api, confidential, fresh_code(stack, confidential.client_id, admin.email, scope="keys:manage"))
    svc.metadata.update(token_path(token["access_token"]), {"expiresAt": utcnow() - timedelta(seconds=1)})
    assert api.get("/v1/api-keys", headers={"Authorization": f"Bearer {token['access_token']}"}).status_code == 401


def test_wrong_client_secret_is_invalid_client(api, stack, admin, confidential):
    code = fresh_code(stack, confidential.client_id, admin.email)
    body = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, "code_verifier": VERIFIER}
    basic = token_request(api, body, auth=(confidential.client_id, "bcs_wrong"))
    assert basic.status_code == 401 and basic.json()["error"] == "invalid_client"
    assert basic.headers["WWW-Authenticate"].startswith("Basic")
    posted = token_request(api, {**body, "client_id": confidential.client_id, "client_secret": "bcs_wrong"},
                           as_json=True)
    assert posted.status_code == 401 and posted.json()["error"] == "invalid_client"


def test_missing_pkce(api, stack, tenant, admin):
    app = create_client(api, tenant.headers, public=True)
    # A public client must send a challenge: the error goes back to its redirect URI.
    page = browser(stack).open(authorize_url(stack, app.client_id, pkce=False))
    assert page.status_code == 302
    params = query_of(page.headers["Location"])
    assert params["error"] == "invalid_request" and params["state"] == "st-42"
    # With a challenge but no verifier at the token endpoint.
    client, verifier = public_session(stack, app.client_id, "studies:read")
    url, _ = client.create_authorization_url(f"{stack.url}/v1/auth/authorize", code_verifier=verifier)
    code = query_of(browser(stack).authorize(url, admin.email))["code"]
    response = token_request(api, {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
                                   "client_id": app.client_id})
    assert response.status_code == 400 and response.json() == {
        "error": "invalid_request", "error_description": "Missing 'code_verifier'"}


def test_every_client_must_use_pkce_and_responses_name_the_issuer(api, stack, admin, confidential):
    # RFC 9700 §2.1.1: a confidential client too (unless registered with pkceRequired false).
    page = browser(stack).open(authorize_url(stack, confidential.client_id, pkce=False))
    assert page.status_code == 302
    refused = query_of(page.headers["Location"])
    assert refused["error"] == "invalid_request" and refused["state"] == "st-42"
    assert refused["iss"] == stack.url  # RFC 9207, on errors too
    issued = query_of(browser(stack).authorize(authorize_url(stack, confidential.client_id), admin.email))
    assert issued["iss"] == stack.url and issued["state"] == "st-42"
    # The code is bound to the challenge: without the verifier nothing is issued.
    response = token_request(api, {"grant_type": "authorization_code", "code": issued["code"],
                                   "redirect_uri": REDIRECT_URI},
                             auth=(confidential.client_id, confidential.client_secret))
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_unknown_scope_is_invalid_scope(api, stack, confidential):
    page = browser(stack).open(authorize_url(stack, confidential.client_id, scope="studies:read root"))
    assert page.status_code == 302
    location = page.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?")
    assert query_of(location)["error"] == "invalid_scope" and query_of(location)["state"] == "st-42"


def test_unknown_client_and_unsupported_grant(api, stack):
    page = browser(stack).open(authorize_url(stack, "cli_doesnotexist0000000000"))
    assert page.status_code == 400 and "invalid_client" in page.text
    response = token_request(api, {"grant_type": "password", "username": "a", "password": "b"})
    assert response.status_code == 400 and response.json()["error"] == "unsupported_grant_type"
    wrong_type = api.post("/v1/auth/token", data="grant_type=x", headers={"Content-Type": "text/plain"})
    assert wrong_type.status_code == 400 and wrong_type.json()["error"] == "invalid_request"
    assert api.get("/v1/auth/nothing-here").json()["error"] == "not_found"


# --- calls in a client's name that did not prove it: "claimed client" events ----------------------------


def claimed_records(api, tenant, client_id: str) -> list[dict]:
    records = api.get("/v1/audit", params={"principal": client_id, "limit": 200}, headers=tenant.headers)
    return [r for r in records.json()["data"] if r["details"].get("claimed")]


def test_a_claimed_client_call_records_only_known_values(api, stack, tenant, confidential):
    request_id = new_id("req")
    # The client writes an address of its own choosing; the record keeps the one the proxy saw.
    free_text = {"User-Agent": "u" * 5000 + " DOE^JANE", "X-Request-Id": request_id, "X-Forwarded-For": "203.0.113.5"}
    client = client_session("127.9.8.7")
    response = client.post(f"{stack.url}/v1/auth/token", data={"grant_type": "g" * 12_000,
                                                               "client_id": confidential.client_id},
                           headers=free_text, timeout=60)
    assert response.status_code == 400 and response.json()["error"] == "unsupported_grant_type"
    bad_secret = api.post("/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": "brt_x"},
                          auth=(confidential.client_id, "bcs_" + "s" * 3000), headers={"User-Agent": "DOE^JANE"})
    assert bad_secret.status_code == 401 and bad_secret.json()["error"] == "invalid_client"
    records = {r["requestId"]: r for r in claimed_records(api, tenant, confidential.client_id)}
    assert records[request_id]["details"] == {"event": "token", "result": "unsupported_grant_type",
                                              "grantType": "other", "claimed": True}
    assert records[request_id]["userAgent"] == "" and records[request_id]["sourceIp"] == "127.9.8.7"
    assert records[bad_secret.headers["X-Request-Id"]]["details"] == {
        "event": "token", "result": "invalid_client", "grantType": "refresh_token", "claimed": True}
    stored = json.dumps(list(records.values()))
    assert "ggg" not in stored and "uuu" not in stored and "DOE" not in stored and "sss" not in stored


def test_a_burst_of_bad_token_calls_is_throttled_but_not_the_client(api, stack, tenant, admin):
    app = create_client(api, tenant.headers, public=False)
    bad = {"grant_type": "authorization_code", "code": "bac_" + "a" * 52, "redirect_uri": REDIRECT_URI}
    responses = [api.post("/v1/auth/token", data=bad, auth=(app.client_id, "bcs_wrong"),
                          headers={"X-Forwarded-For": f"198.51.100.{n}"}) for n in range(14)]
    statuses = [r.status_code for r in responses]
    assert statuses[:10] == [401] * 10 and 429 in statuses, statuses
    throttled = next(r for r in responses if r.status_code == 429)
    assert throttled.json()["error"] == "slow_down" and int(throttled.headers["Retry-After"]) >= 1
    # Each admitted failure is one bounded record; a throttled one writes nothing.
    recorded = {r["requestId"] for r in claimed_records(api, tenant, app.client_id)}
    assert recorded == {r.headers["X-Request-Id"] for r in responses if r.status_code == 401}
    # The client itself, authenticating with its secret, is not locked out by calls in its name.
    assert exchange(api, app, fresh_code(stack, app.client_id, admin.email))["access_token"]


def test_user_denies_consent(api, stack, confidential):
    client_browser = browser(stack)
    page = client_browser.open(authorize_url(stack, confidential.client_id))
    response = client_browser.submit(page, "", "", decision="deny")
    assert response.status_code == 302
    params = query_of(response.headers["Location"])
    assert params["error"] == "access_denied" and params["state"] == "st-42"


# --- the sign-in page ------------------------------------------------------------------------------------


def test_sign_in_page_headers(api, stack, confidential):
    page = browser(stack).open(authorize_url(stack, confidential.client_id))
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert read_form(page.text).fields["csrf_token"]
    cookie = page.headers["Set-Cookie"]  # __Host-: Secure, Path=/, no Domain (RFC 6265bis §4.1.3.2)
    assert cookie.startswith("__Host-beamit_oauth_csrf=") and "; Secure" in cookie and "; Path=/;" in cookie
    assert "Domain=" not in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Search and view imaging studies" in page.text


def test_form_without_the_csrf_cookie_is_refused(api, stack, admin, confidential):
    page = browser(stack).open(authorize_url(stack, confidential.client_id))
    form = read_form(page.text)
    forged = requests.post(f"{stack.url}/v1/auth/authorize", allow_redirects=False, timeout=60,
                           data={**form.fields, "email": admin.email, "password": PASSWORD, "decision": "approve"})
    assert forged.status_code == 403 and "Location" not in forged.headers


def test_failed_sign_ins_are_generic_and_audited(api, stack, tenant, admin, confidential):
    user_browser = browser(stack)
    page = user_browser.open(authorize_url(stack, confidential.client_id))
    wrong = user_browser.submit(page, admin.email, "not the password at all")
    unknown = user_browser.submit(page, f"nobody-{tenant.id}@example.org", PASSWORD)
    for response in (wrong, unknown):
        assert response.status_code == 200 and "Location" not in response.headers
        assert read_form(response.text).errors == [
            "We could not sign you in with those details. Check them and try again in a moment."]
    records = api.get("/v1/audit", params={"principal": admin.id}, headers=tenant.headers).json()["data"]
    failure = [r for r in records if r["details"].get("result") == "failure"]
    assert failure and failure[0]["eventCode"] == "110114" and failure[0]["outcome"] == 401
    assert failure[0]["details"]["reason"] == "invalid_credentials"
    assert failure[0]["details"]["claimed"] is True and failure[0]["userAgent"] == ""  # not proven: no free text
    assert PASSWORD not in json.dumps(records) and "not the password" not in json.dumps(records)


def test_locked_account_refuses_the_right_password(api, stack, svc, tenant, admin, confidential):
    now = utcnow()
    counter = account_counter(tenant.id, admin.email)
    used_up = {"attempts": 10, "firstAt": int(now.timestamp() * 1000)}
    windows = [counter.path(now), counter.path(now + counter.policy.window)]  # should the window turn meanwhile
    for path in windows:
        svc.metadata.set(path, used_up)
    user_browser = browser(stack)
    page = user_browser.open(authorize_url(stack, confidential.client_id))
    response = user_browser.submit(page, admin.email, PASSWORD)
    assert response.status_code == 429 and SIGN_IN_FAILED in response.text  # the same message, not checked
    assert 1 <= int(response.headers["Retry-After"]) <= 900
    assert '"sign-in-account";q=10;w=900' in response.headers["RateLimit-Policy"]
    assert '"sign-in-account";r=0;t=' in response.headers["RateLimit"]
    for path in windows:
        svc.metadata.delete(path)
    assert user_browser.submit(page, admin.email, PASSWORD).status_code == 302


# --- roles, scopes, tenants -------------------------------------------------------------------------------


def test_role_limits_the_token_scopes(api, stack, tenant):
    clinician = create_user(api, tenant.headers, f"clin-{tenant.id}@example.org", "clinician")
    app = create_client(api, tenant.headers, public=True)
    client = sign_in_with_library(stack, app.client_id, clinician.email, "studies:read keys:manage")
    assert client.token["scope"] == "studies:read"
    refused = client.get(f"{stack.url}/v1/api-keys")
    assert refused.status_code == 403 and refused.json()["error"]["type"] == "insufficient_scope"


def test_admin_api_refusals(api, make_tenant):
    limited = make_tenant(scopes=["keys:manage", "studies:read", "shares:read", "shares:write"])
    assert api.post("/v1/auth/users", json={"email": "a@example.org", "role": "admin", "password": PASSWORD},
                    headers=limited.headers).status_code == 403
    assert api.post("/v1/auth/users", json={"email": "a@example.org", "role": "boss", "password": PASSWORD},
                    headers=limited.headers).status_code == 400
    assert api.post("/v1/auth/users", json={"email": "a@example.org", "role": "clinician", "password": "short"},
                    headers=limited.headers).status_code == 400
    bad_uri = api.post("/v1/auth/clients", json={"name": "x", "redirectUris": ["http://evil.example/cb"]},
                       headers=limited.headers)
    assert bad_uri.status_code == 400 and bad_uri.json()["error"]["type"] == "invalid_request"
    reader = make_tenant(scopes=["studies:read"])
    assert api.get("/v1/auth/users", headers=reader.headers).status_code == 403
    assert api.get("/v1/auth/clients", headers={}).status_code == 401
    created = api.post("/v1/auth/users", json={"email": "c@example.org", "role": "clinician", "password": PASSWORD},
                       headers=limited.headers)
    assert created.status_code == 201 and "password" not in json.dumps(created.json()).lower().replace(
        "passwordhash", "")
    again = api.post("/v1/auth/users", json={"email": "C@example.org", "role": "clinician", "password": PASSWORD},
                     headers=limited.headers)
    assert again.status_code == 409
    listed = api.get("/v1/auth/users", headers=limited.headers).json()["data"]
    assert [u["email"] for u in listed] == ["c@example.org"]


def test_oauth_token_of_tenant_a_cannot_reach_tenant_b(api, stack, make_tenant):
    a, b = make_tenant(), make_tenant()
    admin_a = create_user(api, a.headers, f"admin@{a.id}.example.org", "admin")
    app = create_client(api, a.headers, public=True)
    client = sign_in_with_library(stack, app.client_id, admin_a.email, "keys:manage studies:read studies:write")
    # B's API key and B's OAuth objects are not found.
    assert client.get(f"{stack.url}/v1/api-keys/{b.key_id}").status_code == 404
    assert client.delete(f"{stack.url}/v1/api-keys/{b.key_id}").status_code == 404
    b_user = create_user(api, b.headers, f"someone@{b.id}.example.org", "clinician")
    b_app = create_client(api, b.headers, public=True)
    assert client.get(f"{stack.url}/v1/auth/users/{b_user.id}").status_code == 404
    assert client.get(f"{stack.url}/v1/auth/clients/{b_app.client_id}").status_code == 404
    assert b_user.id not in [u["id"] for u in client.get(f"{stack.url}/v1/auth/users").json()["data"]]
    # B's study: A's token gets 404 on retrieval; A storing the same StudyInstanceUID writes to A only.
    ds = ct_instance()
    study = str(ds.StudyInstanceUID)
    body, content_type = multipart([part10_bytes(ds)])
    stored = api.post("/v1/dicomweb/studies", data=body, headers={**b.headers, "Content-Type": content_type})
    assert stored.status_code == 200, stored.text
    assert api.get(f"/v1/dicomweb/studies/{study}/metadata", headers=b.headers).status_code == 200
    assert client.get(f"{stack.url}/v1/dicomweb/studies/{study}/metadata").status_code == 404
    assert client.get(f"{stack.url}/v1/dicomweb/studies/{study}").status_code == 404
    other = ct_instance(study=study)
    body, content_type = multipart([part10_bytes(other)])
    mine = client.post(f"{stack.url}/v1/dicomweb/studies/{study}", data=body, headers={"Content-Type": content_type})
    assert mine.status_code == 200, mine.text
    b_meta = api.get(f"/v1/dicomweb/studies/{study}/metadata", headers=b.headers).json()
    assert [item["00080018"]["Value"][0] for item in b_meta] == [str(ds.SOPInstanceUID)]
    # A's login event is in A's trail only.
    b_trail = api.get("/v1/audit", params={"principal": admin_a.id}, headers=b.headers).json()["data"]
    assert b_trail == []


def test_cli_creates_users_and_clients(stack, api):
    env = stack.env
    run = [sys.executable, "-m", "beamit.cli"]
    tenant_id = f"cli-oauth-{generate_token(6).lower()}"
    assert subprocess.run([*run, "tenants", "create", "--id", tenant_id, "--name", "CLI"], env=env,
                          capture_output=True, text=True, timeout=60).returncode == 0
    user = subprocess.run([*run, "users", "create", "--tenant", tenant_id, "--email", "ana@cli.example",
                           "--role", "clinician"], input=PASSWORD + "\n", env=env, capture_output=True, text=True,
                          timeout=60)
    assert user.returncode == 0, user.stderr
    assert json.loads(user.stdout)["role"] == "clinician" and PASSWORD not in user.stdout
    public = subprocess.run([*run, "clients", "create", "--tenant", tenant_id, "--name", "Viewer",
                             "--redirect-uri", REDIRECT_URI, "--public"], env=env, capture_output=True, text=True,
                            timeout=60)
    assert public.returncode == 0, public.stderr
    public_client = json.loads(public.stdout)
    assert public_client["client_id"].startswith("cli_") and "client_secret" not in public_client
    confidential = subprocess.run([*run, "clients", "create", "--tenant", tenant_id, "--name", "EHR",
                                   "--redirect-uri", REDIRECT_URI, "--scopes", "studies:read"], env=env,
                                  capture_output=True, text=True, timeout=60)
    assert confidential.returncode == 0 and json.loads(confidential.stdout)["client_secret"].startswith("bcs_")
    weak = subprocess.run([*run, "users", "create", "--tenant", tenant_id, "--email", "bo@cli.example",
                           "--role", "auditor"], input="short\n", env=env, capture_output=True, text=True, timeout=60)
    assert weak.returncode == 2 and "12" in weak.stderr
    bad_uri = subprocess.run([*run, "clients", "create", "--tenant", tenant_id, "--name", "x",
                              "--redirect-uri", "http://example.org/cb"], env=env, capture_output=True, text=True,
                             timeout=60)
    assert bad_uri.returncode == 2
    # The CLI's user signs in through the CLI's client.
    client = sign_in_with_library(stack, public_client["client_id"], "ana@cli.example", "studies:read")
    assert client.token["scope"] == "studies:read"


def test_an_unknown_client_in_the_body_is_401_invalid_client(api):
    """Found by the OpenAPI fuzzing: Authlib answered 400 for an unknown client_id sent in the body
    and 401 for one sent with HTTP Basic; the document says 401 for every invalid_client."""
    unknown = {"client_id": "cli_nosuchclient000000000000", "client_secret": "bcs_x"}
    for endpoint, body in (("/v1/auth/token", {"grant_type": "authorization_code", "code": "x",
                                               "redirect_uri": REDIRECT_URI, **unknown}),
                           ("/v1/auth/revoke", {"token": "bat_x", **unknown}),
                           ("/v1/auth/introspect", {"token": "bat_x", **unknown})):
        response = api.post(endpoint, data=body)
        assert response.status_code == 401, (endpoint, response.text)
        assert response.json()["error"] == "invalid_client"
        assert response.headers["WWW-Authenticate"].startswith("Basic")
