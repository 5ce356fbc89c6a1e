"""``/v1/audit``: the tenant's audit trail (scope ``audit:read``).

- ``GET /v1/audit``: records, newest first; filters ``study`` (a StudyInstanceUID the
  call touched), ``principal``, ``action`` (method and route template, e.g.
  ``POST /v1/shares``), ``since``/``until`` (RFC 3339); ``limit``, ``cursor``
- ``GET /v1/audit/export?format=fhir``: the same query as a FHIR R4 ``Bundle`` of
  ``AuditEvent`` resources (:mod:`beamit.audit.fhir`)
- ``GET /v1/audit/verify``: checks the hash chains (:mod:`beamit.audit.chain`)
- ``GET /v1/audit/{id}``: one record
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlencode

from flask import Response

from beamit.audit import fhir
from beamit.audit.chain import verify_chains
from beamit.audit.search import AuditFilter, AuditRecord, InvalidCursor, get_record, record_json, search
from beamit.auth.scopes import AUDIT_READ
from beamit.clock import rfc3339, utcnow
from beamit.dicomweb.uri import InvalidUIDError, validate_uid
from beamit.errors import BadRequest, NotFound
from beamit.web import RequestContext, Router
from beamit.web.responses import json_response

router = Router("audit")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_EXPORT_LIMIT = 1000
_ACTION = re.compile(r"[A-Z]{3,7} /[!-~]{0,200}")  # "<METHOD> <route template>", printable ASCII


def _time(ctx: RequestContext, name: str) -> datetime | None:
    raw = ctx.request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise BadRequest(f"'{name}' must be an RFC 3339 date-time such as 2026-02-20T10:30:00Z") from None
    if moment.tzinfo is None:
        raise BadRequest(f"'{name}' needs a time zone (Z or +hh:mm)")
    return moment.astimezone(UTC)


def _filter(ctx: RequestContext) -> AuditFilter:
    args = ctx.request.args
    study = args.get("study") or None
    if study is not None:
        try:
            validate_uid(study, "study")
        except InvalidUIDError as exc:
            raise BadRequest(str(exc)) from None
    principal = args.get("principal") or None
    if principal is not None and len(principal) > 200:
        raise BadRequest("'principal' is at most 200 characters")
    action = args.get("action") or None
    if action is not None and not _ACTION.fullmatch(action):
        raise BadRequest("'action' is a method and route template, such as 'POST /v1/shares'")
    since, until = _time(ctx, "since"), _time(ctx, "until")
    if since and until and since >= until:
        raise BadRequest("'since' must be before 'until'")
    return AuditFilter(study=study, principal=principal, since=since, until=until, action=action)


def _limit(ctx: RequestContext, maximum: int) -> int:
    raw = ctx.request.args.get("limit", str(DEFAULT_LIMIT))
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise BadRequest(f"'limit' must be an integer from 1 to {maximum}")
    return int(raw)


def _page(ctx: RequestContext, maximum: int) -> tuple[AuditFilter, list[AuditRecord], str | None]:
    flt = _filter(ctx)
    try:
        page = search(ctx.services.metadata, ctx.tenant, flt, _limit(ctx, maximum), ctx.request.args.get("cursor"))
    except InvalidCursor as exc:
        raise BadRequest(str(exc)) from None
    ctx.audit.detail(filters=flt.names(), returned=len(page.records))
    return flt, page.records, page.next_cursor


@router.route("/v1/audit", methods=["GET"], scope=AUDIT_READ)
def list_events(ctx: RequestContext) -> Response:
    _, records, cursor = _page(ctx, MAX_LIMIT)
    return json_response(
        {"object": "list", "data": [record_json(d) for d in records], "hasMore": cursor is not None,
         "nextCursor": cursor}
    )


@router.route("/v1/audit/export", methods=["GET"], scope=AUDIT_READ)
def export_events(ctx: RequestContext) -> Response:
    if ctx.request.args.get("format", "fhir") != "fhir":
        raise BadRequest("'format' must be fhir (FHIR R4 AuditEvent resources in a Bundle)")
    _, records, cursor = _page(ctx, MAX_EXPORT_LIMIT)
    base = ctx.settings.public_base_url
    query = {k: v for k, v in ctx.request.args.items() if k != "cursor"}
    self_url = f"{base}/v1/audit/export?{urlencode({**query, **ctx.request.args})}"
    next_url = f"{base}/v1/audit/export?{urlencode({**query, 'cursor': cursor})}" if cursor else None
    body = fhir.bundle(records, ctx.caller.tenant_id, base, self_url, next_url, rfc3339(utcnow()))
    response = json_response(body)
    response.headers["Content-Type"] = "application/fhir+json"
    return response


@router.route("/v1/audit/verify", methods=["GET"], scope=AUDIT_READ)
def verify(ctx: RequestContext) -> Response:
    report = verify_chains(ctx.services.metadata, ctx.tenant)
    ctx.audit.detail(valid=report.valid, records=report.records)
    return json_response(
        {
            "object": "audit_verification",
            "valid": report.valid,
            "records": report.records,
            "chains": report.chains,
            "problems": [p.to_json() for p in report.problems],
            "checkedAt": rfc3339(utcnow()),
        }
    )


@router.route("/v1/audit/<record_id>", methods=["GET"], scope=AUDIT_READ)
def get_event(ctx: RequestContext) -> Response:
    record = get_record(ctx.services.metadata, ctx.tenant, ctx.args["record_id"])
    if record is None:
        raise NotFound("no such audit record")
    return json_response(record_json(record))
