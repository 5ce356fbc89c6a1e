"""CORS for browser viewers: the router's opt-in preflight and response headers (Fetch §3.2)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Request, Response
from werkzeug.test import EnvironBuilder

from beamit.settings import reset_settings
from beamit.web import RequestContext, Router
from beamit.web.cors import CorsPolicy, decorate, origin_allowed

VIEWER = "https://viewer.example.org"


@pytest.fixture
def origins(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("BEAMIT_CORS_ORIGINS", f"{VIEWER}, https://other.example.org")
    reset_settings()
    yield
    monkeypatch.delenv("BEAMIT_CORS_ORIGINS")
    reset_settings()


def request(method: str, path: str, headers: dict[str, str]) -> Request:
    return Request(EnvironBuilder(method=method, path=path, headers=headers).get_environ())


def router() -> Router:
    r = Router("test")

    @r.route("/v1/things/<thing>", methods=["GET"], scope="studies:read")
    def get_thing(ctx: RequestContext) -> Response:  # pragma: no cover - never reached by a preflight
        raise AssertionError("a preflight never reaches the handler")

    r.enable_cors()
    return r


def test_origin_allowed():
    assert origin_allowed(VIEWER, [VIEWER]) and origin_allowed(VIEWER + "/", [VIEWER])
    assert not origin_allowed("https://evil.example", [VIEWER])
    assert not origin_allowed(None, [VIEWER]) and not origin_allowed("null", ["*"])
    assert origin_allowed("https://any.example", ["*"])
    assert not origin_allowed(VIEWER, [])


def test_preflight_needs_no_credential(origins):
    response = router().dispatch(request("OPTIONS", "/v1/things/1", {
        "Origin": VIEWER, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization, accept"}))
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == VIEWER
    assert response.headers["Access-Control-Allow-Methods"] == "GET, HEAD"
    allowed = set(response.headers["Access-Control-Allow-Headers"].split(", "))
    assert {"Accept", "Authorization", "Content-Type"} <= allowed
    assert response.headers["Access-Control-Max-Age"] == "600"
    assert "Origin" in response.headers["Vary"]
    assert response.headers["Cross-Origin-Resource-Policy"] == "cross-origin"


def test_preflight_from_another_origin_is_refused(origins):
    response = router().dispatch(request("OPTIONS", "/v1/things/1", {
        "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}))
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response.headers


def test_preflight_of_a_missing_route_or_method(origins):
    r = router()
    missing = r.dispatch(request("OPTIONS", "/v1/nothing", {"Origin": VIEWER, "Access-Control-Request-Method": "GET"}))
    assert missing.status_code == 404
    wrong = r.dispatch(request("OPTIONS", "/v1/things/1", {"Origin": VIEWER,
                                                           "Access-Control-Request-Method": "DELETE"}))
    assert wrong.status_code == 405 and "Access-Control-Allow-Origin" not in wrong.headers


def test_routers_without_cors_send_no_cors_headers(origins):
    plain = Router("plain")
    response = plain.dispatch(request("OPTIONS", "/v1/x", {"Origin": VIEWER, "Access-Control-Request-Method": "GET"}))
    # (dispatched as an ordinary request: without emulators the services cannot even be built)
    assert response.status_code != 204
    assert not any(name.startswith("Access-Control-") for name in response.headers.keys())
    assert "Cross-Origin-Resource-Policy" not in response.headers


def test_responses_expose_headers_to_allowed_origins_only():
    allowed = Response("x")
    decorate(CorsPolicy(), request("GET", "/", {"Origin": VIEWER}), allowed, [VIEWER])
    assert allowed.headers["Access-Control-Allow-Origin"] == VIEWER
    assert "ETag" in allowed.headers["Access-Control-Expose-Headers"]
    assert {"RateLimit", "RateLimit-Policy", "Retry-After"} <= set(allowed.headers["Access-Control-Expose-Headers"]
                                                                   .split(", "))
    refused = Response("x")
    decorate(CorsPolicy(), request("GET", "/", {"Origin": "https://evil.example"}), refused, [VIEWER])
    assert "Access-Control-Allow-Origin" not in refused.headers
    assert refused.headers["Cross-Origin-Resource-Policy"] == "cross-origin" and "Origin" in refused.headers["Vary"]
