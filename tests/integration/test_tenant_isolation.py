"""Tenant isolation, route by route: a second tenant, holding every scope, calls every route of
every http function of platform.json with the first tenant's real ids (study, series, instance,
share, webhook endpoint and delivery, API key, upload, user and their grant, OAuth client and
tokens, audit record) and gets 404 (204 for searches) and none of the first tenant's data.

The routes come from the routers the functions serve, not from a list here: a new route is
walked as soon as it exists, and one whose path parameter or probe this test does not know
fails it, so tenant scoping cannot be skipped unnoticed. Afterwards the first tenant finds
everything as it was. Every answer also carries HSTS.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from dataclasses import dataclass
from typing import Any

import pytest
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

import beamit.api
from beamit.deployment import load_manifest
from beamit.ids import random_token
from beamit.shares.sessions import COOKIE
from beamit.web.router import Router
from tests.dicom_samples import ct_instance, multipart, part10_bytes
from tests.oauth_flow import PKCE, REDIRECT_URI, Browser, create_client, create_user
from tests.share_flow import SHARE_URL, Recipient, Viewer, create_share, outbox, plain_firestore, random_phone
from tests.support import client_session, poll_until
from tests.webhook_receiver import Receiver

HSTS = "max-age=31536000; includeSubDomains"
PARAMETER = re.compile(r"<(?:[a-z]+:)?(\w+)>")
SEARCH = re.compile(r"/(studies|series|instances)$")


def served_routes() -> list[tuple[str, str]]:
    """(method, rule) of every route the http functions of platform.json serve."""
    manifest = load_manifest()
    http = {fn.name for fn in manifest.functions if fn.trigger.type == "http"}
    routers: dict[int, Router] = {}
    for module in pkgutil.iter_modules(beamit.api.__path__):
        for value in vars(importlib.import_module(f"beamit.api.{module.name}")).values():
            if isinstance(value, Router):
                routers[id(value)] = value
    found, served = set(), set()
    for router in routers.values():
        for rule, methods, _ in router.rules():
            spec = manifest.resolve(PARAMETER.sub("x", rule))
            if spec is None or spec.name not in http:
                continue  # an event function's own path (Pub/Sub, Scheduler): not reachable over HTTP
            served.add(spec.name)
            found |= {(method, rule) for method in methods}
    assert served == http, f"no router found for {sorted(http - served)}"
    return sorted(found)


@dataclass
class FirstTenant:
    """What the first tenant made, and the marker its data carries (none of it may reach tenant two)."""

    headers: dict[str, str]
    marker: str
    ids: dict[str, str]
    share_code: str
    access_token: str
    refresh_token: str
    receiver: Receiver


@pytest.fixture(scope="module")
def first(api, stack, svc) -> Any:
    from tests.support import new_tenant

    a = new_tenant(svc)
    marker = f"xtenant{random_token(8)}"
    ds = ct_instance()
    ds.PatientName = f"{marker.upper()}^PATIENT"
    body, content_type = multipart([part10_bytes(ds)])
    assert api.post("/v1/dicomweb/studies", data=body, headers={**a.headers, "Content-Type": content_type}).ok
    receiver = Receiver()
    hook = api.post("/v1/webhooks", json={"url": receiver.url, "events": ["study.shared"], "description": marker},
                    headers=a.headers).json()
    share = create_share(api, a, str(ds.StudyInstanceUID), message=f"{marker} your images")
    upload = api.post("/v1/uploads", json={"filename": f"{marker}.dcm", "contentType": "application/dicom",
                                            "size": 1000}, headers=a.headers).json()
    user = create_user(api, a.headers, f"{marker}@example.org", "admin")
    app = create_client(api, a.headers, public=False)
    client = OAuth2Session(app.client_id, app.client_secret, scope="keys:manage studies:read",
                           redirect_uri=REDIRECT_URI, code_challenge_method="S256")
    verifier = generate_token(64)
    url, state = client.create_authorization_url(f"{stack.url}/v1/auth/authorize", code_verifier=verifier)
    location = Browser(stack.url, client_session()).authorize(url, user.email)
    token = client.fetch_token(f"{stack.url}/v1/auth/token", authorization_response=location,
                               code_verifier=verifier, state=state)
    deliveries = poll_until(lambda: api.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=a.headers)
                            .json()["data"], what="the first tenant's webhook delivery")
    audit = api.get("/v1/audit", headers=a.headers).json()["data"]
    grants = api.get(f"/v1/auth/users/{user.id}/grants", headers=a.headers).json()["data"]
    ids = {
        "study": str(ds.StudyInstanceUID), "series": str(ds.SeriesInstanceUID), "instance": str(ds.SOPInstanceUID),
        "share_id": share["id"], "endpoint_id": hook["id"], "delivery_id": deliveries[0]["id"],
        "key_id": a.key_id, "upload_id": upload["id"], "user_id": user.id, "client_id": app.client_id,
        "record_id": audit[0]["id"], "grant_id": grants[0]["id"], "workspace": a.id,
    }
    yield FirstTenant(a.headers, marker, ids, share["shareCode"], token["access_token"], token["refresh_token"],
                      receiver)
    receiver.close()


@dataclass
class SecondTenant:
    headers: dict[str, str]
    client_auth: tuple[str, str]
    viewer: Recipient


@pytest.fixture(scope="module")
def second(api, stack, svc) -> SecondTenant:
    """Every scope; a confidential OAuth client; a viewer session of a share of its own (one study)."""
    from tests.support import new_tenant

    b = new_tenant(svc)
    ds = ct_instance()
    body, content_type = multipart([part10_bytes(ds)])
    assert api.post("/v1/dicomweb/studies", data=body, headers={**b.headers, "Content-Type": content_type}).ok
    phone = random_phone()
    db = plain_firestore(stack.settings.project_id)
    create_share(api, b, str(ds.StudyInstanceUID), phone=phone)
    code = SHARE_URL.search(outbox(db, phone, "share_link")[-1]["body"]).group(1)
    viewer = Recipient(api, db, code, phone)
    viewer.sign_in()
    app = create_client(api, b.headers, public=False)
    assert app.client_secret is not None
    return SecondTenant(b.headers, (app.client_id, app.client_secret), viewer)


def probe(method: str, rule: str, a: FirstTenant, b: SecondTenant, api) -> tuple[Any, set[int]]:
    """Tenant two's request for the route (with tenant one's ids) and the statuses it may get."""
    names = PARAMETER.findall(rule)
    values = {**a.ids, "frames": "1", "element": "7FE00010", "name": "viewer.js",
              "index": "0" if {"series", "instance"} & set(names) else "1"}
    unknown = [n for n in names if n not in values and n != "code"]
    if unknown:
        pytest.fail(f"{method} {rule}: this test does not know how to fill <{'>, <'.join(unknown)}>: "
                    "add tenant one's id for it")
    path = PARAMETER.sub(lambda m: values.get(m.group(1), "BM-ZZZZZZ"), rule)
    named = set(names) & set(a.ids)
    if rule.startswith("/s/api/") and rule != "/s/api/verification" and not (rule == "/s/api/session"
                                                                              and method == "POST"):
        # The viewer: tenant two's share session. Studies are addressed by their index in its own
        # share, so tenant one's can only be named by series and instance UIDs (or an index past
        # the share's end).
        call = {"headers": {"Cookie": f"{COOKIE}={b.viewer.token}"}}
        expected = {404} if named or "<index>" in rule else {200, 204}
        if rule.endswith("/download"):
            expected = {403, 404}  # downloads not allowed by tenant two's share
        return (lambda: b.viewer.request(method, path, **call)), expected
    key = {"headers": b.headers}
    if named:
        if method == "POST" and rule == "/v1/dicomweb/studies/<study>":  # STOW: tenant two's own namespace
            return (lambda: api.post(path, data=b"", headers={**b.headers, "Content-Type": "text/plain"})), {415}
        # A body the route would accept, so that only the id can make it fail.
        body = {("PATCH", "/v1/webhooks/<endpoint_id>"): {"enabled": False},
                ("POST", "/v1/shares/<share_id>/extend"): {"expiresIn": "1d"}}.get((method, rule), {})
        if method == "DELETE" and rule.startswith("/v1/dicomweb/"):
            # DICOMweb DELETE is 204 whether or not anything was there (another tenant's UIDs are
            # unknown ones); the first tenant's data is checked intact afterwards.
            return (lambda: api.request(method, path, **key)), {204}
        return (lambda: api.request(method, path, json=body, **key)), ({204, 404} if SEARCH.search(rule) else {404})
    ids = a.ids
    probes: dict[tuple[str, str], tuple[dict[str, Any], set[int]]] = {
        # Public: no tenant data (the OAuth authorize page names a client by its public id, by design).
        ("GET", "/v1/health"): ({}, {200}),
        ("GET", "/v1/openapi.yaml"): ({}, {200}),
        ("GET", "/v1/openapi.json"): ({}, {200}),
        ("GET", "/v1/conformance"): ({}, {200}),
        ("GET", "/dashboard"): ({}, {200}),
        ("GET", "/dashboard/callback"): ({}, {200}),
        ("GET", "/dashboard/assets/<name>"): ({}, {404}),  # "viewer.js" is the patient viewer's, not the dashboard's
        ("GET", "/.well-known/oauth-authorization-server"): ({}, {200}),
        ("GET", "/v1/auth/authorize"): ({"params": {"response_type": "code", "client_id": ids["client_id"],
                                                    "redirect_uri": REDIRECT_URI, "scope": "studies:read", **PKCE},
                                         "allow_redirects": False}, {200}),
        ("POST", "/v1/auth/authorize"): ({"data": {"client_id": ids["client_id"], "decision": "approve"}}, {403, 415}),
        # OAuth with tenant two's client and tenant one's tokens.
        ("POST", "/v1/auth/token"): ({"data": {"grant_type": "refresh_token", "refresh_token": a.refresh_token},
                                      "auth": b.client_auth}, {400}),
        # RFC 7009 §2.1: a token issued to another client is refused (and not revoked: checked after).
        ("POST", "/v1/auth/revoke"): ({"data": {"token": a.access_token}, "auth": b.client_auth}, {400}),
        ("POST", "/v1/auth/introspect"): ({"data": {"token": a.access_token}, "auth": b.client_auth}, {200}),
        # Searches and lists filtered by tenant one's ids: nothing.
        ("GET", "/v1/dicomweb/studies"): ({**key, "params": {"StudyInstanceUID": ids["study"]}}, {204}),
        ("GET", "/v1/dicomweb/series"): ({**key, "params": {"SeriesInstanceUID": ids["series"]}}, {204}),
        ("GET", "/v1/dicomweb/instances"): ({**key, "params": {"SOPInstanceUID": ids["instance"]}}, {204}),
        ("GET", "/v1/shares"): ({**key, "params": {"studyId": ids["study"]}}, {200}),
        ("GET", "/v1/audit"): ({**key, "params": {"principal": ids["key_id"]}}, {200}),
        ("GET", "/v1/audit/export"): ({**key, "params": {"format": "fhir", "principal": ids["key_id"]}}, {200}),
        ("GET", "/v1/audit/verify"): (key, {200}),
        ("GET", "/v1/api-keys"): (key, {200}),
        ("GET", "/v1/webhooks"): (key, {200}),
        ("GET", "/v1/auth/users"): (key, {200}),
        ("GET", "/v1/auth/clients"): (key, {200}),
        # Creating with a reference to tenant one's data: not found.
        ("POST", "/v1/shares"): ({**key, "json": {"studyId": ids["study"], "recipientPhone": random_phone()}},
                                 {404}),
        # Creating the caller's own things names nothing of tenant one's: refused here for a bad body.
        ("POST", "/v1/dicomweb/studies"): ({**key, "data": b"", "headers": {**b.headers,
                                                                         "Content-Type": "text/plain"}}, {415}),
        ("POST", "/v1/api-keys"): ({**key, "json": {}}, {400}),
        ("POST", "/v1/webhooks"): ({**key, "json": {}}, {400}),
        ("POST", "/v1/uploads"): ({**key, "json": {}}, {400}),
        ("POST", "/v1/auth/users"): ({**key, "json": {}}, {400}),
        ("POST", "/v1/auth/clients"): ({**key, "json": {}}, {400}),
        ("POST", "/v1/sandbox/seed"): ({**key, "json": {"count": 0}}, {400}),
        ("POST", "/v1/sandbox/reset"): ({**key, "json": {"everything": True}}, {400}),
        # The patient viewer's public steps: the share code is the credential (an unknown one: 404).
        ("GET", "/s/<code>"): ({}, {404}),
        ("GET", "/s/assets/<name>"): ({}, {200}),
        ("POST", "/s/api/verification"): ({"json": {"code": "BM-ZZZZZZ"}}, {404}),
        ("POST", "/s/api/session"): ({"json": {"code": "BM-ZZZZZZ", "challengeId": "chl_x", "otp": "123456"}},
                                     {404}),
    }
    if (method, rule) not in probes:
        pytest.fail(f"{method} {rule} names none of tenant one's ids and this test has no probe for it: add one")
    kwargs, expected = probes[(method, rule)]
    client = Viewer(api) if rule.startswith("/s/") else api
    return (lambda: client.request(method, path, **kwargs)), expected


def test_every_route_refuses_another_tenants_ids(api, stack, first, second):
    routes = served_routes()
    assert len(routes) >= 60
    # Ending the viewer session goes last; the reads before it need it.
    routes.sort(key=lambda route: route == ("DELETE", "/s/api/session"))
    wrong: list[str] = []
    for method, rule in routes:
        call, expected = probe(method, rule, first, second, api)
        response = call()
        body = response.text.lower()
        if response.status_code not in expected:
            wrong.append(f"{method} {rule}: {response.status_code}, expected {sorted(expected)}: {body[:200]}")
        if first.marker in body or any(v.lower() in body for k, v in first.ids.items()
                                       if k in ("share_id", "endpoint_id", "delivery_id", "upload_id", "user_id",
                                                "record_id", "grant_id") and f"<{k}>" not in rule):
            wrong.append(f"{method} {rule}: the answer holds tenant one's data")
        if response.headers.get("Strict-Transport-Security") != HSTS:
            wrong.append(f"{method} {rule}: no HSTS")
    assert not wrong, "\n".join(wrong)
    introspected = api.post("/v1/auth/introspect", data={"token": first.access_token}, auth=second.client_auth)
    assert introspected.json() == {"active": False}


def test_the_first_tenant_finds_everything_as_it_was(api, first, second):
    """Runs after the walk (module order): nothing of tenant one's was changed or removed."""
    ids, headers = first.ids, first.headers
    assert api.get(f"/v1/shares/{ids['share_id']}", headers=headers).json()["status"] == "active"
    hook = api.get(f"/v1/webhooks/{ids['endpoint_id']}", headers=headers).json()
    assert hook["description"] == first.marker and hook["enabled"] is True
    assert api.get(f"/v1/api-keys/{ids['key_id']}", headers=headers).json()["status"] == "active"
    study = api.get(f"/v1/dicomweb/studies/{ids['study']}/metadata", headers=headers)
    assert study.status_code == 200 and first.marker.upper() in study.text
    for path in (f"/v1/uploads/{ids['upload_id']}", f"/v1/auth/users/{ids['user_id']}",
                 f"/v1/auth/clients/{ids['client_id']}", f"/v1/audit/{ids['record_id']}"):
        assert api.get(path, headers=headers).status_code == 200, path
    # Tenant two's revocation did not touch tenant one's token.
    assert api.get("/v1/api-keys", headers={"Authorization": f"Bearer {first.access_token}"}).status_code == 200


def test_a_route_this_test_cannot_fill_fails_it(api, first, second):
    with pytest.raises(pytest.fail.Exception, match="does not know how to fill <thing_id>"):
        probe("GET", "/v1/things/<thing_id>", first, second, api)
    with pytest.raises(pytest.fail.Exception, match="has no probe for it"):
        probe("POST", "/v1/things", first, second, api)
