"""The sign-in and consent page: escaping, CSRF, framing and caching headers."""

from __future__ import annotations

from flask import Request
from werkzeug.test import EnvironBuilder

from beamit.auth.oauth import consent


def request_with(cookie: str | None, field: str | None) -> Request:
    headers = {"Cookie": f"{consent.CSRF_COOKIE}={cookie}"} if cookie else {}
    form = {consent.CSRF_FIELD: field} if field is not None else {}
    return Request(EnvironBuilder(method="POST", path="/v1/auth/authorize", headers=headers, data=form).get_environ())


def test_page_headers_and_escaping():
    response = consent.sign_in_page(
        client_name="<script>alert(1)</script>",
        scopes=["studies:read"],
        parameters={"client_id": "cli_x", "state": '"><img src=x>', "redirect_uri": "https://app.example/cb"},
        redirect_uri="https://app.example/cb",
        csrf="a" * 43,
    )
    body = response.get_data(as_text=True)
    assert "<script>" not in body and "&lt;script&gt;" in body and '"><img' not in body
    assert "Search and view imaging studies" in body
    assert response.headers["X-Frame-Options"] == "DENY"
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "form-action 'self' https://app.example" in csp
    assert "script-src" not in csp and "default-src 'none'" in csp
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-beamit_oauth_csrf=")
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Strict" in cookie and "Path=/;" in cookie
    assert "Domain" not in cookie


def test_csrf_double_submit():
    token = "b" * 43
    assert consent.csrf_valid(request_with(token, token))
    assert not consent.csrf_valid(request_with(token, "c" * 43))
    assert not consent.csrf_valid(request_with(None, token))
    assert not consent.csrf_valid(request_with(token, None))
    assert not consent.csrf_valid(request_with("short", "short"))
    # An existing cookie is reused (several tabs), a malformed one replaced.
    assert consent.csrf_token(request_with(token, None)) == token
    assert len(consent.csrf_token(request_with("bad", None))) == 43


def test_error_page_is_not_cached_or_framed():
    response = consent.error_page("invalid_request", "Redirect URI <x> is not registered")
    assert response.status_code == 400 and "&lt;x&gt;" in response.get_data(as_text=True)
    assert response.headers["X-Frame-Options"] == "DENY" and response.headers["Cache-Control"] == "no-store"
