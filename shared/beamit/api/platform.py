"""``/v1/health``, the API reference (``/v1/openapi.yaml``, ``/v1/openapi.json``) and the DICOM
conformance statement (``/v1/conformance``, ``docs/conformance.md`` as HTML)."""

from __future__ import annotations

import functools
from importlib import resources

from flask import Response

from beamit import __version__
from beamit.health import check_dependencies
from beamit.web import RequestContext, Router
from beamit.web.pages import Page, markdown_page
from beamit.web.responses import json_response

router = Router("platform")


@router.route("/v1/health", methods=["GET"], public=True)
def health(ctx: RequestContext) -> Response:
    dependencies = check_dependencies(ctx.services)
    healthy = all(state == "ok" for state in dependencies.values())
    return json_response(
        {"status": "ok" if healthy else "degraded", "version": __version__, "dependencies": dependencies},
        status=200 if healthy else 503,
    )


@functools.cache
def _openapi_text() -> str:
    return resources.files("beamit").joinpath("openapi.yaml").read_text("utf-8")


@router.route("/v1/openapi.yaml", methods=["GET"], public=True)
def openapi_yaml(ctx: RequestContext) -> Response:
    return Response(_openapi_text(), content_type="application/yaml", headers={"Cache-Control": "public, max-age=300"})


@router.route("/v1/openapi.json", methods=["GET"], public=True)
def openapi_json(ctx: RequestContext) -> Response:
    import yaml

    return json_response(yaml.safe_load(_openapi_text()), headers={"Cache-Control": "public, max-age=300"})


@functools.cache
def _conformance_page() -> Page:
    text = resources.files("beamit").joinpath("conformance.md").read_text("utf-8")
    return markdown_page("BeamIt DICOM Conformance Statement", text)


@router.route("/v1/conformance", methods=["GET"], public=True)
def conformance(ctx: RequestContext) -> Response:
    page = _conformance_page()
    return Response(page.html, content_type="text/html; charset=utf-8", headers={
        "Cache-Control": "public, max-age=300",
        "Content-Security-Policy": page.content_security_policy,
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
    })
