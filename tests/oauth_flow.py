"""Helpers of the OAuth integration tests: a user and a client through the admin API, and
the browser's part of the authorization code flow (the sign-in form, the redirect)."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import requests

REDIRECT_URI = "https://app.example.org/callback"
PASSWORD = "correct horse battery staple"


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
    """The user's browser: keeps the CSRF cookie, never follows the final redirect."""

    base_url: str
    session: requests.Session

    def open(self, authorize_url: str) -> requests.Response:
        return self.session.get(authorize_url, allow_redirects=False, timeout=60)

    def submit(self, page: requests.Response, email: str, password: str, decision: str = "approve",
               **overrides: str) -> requests.Response:
        form = read_form(page.text)
        assert form.action == "/v1/auth/authorize", page.text[:500]
        data = {**form.fields, "email": email, "password": password, "decision": decision, **overrides}
        return self.session.post(self.base_url + form.action, data=data, allow_redirects=False, timeout=60)

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
                  redirect_uris: list[str] | None = None) -> OAuthClientInfo:
    body: dict[str, object] = {"name": "Test app", "type": "public" if public else "confidential",
                               "redirectUris": redirect_uris or [REDIRECT_URI]}
    if scopes is not None:
        body["scopes"] = scopes
    response = api.post("/v1/auth/clients", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return OAuthClientInfo(response.json()["clientId"], response.json().get("clientSecret"))
