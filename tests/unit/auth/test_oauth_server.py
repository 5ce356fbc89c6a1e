"""The authorization server (Authlib components over our records), in process.

Runs :class:`BeamItAuthorizationServer` on an in-memory store with a controllable clock,
so code expiry and token lifetimes are tested without waiting. The same flows run against
the emulators through HTTP in tests/integration/test_oauth.py.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from authlib.oauth2.rfc6749 import OAuth2Error
from flask import Request
from werkzeug.test import EnvironBuilder

from beamit.auth.oauth import tokens
from beamit.auth.oauth.clients import create_client
from beamit.auth.oauth.requests import oauth_request
from beamit.auth.oauth.server import BeamItAuthorizationServer, server_metadata
from beamit.tenancy import TenantScope
from tests.memory_store import MemoryStore

BASE = "http://127.0.0.1:8080"
REDIRECT = "https://app.example.org/callback"
TENANT = TenantScope("acme")
VERIFIER = "v" * 20 + "-._~" + "x" * 30
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 2, 20, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def flask_request(method: str, path: str, *, query: dict[str, str] | None = None, form: dict[str, str] | None = None,
                  json_body: dict[str, object] | None = None, headers: dict[str, str] | None = None) -> Request:
    builder = EnvironBuilder(path=path, method=method, query_string=urlencode(query or {}), headers=headers,
                             data=urlencode(form) if form is not None else None,
                             json=json_body,
                             content_type="application/x-www-form-urlencoded" if form is not None else None)
    return Request(builder.get_environ())


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def server(store: MemoryStore, clock: Clock) -> BeamItAuthorizationServer:
    return BeamItAuthorizationServer(store=lambda: store, issuer=lambda: BASE, clock=clock)


@pytest.fixture
def confidential(store: MemoryStore):
    return create_client(store, TENANT, name="EHR", redirect_uris=[REDIRECT], public=False, created_by="test")


@pytest.fixture
def public(store: MemoryStore):
    return create_client(store, TENANT, name="Viewer", redirect_uris=[REDIRECT], public=True,
                         scopes="studies:read shares:read", created_by="test")


HOLDER = tokens.GrantHolder("usr_aaaaaaaaaaaaaaaaaaaa", "acme", frozenset({"studies:read", "shares:read",
                                                                         "shares:write"}))


def authorize(server, client_id: str, *, scope: str = "studies:read", holder=HOLDER, pkce: bool = True,
              redirect_uri: str = REDIRECT, state: str = "st-123"):
    query = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": scope,
             "state": state}
    if pkce:
        query |= {"code_challenge": CHALLENGE, "code_challenge_method": "S256"}
    req = oauth_request(flask_request("GET", "/v1/auth/authorize", query=query), BASE)
    grant = server.get_consent_grant(req)
    response = server.create_authorization_response(req, grant_user=holder, grant=grant)
    return response


def code_from(response) -> str:
    assert response.status_code == 302, response.get_data(as_text=True)
    params = parse_qs(urlsplit(response.headers["Location"]).query)
    return params["code"][0]


def token_call(server, form: dict[str, str], headers: dict[str, str] | None = None, as_json: bool = False):
    req = flask_request("POST", "/v1/auth/token", form=None if as_json else form,
                        json_body=form if as_json else None, headers=headers)
    response = server.create_token_response(oauth_request(req, BASE))
    return response.status_code, json.loads(response.get_data())


def exchange(server, issued, code: str, **extra: str):
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, **extra}
    if issued.client_secret:
        return token_call(server, form, basic(issued.client.client_id, issued.client_secret))
    return token_call(server, {"client_id": issued.client.client_id, **form})


# --- authorization code ---------------------------------------------------------------------------


def test_code_flow_issues_tokens_with_state_round_trip(server, store, clock, confidential):
    response = authorize(server, confidential.client.client_id, scope="studies:read shares:write")
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    assert parse_qs(location.query)["state"] == ["st-123"]
    status, body = exchange(server, confidential, code_from(response), code_verifier=VERIFIER)
    assert status == 200, body
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    assert body["scope"] == "shares:write studies:read"
    assert body["access_token"].startswith("bat_") and body["refresh_token"].startswith("brt_")
    principal = tokens.authenticate_access_token(store, body["access_token"], clock)
    assert principal.kind == "oauth" and principal.tenant_id == "acme"
    assert principal.credential_id == confidential.client.client_id and principal.subject == HOLDER.user_id
    assert principal.scopes == {"studies:read", "shares:write"}
    # Only digests are stored.
    assert not any(body["access_token"] in json.dumps(d, default=str) for d in store.docs.values())


def test_documented_json_body_with_client_secret(server, confidential):
    code = code_from(authorize(server, confidential.client.client_id, pkce=False))
    status, body = token_call(server, {"grant_type": "authorization_code", "code": code,
                                       "client_id": confidential.client.client_id,
                                       "client_secret": confidential.client_secret, "redirect_uri": REDIRECT},
                              as_json=True)
    assert status == 200, body


def test_scope_is_requested_and_client_and_role(server, store, public):
    holder = tokens.GrantHolder("usr_bbbbbbbbbbbbbbbbbbbb", "acme", frozenset({"studies:read", "audit:read"}))
    code = code_from(authorize(server, public.client.client_id, scope="studies:read shares:read", holder=holder))
    status, body = exchange(server, public, code, code_verifier=VERIFIER)
    assert status == 200 and body["scope"] == "studies:read"


def test_role_without_any_requested_scope_is_access_denied(server, public):
    holder = tokens.GrantHolder("usr_cccccccccccccccccccc", "acme", frozenset({"audit:read"}))
    response = authorize(server, public.client.client_id, scope="studies:read", holder=holder)
    params = parse_qs(urlsplit(response.headers["Location"]).query)
    assert params["error"] == ["access_denied"] and params["state"] == ["st-123"]


def test_unknown_scope_redirects_invalid_scope(server, public):
    with pytest.raises(OAuth2Error) as raised:
        authorize(server, public.client.client_id, scope="studies:read root")
    assert raised.value.error == "invalid_scope" and raised.value.redirect_uri == REDIRECT


def test_unregistered_redirect_uri_is_not_redirected_to(server, public):
    with pytest.raises(OAuth2Error) as raised:
        authorize(server, public.client.client_id, redirect_uri="https://app.example.org/callback/")
    assert raised.value.error == "invalid_request" and not raised.value.redirect_uri


def test_public_client_must_send_s256_challenge(server, public):
    with pytest.raises(OAuth2Error) as raised:
        authorize(server, public.client.client_id, pkce=False)
    assert raised.value.error == "invalid_request" and raised.value.redirect_uri == REDIRECT
    req = oauth_request(flask_request("GET", "/v1/auth/authorize", query={
        "response_type": "code", "client_id": public.client.client_id, "redirect_uri": REDIRECT,
        "code_challenge": CHALLENGE, "code_challenge_method": "plain"}), BASE)
    with pytest.raises(OAuth2Error, match="S256"):
        server.get_consent_grant(req)


def test_missing_or_wrong_verifier(server, public):
    status, body = exchange(server, public, code_from(authorize(server, public.client.client_id)))
    assert (status, body["error"]) == (400, "invalid_request")
    status, body = exchange(server, public, code_from(authorize(server, public.client.client_id)),
                            code_verifier="w" * 50)
    assert (status, body["error"]) == (400, "invalid_grant")


def test_code_is_single_use_and_reuse_revokes_its_tokens(server, store, clock, confidential):
    code = code_from(authorize(server, confidential.client.client_id))
    status, first = exchange(server, confidential, code, code_verifier=VERIFIER)
    assert status == 200
    status, again = exchange(server, confidential, code, code_verifier=VERIFIER)
    assert (status, again["error"]) == (400, "invalid_grant")
    with pytest.raises(Exception, match="revoked"):
        tokens.authenticate_access_token(store, first["access_token"], clock)


def test_code_expires_after_a_minute(server, clock, confidential):
    code = code_from(authorize(server, confidential.client.client_id))
    clock.advance(seconds=61)
    status, body = exchange(server, confidential, code, code_verifier=VERIFIER)
    assert (status, body["error"]) == (400, "invalid_grant")


def test_redirect_uri_must_match_at_the_token_endpoint(server, confidential):
    code = code_from(authorize(server, confidential.client.client_id))
    status, body = token_call(server, {"grant_type": "authorization_code", "code": code,
                                       "redirect_uri": "https://app.example.org/other", "code_verifier": VERIFIER},
                              basic(confidential.client.client_id, confidential.client_secret))
    assert (status, body["error"]) == (400, "invalid_grant")


def test_wrong_client_secret_is_invalid_client(server, confidential):
    code = code_from(authorize(server, confidential.client.client_id))
    status, body = token_call(server, {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
                              basic(confidential.client.client_id, "bcs_wrong"))
    assert (status, body["error"]) == (401, "invalid_client")
    status, body = token_call(server, {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                                       "client_id": confidential.client.client_id})
    assert (status, body["error"]) == (401, "invalid_client")  # a confidential client must authenticate


def test_bad_token_request_bodies(server):
    req = flask_request("POST", "/v1/auth/token", json_body={"grant_type": "authorization_code", "code": 5})
    with pytest.raises(OAuth2Error, match="string"):
        oauth_request(req, BASE)
    status, body = token_call(server, {"grant_type": "password", "username": "x", "password": "y"})
    assert (status, body["error"]) == (400, "unsupported_grant_type")


# --- refresh tokens --------------------------------------------------------------------------------


def test_refresh_rotates_and_reuse_revokes_the_family(server, store, clock, public):
    status, first = exchange(server, public, code_from(authorize(server, public.client.client_id)),
                             code_verifier=VERIFIER)
    refresh = {"grant_type": "refresh_token", "client_id": public.client.client_id}
    clock.advance(minutes=16)
    with pytest.raises(Exception, match="expired"):
        tokens.authenticate_access_token(store, first["access_token"], clock)
    status, second = token_call(server, {**refresh, "refresh_token": first["refresh_token"]})
    assert status == 200 and second["refresh_token"] != first["refresh_token"]
    assert tokens.authenticate_access_token(store, second["access_token"], clock).subject == HOLDER.user_id
    # The first refresh token again: rejected, and everything of the grant stops.
    status, replay = token_call(server, {**refresh, "refresh_token": first["refresh_token"]})
    assert (status, replay["error"]) == (400, "invalid_grant")
    with pytest.raises(Exception, match="revoked"):
        tokens.authenticate_access_token(store, second["access_token"], clock)
    status, body = token_call(server, {**refresh, "refresh_token": second["refresh_token"]})
    assert (status, body["error"]) == (400, "invalid_grant")


def test_refresh_may_narrow_but_not_widen_scope(server, public):
    status, first = exchange(server, public, code_from(authorize(server, public.client.client_id,
                                                                 scope="studies:read shares:read")),
                             code_verifier=VERIFIER)
    refresh = {"grant_type": "refresh_token", "client_id": public.client.client_id}
    status, wide = token_call(server, {**refresh, "refresh_token": first["refresh_token"],
                                       "scope": "studies:read shares:write"})
    assert (status, wide["error"]) == (400, "invalid_scope")
    status, narrow = token_call(server, {**refresh, "refresh_token": first["refresh_token"], "scope": "studies:read"})
    assert status == 200 and narrow["scope"] == "studies:read"
    status, back = token_call(server, {**refresh, "refresh_token": narrow["refresh_token"]})
    assert status == 200 and back["scope"] == "shares:read studies:read"  # the grant's scope again


def test_another_clients_refresh_token_is_invalid_grant(server, store, public, confidential):
    status, issued = exchange(server, public, code_from(authorize(server, public.client.client_id)),
                              code_verifier=VERIFIER)
    status, body = token_call(server, {"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]},
                              basic(confidential.client.client_id, confidential.client_secret))
    assert (status, body["error"]) == (400, "invalid_grant")


# --- revocation and introspection ------------------------------------------------------------------


def endpoint_call(server, name: str, form: dict[str, str], headers: dict[str, str] | None = None):
    req = oauth_request(flask_request("POST", f"/v1/auth/{name}", form=form, headers=headers), BASE)
    response = server.create_endpoint_response("revocation" if name == "revoke" else "introspection", req)
    return response.status_code, json.loads(response.get_data())


def test_revocation_and_introspection(server, store, confidential):
    status, issued = exchange(server, confidential, code_from(authorize(server, confidential.client.client_id)),
                              code_verifier=VERIFIER)
    auth = basic(confidential.client.client_id, confidential.client_secret)
    status, info = endpoint_call(server, "introspect", {"token": issued["access_token"]}, auth)
    assert status == 200 and info["active"] is True and info["client_id"] == confidential.client.client_id
    assert info["sub"] == HOLDER.user_id and info["token_type"] == "Bearer" and info["exp"] - info["iat"] == 900
    assert endpoint_call(server, "revoke", {"token": issued["access_token"]}, auth) == (200, {})
    assert endpoint_call(server, "introspect", {"token": issued["access_token"]}, auth) == (200, {"active": False})
    # Unknown tokens: 200 for revocation (RFC 7009 §2.2), inactive for introspection.
    assert endpoint_call(server, "revoke", {"token": "bat_nope"}, auth) == (200, {})
    assert endpoint_call(server, "introspect", {"token": "nope"}, auth) == (200, {"active": False})
    # Revoking the refresh token ends the grant.
    status, info = endpoint_call(server, "introspect", {"token": issued["refresh_token"]}, auth)
    assert info["active"] is True and "token_type" not in info
    assert endpoint_call(server, "revoke", {"token": issued["refresh_token"],
                                            "token_type_hint": "refresh_token"}, auth) == (200, {})
    assert endpoint_call(server, "introspect", {"token": issued["refresh_token"]}, auth) == (200, {"active": False})
    # Bad client authentication: 401 invalid_client.
    status, body = endpoint_call(server, "revoke", {"token": issued["access_token"]},
                                 basic(confidential.client.client_id, "bcs_wrong"))
    assert (status, body["error"]) == (401, "invalid_client")


def test_introspection_of_another_clients_token_is_inactive(server, store, public, confidential):
    status, issued = exchange(server, public, code_from(authorize(server, public.client.client_id)),
                              code_verifier=VERIFIER)
    auth = basic(confidential.client.client_id, confidential.client_secret)
    assert endpoint_call(server, "introspect", {"token": issued["access_token"]}, auth) == (200, {"active": False})
    # Public clients cannot introspect.
    status, body = endpoint_call(server, "introspect", {"token": issued["access_token"],
                                                        "client_id": public.client.client_id})
    assert (status, body["error"]) == (401, "invalid_client")


def test_metadata_is_valid_rfc_8414():
    metadata = server_metadata("https://api.beamit.health")
    assert metadata["issuer"] == "https://api.beamit.health"
    assert metadata["token_endpoint"] == "https://api.beamit.health/v1/auth/token"
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert "keys:manage" in metadata["scopes_supported"]
    with pytest.raises(ValueError):
        server_metadata("http://api.beamit.health")  # not https, not loopback


def test_oauth_errors_are_rfc_6749_shaped():
    from beamit.api.auth import render_oauth_error
    from beamit.errors import BeamItError, NotFound

    response = render_oauth_error(NotFound("no such resource"), "req_x")
    assert response.status_code == 404 and response.get_json() == {"error": "not_found",
                                                                   "error_description": "no such resource"}
    assert render_oauth_error(BeamItError("boom"), "req_x").get_json()["error"] == "server_error"
