"""/dashboard: the page and its files (strict headers, no inline code, nothing cached), and
the workspace lookup that gives the page a tenant's first-party OAuth client."""

from __future__ import annotations

import json
import re

import pytest

from beamit.api.dashboard import CSP, asset_names
from beamit.dashboard.workspaces import CLIENT_NAME, find_workspace, register_dashboard_client
from beamit.storage import Write


def test_the_page_is_static_strict_and_not_cached(api):
    for path in ("/dashboard", "/dashboard/", "/dashboard/callback?code=bac_x&state=y"):
        response = api.get(path)
        assert response.status_code == 200, path
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
        assert response.headers["Content-Security-Policy"] == CSP
        assert "script-src 'self';" in CSP and "unsafe" not in CSP and "frame-ancestors 'none'" in CSP
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert "Set-Cookie" not in response.headers and "Access-Control-Allow-Origin" not in response.headers
    html = api.get("/dashboard").text
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all('src="/dashboard/assets/' in attrs and not body.strip() for attrs, body in scripts)
    assert "<style" not in html and " style=" not in html
    assert not re.search(r"\son[a-z]+=", html)  # no inline event handlers


def test_assets(api):
    names = asset_names()
    assert {"app.js", "session.js", "dashboard.css", "icon.svg"} <= names
    for name in names:
        response = api.get(f"/dashboard/assets/{name}")
        assert response.status_code == 200, name
        assert response.headers["Content-Security-Policy"] == CSP
    assert api.get("/dashboard/assets/app.js").headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert api.get("/dashboard/assets/dashboard.css").headers["Content-Type"] == "text/css; charset=utf-8"
    for name in ("nope.js", "__init__.py", "..%2Fworkspaces.py", "index.html", "App.js"):
        response = api.get(f"/dashboard/assets/{name}")
        assert response.status_code == 404, name
        assert response.json()["error"]["type"] == "not_found"
    assert api.post("/dashboard").status_code == 405


def test_tokens_are_never_stored_by_the_page(api):
    """The page keeps tokens in memory: no storage API but the one-time PKCE hand-over."""
    code = "\n".join(api.get(f"/dashboard/assets/{name}").text for name in asset_names() if name.endswith(".js"))
    code = re.sub(r"(?m)^\s*//.*$", "", code)  # the comments say where tokens are not kept
    assert "localStorage" not in code and "document.cookie" not in code and "indexedDB" not in code
    assert code.count("sessionStorage") == 3  # set before the redirect; read and removed at the callback
    assert "innerHTML" not in code and "eval(" not in code


def test_workspace_lookup(api, svc, make_tenant):
    tenant = make_tenant()
    missing = api.get(f"/dashboard/api/workspaces/{tenant.id}")
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "workspace_not_found"
    client = register_dashboard_client(svc.metadata, tenant.id, svc.settings.public_base_url, created_by="pytest")
    assert client.public and client.name == CLIENT_NAME
    assert client.redirect_uris == (f"{svc.settings.public_base_url}/dashboard/callback",)
    response = api.get(f"/dashboard/api/workspaces/{tenant.id}")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert body["id"] == tenant.id and body["clientId"] == client.client_id
    assert body["redirectUri"] == client.redirect_uris[0]
    assert body["tokenEndpoint"].endswith("/v1/auth/token") and body["authorizationEndpoint"].endswith("/authorize")
    assert body["sandboxTools"] is True and body["environment"] == "local"
    assert "studies:read" in body["scopes"]
    # Registering again is idempotent; another base URL gets its own client.
    assert register_dashboard_client(svc.metadata, tenant.id, svc.settings.public_base_url,
                                     created_by="pytest").client_id == client.client_id
    moved = register_dashboard_client(svc.metadata, tenant.id, "https://dash.example.org", created_by="pytest")
    assert moved.client_id != client.client_id and moved.redirect_uris == ("https://dash.example.org/dashboard/callback",)
    assert api.get(f"/dashboard/api/workspaces/{tenant.id}").json()["clientId"] == moved.client_id
    # A revoked client is no workspace.
    svc.metadata.commit([Write("update", f"oauth_clients/{moved.client_id}", {"revokedAt": client.created_at})])
    assert find_workspace(svc.metadata, tenant.id) is None
    assert api.get(f"/dashboard/api/workspaces/{tenant.id}").status_code == 404


@pytest.mark.parametrize("workspace", ["no-such-tenant", "UPPER", "ab", "..", "a" * 41, "%2E%2E%2Fapi_keys"])
def test_unknown_and_malformed_workspaces_are_404(api, workspace):
    response = api.get(f"/dashboard/api/workspaces/{workspace}")
    assert response.status_code == 404
    assert response.json()["error"]["message"]


def test_cli_registers_the_dashboard_client(stack, make_tenant, capsys):
    from beamit.cli import main

    tenant = make_tenant()
    assert main(["dashboard", "register", "--tenant", tenant.id]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["type"] == "public" and out["redirectUris"] == [f"{stack.url}/dashboard/callback"]
    assert out["dashboardUrl"] == f"{stack.url}/dashboard/?workspace={tenant.id}"
    assert main(["dashboard", "register", "--tenant", "no-such-one"]) == 1
    assert "no tenant" in capsys.readouterr().err


def test_the_dashboard_routes_are_documented(api):
    paths = api.get("/v1/openapi.json").json()["paths"]
    assert "get" in paths["/dashboard"] and "get" in paths["/dashboard/api/workspaces/{workspace}"]
