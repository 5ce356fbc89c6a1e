"""Helpers of the OAuth integration tests: a user and a client through the admin API, and
the browser's part of the authorization code flow (the sign-in form, the redirect)."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

from tests.support import client_session

REDIRECT_URI = "https://app.example.org/callback"
PASSWORD = "correct horse battery staple"
SIGN_IN_FAILED = "We could not sign you in with those details"
VERIFIER = "pkce-verifier-" + "v" * 40  # RFC 7636 §4.1: 43 to 128 unreserved characters
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()
PKCE = {"code_challenge": CHALLENGE, "code_challenge_method": "S256"}




class _FormReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self.errors: list[str] = []
        self._in_error = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form":
            self.action = values.get("action")
        elif tag == "input" and values.get("type") == "hidden" and values.get("name"):
            self.fields[values["name"] or ""] = values.get("value") or ""
        elif tag == "p" and values.get("class") == "error":
            self._in_error = True

    def handle_data(self, data: str) -> None:
        if self._in_error:
            self.errors.append(data.strip())
            self._in_error = False


def read_form(html: str) -> _FormReader:
    reader = _FormReader()
    reader.feed(html)
    return reader


@dataclass
class Browser:
    """The user's browser: keeps the CSRF cookie, never follows the final redirect.

    The cookie is ``Secure`` (``__Host-``): browsers send it to ``http://127.0.0.1`` (a
    loopback origin is potentially trustworthy), Python's cookie jar over https only, so the
    browser here sends its cookies itself."""

    base_url: str
    session: requests.Session

    def _cookies(self) -> dict[str, str]:
        jar = self.session.cookies
        return {"Cookie": "; ".join(f"{c.name}={c.value}" for c in jar)} if len(jar) else {}

    def open(self, authorize_url: str) -> requests.Response:
        return self.session.get(authorize_url, allow_redirects=False, timeout=60, headers=self._cookies())

    def submit(self, page: requests.Response, email: str, password: str, decision: str = "approve",
               **overrides: str) -> requests.Response:
        form = read_form(page.text)
        assert form.action == "/v1/auth/authorize", page.text[:500]
        data = {**form.fields, "email": email, "password": password, "decision": decision, **overrides}
        return self.session.post(self.base_url + form.action, data=data, allow_redirects=False, timeout=60,
                                 headers=self._cookies())

    def authorize(self, authorize_url: str, email: str, password: str = PASSWORD) -> str:
        """Sign in and consent; the Location the browser is sent to (not loaded)."""
        page = self.open(authorize_url)
        assert page.status_code == 200, page.text[:500]
        response = self.submit(page, email, password)
        assert response.status_code == 302, response.text[:500]
        return response.headers["Location"]


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@dataclass(frozen=True)
class OAuthClientInfo:
    client_id: str
    client_secret: str | None


@dataclass(frozen=True)
class UserInfo:
    id: str
    email: str


def create_user(api, headers: dict[str, str], email: str, role: str) -> UserInfo:
    response = api.post("/v1/auth/users", json={"email": email, "role": role, "password": PASSWORD},
                        headers=headers)
    assert response.status_code == 201, response.text
    return UserInfo(response.json()["id"], email)


def create_client(api, headers: dict[str, str], *, public: bool, scopes: list[str] | None = None,
                  redirect_uris: list[str] | None = None, pkce_required: bool | None = None) -> OAuthClientInfo:
    body: dict[str, object] = {"name": "Test app", "type": "public" if public else "confidential",
                               "redirectUris": redirect_uris or [REDIRECT_URI]}
    if scopes is not None:
        body["scopes"] = scopes
    if pkce_required is not None:
        body["pkceRequired"] = pkce_required
    response = api.post("/v1/auth/clients", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return OAuthClientInfo(response.json()["clientId"], response.json().get("clientSecret"))


# --- the flow through a browser and a standard client library ------------------------------------------


class Recorder:
    """The X-Request-Id of every response a session receives, and its ``METHOD /path``."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    @property
    def ids(self) -> list[str]:
        return [request_id for request_id, _ in self.calls]

    def __call__(self, response: requests.Response, *args: object, **kwargs: object) -> None:
        path = urlsplit(response.request.url or "").path
        self.calls.append((response.headers["X-Request-Id"], f"{response.request.method} {path}"))


def browser(stack, ip: str | None = None, recorder: Recorder | None = None,
            cookies: requests.cookies.RequestsCookieJar | None = None) -> Browser:
    """A browser whose connections come from its own loopback address (``ip``, a ``127.a.b.c``;
    random by default): the client IP the gateway reports and the throttles count. ``cookies``:
    another browser's (the same person in a second tab)."""
    session = client_session(ip)
    if cookies is not None:
        session.cookies.update(cookies)
    if recorder:
        session.hooks["response"].append(recorder)
    return Browser(stack.url, session)


def authorize_url(stack, client_id: str, scope: str = "studies:read", state: str = "st-42",
                  redirect_uri: str = REDIRECT_URI, pkce: bool = True, **extra: str) -> str:
    """An authorization request (with the PKCE challenge of ``VERIFIER`` unless ``pkce=False``)."""
    query = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": scope,
             "state": state, **(PKCE if pkce else {}), **extra}
    return f"{stack.url}/v1/auth/authorize?{urlencode(query)}"


def public_session(stack, client_id: str, scope: str) -> tuple[OAuth2Session, str]:
    client = OAuth2Session(client_id, scope=scope, redirect_uri=REDIRECT_URI, code_challenge_method="S256",
                           token_endpoint_auth_method="none")
    return client, generate_token(64)


def sign_in_with_library(stack, client_id: str, email: str, scope: str, recorder: Recorder | None = None):
    client, verifier = public_session(stack, client_id, scope)
    if recorder:
        client.hooks["response"].append(recorder)
    url, state = client.create_authorization_url(f"{stack.url}/v1/auth/authorize", code_verifier=verifier)
    location = browser(stack, recorder=recorder).authorize(url, email)
    assert location.startswith(REDIRECT_URI + "?") and query_of(location)["state"] == state
    client.fetch_token(f"{stack.url}/v1/auth/token", authorization_response=location, code_verifier=verifier,
                       state=state)
    return client
