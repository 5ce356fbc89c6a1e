"""The sign-in and consent page of the authorization endpoint (server-rendered HTML).

The page names the client and the permissions it asks for, and nothing about patients.
It is protected against:

- cross-site request forgery: a double-submit token, a random ``__Host-beamit_oauth_csrf``
  cookie (``HttpOnly``, ``SameSite=Strict``, ``Secure``, ``Path=/``, no ``Domain``) that
  must equal the form's ``csrf_token`` (compared in constant time). The ``__Host-`` prefix
  (RFC 6265bis §4.1.3.2) makes browsers refuse the cookie unless it was set by this host
  over a secure channel, so a sibling subdomain or a network attacker cannot plant a known
  token. Browsers treat ``http://localhost`` and ``http://127.0.0.1`` as secure, so the
  local stack works the same;
- framing (clickjacking): ``X-Frame-Options: DENY`` and ``frame-ancestors 'none'``;
- script injection: a Content-Security-Policy without scripts, inline style by nonce,
  and every value HTML-escaped;
- caching and leaks: ``Cache-Control: no-store``, ``Referrer-Policy: no-referrer``.

``form-action`` names the client's redirect URI origin as well as ours: browsers apply it
to the redirect that follows the form submission.
"""

from __future__ import annotations

import functools
import hmac
import html
import re
import secrets
from importlib import resources
from string import Template
from urllib.parse import urlsplit

from flask import Request, Response

CSRF_COOKIE = "__Host-beamit_oauth_csrf"
CSRF_FIELD = "csrf_token"
_CSRF = re.compile(r"^[A-Za-z0-9_-]{43}$")
FORWARDED_PARAMETERS = (
    "response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method",
)
SCOPE_DESCRIPTIONS = {
    "studies:read": "Search and view imaging studies",
    "studies:write": "Store imaging studies",
    "shares:read": "See patient share links",
    "shares:write": "Create and revoke patient share links",
    "webhooks:manage": "Manage webhook endpoints",
    "audit:read": "Read the audit trail",
    "keys:manage": "Manage API keys, users and OAuth clients",
}
SIGN_IN_FAILED = "We could not sign you in with those details. Check them and try again in a moment."


@functools.cache
def _template(name: str) -> Template:
    return Template(resources.files("beamit.auth.oauth").joinpath("templates", name).read_text("utf-8"))


def csrf_token(request: Request) -> str:
    """The browser's CSRF token: the one its cookie already holds, or a new one."""
    existing = request.cookies.get(CSRF_COOKIE, "")
    return existing if _CSRF.match(existing) else secrets.token_urlsafe(32)


def csrf_valid(request: Request) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE, "")
    field = request.form.get(CSRF_FIELD, "")
    return bool(_CSRF.match(cookie)) and hmac.compare_digest(cookie.encode(), field.encode())


def _origin(uri: str) -> str | None:
    parts = urlsplit(uri)
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return f"{parts.scheme}:" if parts.scheme else None


def _html_response(body: str, status: int, nonce: str, form_target: str | None = None) -> Response:
    form_action = "'self'" + (f" {origin}" if form_target and (origin := _origin(form_target)) else "")
    response = Response(body, status=status, content_type="text/html; charset=utf-8")
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src 'nonce-{nonce}'; form-action {form_action}; "
        "frame-ancestors 'none'; base-uri 'none'"
    )
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def sign_in_page(
    *,
    client_name: str,
    scopes: list[str],
    parameters: dict[str, str],
    redirect_uri: str,
    csrf: str,
    error: str | None = None,
) -> Response:
    """The sign-in form, carrying the authorization request in hidden fields."""
    nonce = secrets.token_urlsafe(16)
    items = "\n".join(
        f"<li>{html.escape(SCOPE_DESCRIPTIONS.get(s, s))} <small>({html.escape(s)})</small></li>" for s in scopes
    )
    hidden = "\n".join(
        f'<input type="hidden" name="{name}" value="{html.escape(parameters[name])}">'
        for name in FORWARDED_PARAMETERS
        if parameters.get(name)
    )
    body = _template("authorize.html").substitute(
        nonce=nonce,
        client_name=html.escape(client_name),
        scope_items=items,
        hidden_fields=hidden,
        csrf_token=html.escape(csrf),
        error_block=f'<p class="error" role="alert">{html.escape(error)}</p>' if error else "",
    )
    response = _html_response(body, 200, nonce, redirect_uri)
    response.set_cookie(CSRF_COOKIE, csrf, max_age=1800, path="/", secure=True, httponly=True, samesite="Strict")
    return response


def error_page(error: str, message: str, status: int = 400) -> Response:
    """An authorization request that cannot be redirected back (unknown client, bad
    redirect URI: RFC 6749 §4.1.2.1 forbids redirecting those)."""
    nonce = secrets.token_urlsafe(16)
    body = _template("error.html").substitute(nonce=nonce, error=html.escape(error), message=html.escape(message))
    return _html_response(body, status, nonce)
