"""``/v1/sandbox``: more synthetic studies, or a fresh start, for a sandbox tenant.

- ``POST /v1/sandbox/seed`` ``{"count": 1-10, "seed"?}`` (studies:write): store synthetic
  studies through the ingest core (:func:`beamit.sandbox.tenant_data.seed_studies`)
- ``POST /v1/sandbox/reset`` (studies:write and shares:write): delete the tenant's studies
  and shares (:func:`beamit.sandbox.tenant_data.reset_tenant_data`)

Only with ``BEAMIT_ENV`` ``local`` or ``sandbox``: elsewhere every request is 404, before
any credential is looked at (the routes do not exist there).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Request, Response

from beamit.audit.event_codes import IMPORT
from beamit.auth.principal import Principal
from beamit.auth.scopes import SHARES_WRITE, STUDIES_WRITE
from beamit.errors import BadRequest, Forbidden, NotFound
from beamit.sandbox import tenant_data
from beamit.web import RequestContext, Router
from beamit.web.json_body import optional_json_object
from beamit.web.responses import json_response
from beamit.web.router import default_authenticator

if TYPE_CHECKING:
    from beamit.storage import Services


def sandbox_authenticator(svc: Services, request: Request) -> Principal:
    """No routes at all outside local and sandbox: 404 before any credential is read."""
    if not svc.settings.sandbox_tools:
        raise NotFound("no such resource")
    return default_authenticator(svc, request)


router = Router("sandbox", authenticator=sandbox_authenticator)


def _int(body: dict[str, object], name: str, default: int | None, low: int, high: int) -> int | None:
    value = body.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadRequest(f"'{name}' must be an integer from {low} to {high}")
    return value


@router.route("/v1/sandbox/seed", methods=["POST"], scope=STUDIES_WRITE, audit=IMPORT)
def seed(ctx: RequestContext) -> Response:
    body = optional_json_object(ctx.request)
    unknown = sorted(set(body) - {"count", "seed"})
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(unknown)}; allowed: count, seed")
    count = _int(body, "count", 1, 1, tenant_data.MAX_SEED_COUNT)
    assert count is not None
    result = tenant_data.seed_studies(ctx.services, ctx.tenant, count, _int(body, "seed", None, 0, (1 << 31) - 1))
    ctx.audit.resources.studies = result.studies
    ctx.audit.detail(synthetic=True, stored=len(result.stored), failed=len(result.failed))
    return json_response({"object": "sandbox_seed", "studies": result.studies, "instances": len(result.stored),
                          "failed": len(result.failed)}, status=201)


@router.route("/v1/sandbox/reset", methods=["POST"], scope=STUDIES_WRITE)
def reset(ctx: RequestContext) -> Response:
    if not ctx.caller.has_scope(SHARES_WRITE):  # it deletes the shares too
        raise Forbidden(f"this request needs the '{SHARES_WRITE}' scope as well")
    if optional_json_object(ctx.request):
        raise BadRequest("send no body (or an empty JSON object)")
    report = tenant_data.reset_tenant_data(ctx.services, ctx.tenant)
    ctx.audit.detail(deleted=report.records, objects=report.objects)
    return json_response({"object": "sandbox_reset", "deleted": {**report.records, "objects": report.objects}})
