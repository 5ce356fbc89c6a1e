"""``/dashboard``: the integration dashboard (the ``dashboard`` function).

- ``GET /dashboard``, ``GET /dashboard/callback``: the page (static HTML, no data in it);
  ``/callback`` is the OAuth redirect URI, where the page redeems the code itself
- ``GET /dashboard/assets/{name}``: its JS modules and CSS (``beamit/dashboard/static``)
- ``GET /dashboard/api/workspaces/{tenant}``: what the page needs to sign someone in to that
  tenant: its dashboard client id, the redirect URI and the OAuth endpoints
  (:mod:`beamit.dashboard.workspaces`); whether the sandbox tools exist here

Everything else the page does is a call to the public API with the user's access token
(``Authorization: Bearer``, same origin). The function keeps no session and sets no cookie.
Every response: ``Cache-Control: no-store``, a strict CSP (scripts and styles only from
this origin, no inline code, Trusted Types), no framing, ``Referrer-Policy: no-referrer``
(the callback URL carries the code), no CORS.
"""

from __future__ import annotations

import functools
import re
from importlib import resources

from flask import Response

from beamit.dashboard import workspaces
from beamit.errors import NotFound
from beamit.web import RequestContext, Router
from beamit.web.responses import json_response

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'; require-trusted-types-for 'script'; "
    "trusted-types 'none'"
)
CONTENT_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
                 ".svg": "image/svg+xml"}
_ASSET = re.compile(r"^[a-z0-9-]+\.(js|css|svg)$")

router = Router(
    "dashboard",
    default_headers={
        "Content-Security-Policy": CSP,
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    },
)


@functools.cache
def _static(name: str) -> bytes:
    return resources.files("beamit.dashboard").joinpath("static", name).read_bytes()


@functools.cache
def asset_names() -> frozenset[str]:
    folder = resources.files("beamit.dashboard").joinpath("static")
    return frozenset(item.name for item in folder.iterdir() if _ASSET.match(item.name))


def _page() -> Response:
    return Response(_static("index.html"), content_type="text/html; charset=utf-8")


@router.route("/dashboard", methods=["GET"], public=True)
def dashboard_page(ctx: RequestContext) -> Response:
    return _page()


@router.route("/dashboard/callback", methods=["GET"], public=True)
def callback_page(ctx: RequestContext) -> Response:
    return _page()


@router.route("/dashboard/assets/<name>", methods=["GET"], public=True)
def asset(ctx: RequestContext) -> Response:
    name = ctx.args["name"]
    if name not in asset_names():
        raise NotFound("no such file")
    return Response(_static(name), content_type=CONTENT_TYPES[name[name.rindex("."):]])


@router.route("/dashboard/api/workspaces/<workspace>", methods=["GET"], public=True)
def workspace(ctx: RequestContext) -> Response:
    found = workspaces.find_workspace(ctx.services.metadata, ctx.args["workspace"])
    if found is None:
        raise NotFound("no such workspace", code="workspace_not_found")
    base = ctx.settings.public_base_url
    return json_response({
        "object": "workspace",
        "id": found.tenant_id,
        "name": found.name,
        "clientId": found.client.client_id,
        "redirectUri": workspaces.redirect_uri(base),
        "scopes": sorted(found.client.scopes),
        "authorizationEndpoint": f"{base}/v1/auth/authorize",
        "tokenEndpoint": f"{base}/v1/auth/token",
        "revocationEndpoint": f"{base}/v1/auth/revoke",
        "environment": ctx.settings.environment,
        "sandboxTools": ctx.settings.sandbox_tools,
    })
