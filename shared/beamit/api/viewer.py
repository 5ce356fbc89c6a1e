"""``/s``: the zero-footprint patient viewer and its share-scoped API (the ``viewer`` function).

- ``GET /s/{shareCode}``: the viewer page (static HTML, no data in it), or a plain page
  saying the link is not valid, expired, withdrawn or locked. Code lookups are throttled
  per client (:mod:`beamit.shares.access`).
- ``POST /s/api/verification`` ``{code}``: text a one-time code to the share's phone.
- ``POST /s/api/session`` ``{code, challengeId, otp}``: check it, set the session cookie
  ``__Host-beamit_share`` (:mod:`beamit.shares.sessions`).
- With the cookie (a ``share_session`` principal, scope ``studies:read``): ``GET /s/api/session``
  (the shared studies, series and images), ``GET /s/api/session/status`` (does not extend the
  idle time), ``DELETE /s/api/session``, and WADO-RS reads of the shared studies addressed by
  their index in the share: ``/s/api/studies/{n}/...`` metadata, frames, rendered, thumbnail,
  and ``/s/api/studies/{n}/download`` (ZIP with DICOMDIR, only if the share allows it). The
  reads are the very WADO-RS transactions of :mod:`beamit.retrieve`, audited the same way
  (110103; the download 110106 Export).

Every response: ``Cache-Control: no-store``, a strict CSP, ``Referrer-Policy: no-referrer``
(the code in the page URL never leaves in a Referer), no CORS.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from importlib import resources
from typing import TYPE_CHECKING, Any, cast

from flask import Request, Response

from beamit import retrieve
from beamit.audit.event_codes import APPLICATION_ACTIVITY, EXPORT, INSTANCES_ACCESSED, USER_AUTHENTICATION
from beamit.audit.note import AuditActor
from beamit.auth.principal import Principal
from beamit.auth.scopes import STUDIES_READ
from beamit.clock import rfc3339, utcnow
from beamit.dicomweb.uri import ResourceRef
from beamit.errors import BadRequest, BeamItError
from beamit.shares import access, archive
from beamit.shares.manifest import study_manifest
from beamit.shares.sessions import (
    COOKIE,
    SharePrincipal,
    end_session,
    idle_expires_at,
    principal_for,
    resolve_session,
)
from beamit.shares.share import Share
from beamit.web import RequestContext, Router
from beamit.web.dicomweb import accept, frame_numbers, render_params, resource_ref, send_plan
from beamit.web.json_body import json_object
from beamit.web.responses import json_response
from beamit.web.router import Handler

if TYPE_CHECKING:
    from beamit.storage import Services

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
STATUS_PATH = "/s/api/session/status"
ASSETS = {"viewer.js": "text/javascript; charset=utf-8", "viewer.css": "text/css; charset=utf-8"}


def session_authenticator(svc: Services, request: Request) -> Principal:
    """The viewer's cookie: a share-session principal (the status poll does not extend it)."""
    principal, _ = resolve_session(svc, request.cookies.get(COOKIE), touch=request.path != STATUS_PATH)
    return principal


router = Router(
    "viewer",
    authenticator=session_authenticator,
    default_headers={
        "Content-Security-Policy": CSP,
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    },
)


def _asset(name: str) -> bytes:
    return resources.files("beamit.viewer").joinpath(name).read_bytes()


def _share(ctx: RequestContext) -> SharePrincipal:
    return cast(SharePrincipal, ctx.caller)


def _audit_share(ctx: RequestContext, share: Share, event_code: str, **details: object) -> None:
    """A call made with the share link (before a session): the record names the share."""
    ctx.audit.actor = AuditActor(share.tenant_id, share.id, "share-link")
    ctx.audit.event_code = event_code
    ctx.audit.resources.share = share.id
    ctx.audit.resources.studies = list(share.studies)
    ctx.audit.detail(**details)


# -- the page ------------------------------------------------------------------------------------------


def notice_page(title: str, message: str, status: int, headers: dict[str, str] | None = None) -> Response:
    body = (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<meta name=\"referrer\" content=\"no-referrer\">"
        f"<title>{html.escape(title)} · BeamIt</title><link rel=\"stylesheet\" href=\"/s/assets/viewer.css\"></head>"
        f"<body class=\"notice\"><main class=\"card\"><h1>{html.escape(title)}</h1>"
        f"<p>{html.escape(message)}</p><p class=\"muted\">If you need the images, ask the clinic or "
        "sender for a new link.</p></main></body></html>"
    )
    return Response(body, status=status, content_type="text/html; charset=utf-8", headers=headers)


@router.route("/s/<code>", methods=["GET"], public=True)
def viewer_page(ctx: RequestContext) -> Response:
    try:
        share = access.resolve_code(ctx.services, ctx.args["code"], ctx.client_ip)
        _audit_share(ctx, share, APPLICATION_ACTIVITY, step="link-opened")
        access.require_viewable(share)
    except BeamItError as error:
        titles = {404: "Link not valid", 410: "Link not available", 429: "Too many attempts"}
        return notice_page(titles.get(error.status, "Something went wrong"), error.message, error.status,
                           error.headers)
    return Response(_asset("index.html"), content_type="text/html; charset=utf-8")


@router.route("/s/assets/<name>", methods=["GET"], public=True)
def viewer_asset(ctx: RequestContext) -> Response:
    name = ctx.args["name"]
    if name not in ASSETS:
        return notice_page("Not found", "There is nothing here.", 404)
    return Response(_asset(name), content_type=ASSETS[name])


# -- verification and the session -----------------------------------------------------------------


def _code(body: dict[str, Any]) -> str:
    code = body.get("code")
    if not isinstance(code, str) or len(code) > 20:
        raise BadRequest("'code' (the share code of the link) is required")
    return code


@router.route("/s/api/verification", methods=["POST"], public=True)
def start_verification(ctx: RequestContext) -> Response:
    body = json_object(ctx.request)
    share = access.resolve_code(ctx.services, _code(body), ctx.client_ip)
    _audit_share(ctx, share, APPLICATION_ACTIVITY, step="verification-code-sent")
    challenge = access.start_verification(ctx.services, share)
    return json_response({"challengeId": challenge.id, "phoneHint": challenge.phone_hint,
                          "expiresAt": rfc3339(challenge.expires_at)}, status=201)


@router.route("/s/api/session", methods=["POST"], public=True)
def open_session(ctx: RequestContext) -> Response:
    body = json_object(ctx.request)
    ip = ctx.client_ip
    share = access.resolve_code(ctx.services, _code(body), ip)
    _audit_share(ctx, share, USER_AUTHENTICATION, step="verification-code-checked")
    verified = access.verify(ctx.services, share, body.get("challengeId", ""), str(body.get("otp", "")), ip)
    session = verified.session
    opened = principal_for(verified.share, session.id)
    ctx.audit.actor = AuditActor(opened.tenant_id, opened.subject or opened.credential_id, opened.credential_id)
    ctx.audit.details = {"step": "session-opened", "viewCount": verified.share.view_count}
    response = json_response({"object": "share_session", "expiresAt": rfc3339(session.expires_at),
                              "idleExpiresAt": rfc3339(idle_expires_at(session.record))}, status=201)
    max_age = max(1, int((session.expires_at - utcnow()).total_seconds()))
    response.set_cookie(COOKIE, session.token, max_age=max_age, path="/", secure=True, httponly=True,
                        samesite="Strict")
    return response


@router.route("/s/api/session", methods=["GET"], scope=STUDIES_READ)
def session_manifest(ctx: RequestContext) -> Response:
    principal = _share(ctx)
    _, record = resolve_session(ctx.services, ctx.request.cookies.get(COOKIE), touch=False)
    studies = [study_manifest(ctx.catalog, n, uid) for n, uid in enumerate(principal.studies)]
    ctx.audit.phi = True
    ctx.audit.resources.share = principal.share_id
    ctx.audit.resources.studies = list(principal.studies)
    return json_response({
        "object": "share_session",
        "allowDownload": principal.allow_download,
        "expiresAt": rfc3339(record["absoluteExpiresAt"]),
        "idleExpiresAt": rfc3339(idle_expires_at(record)),
        "studies": studies,
    })


@router.route(STATUS_PATH, methods=["GET"], scope=STUDIES_READ)
def session_status(ctx: RequestContext) -> Response:
    _, record = resolve_session(ctx.services, ctx.request.cookies.get(COOKIE), touch=False)
    return json_response({"active": True, "expiresAt": rfc3339(record["absoluteExpiresAt"]),
                          "idleExpiresAt": rfc3339(idle_expires_at(record))})


@router.route("/s/api/session", methods=["DELETE"], scope=STUDIES_READ)
def close_session(ctx: RequestContext) -> Response:
    end_session(ctx.services, ctx.request.cookies.get(COOKIE))
    ctx.audit.detail(step="session-closed")
    response = json_response({"object": "share_session", "ended": True})
    response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="Strict")
    return response


# -- WADO-RS reads of the shared studies --------------------------------------------------------------

STUDY = "/s/api/studies/<index>"  # no converter: route templates are split on ":"
SERIES = f"{STUDY}/series/<series>"
INSTANCE = f"{SERIES}/instances/<instance>"
FRAMES = f"{INSTANCE}/frames/<frames>"


def _read(rule: str, audit: str = INSTANCES_ACCESSED) -> Callable[[Handler], Handler]:
    return router.route(rule, methods=["GET"], scope=STUDIES_READ, audit=audit)


def _shared_study(ctx: RequestContext) -> str:
    """The StudyInstanceUID at the path's index, through the session's allow-list."""
    index = str(ctx.args["index"])
    return _share(ctx).study(int(index) if index.isdigit() and len(index) < 4 else -1)


def _shared_ref(ctx: RequestContext) -> ResourceRef:
    return resource_ref(_shared_study(ctx), ctx.args.get("series"), ctx.args.get("instance"))


def _retrieval(ctx: RequestContext) -> retrieve.Retrieval:
    return retrieve.Retrieval.for_tenant(ctx.services, ctx.tenant)


@_read(f"{STUDY}/metadata")
@_read(f"{SERIES}/metadata")
def shared_metadata(ctx: RequestContext) -> Response:
    return send_plan(ctx, retrieve.plan_metadata(_retrieval(ctx), _shared_ref(ctx), accept(ctx)))


@_read(f"{SERIES}/thumbnail")
@_read(f"{INSTANCE}/thumbnail")
def shared_thumbnail(ctx: RequestContext) -> Response:
    plan = retrieve.plan_thumbnail(_retrieval(ctx), _shared_ref(ctx), None, render_params(ctx), accept(ctx))
    return send_plan(ctx, plan)


@_read(f"{INSTANCE}/rendered")
def shared_rendered(ctx: RequestContext) -> Response:
    plan = retrieve.plan_rendered(_retrieval(ctx), _shared_ref(ctx), None, render_params(ctx), accept(ctx))
    return send_plan(ctx, plan)


@_read(f"{FRAMES}/rendered")
def shared_rendered_frames(ctx: RequestContext) -> Response:
    plan = retrieve.plan_rendered(_retrieval(ctx), _shared_ref(ctx), frame_numbers(ctx), render_params(ctx),
                                  accept(ctx))
    return send_plan(ctx, plan)


@_read(FRAMES)
def shared_frames(ctx: RequestContext) -> Response:
    return send_plan(ctx, retrieve.plan_frames(_retrieval(ctx), _shared_ref(ctx), frame_numbers(ctx), accept(ctx)))


@_read(f"{STUDY}/download", EXPORT)
def download_study(ctx: RequestContext) -> Response:
    principal = _share(ctx)
    principal.require_download()
    study = _shared_study(ctx)
    instances = ctx.catalog.study_instances(study)
    ctx.audit.phi = True
    ctx.audit.resources.share = principal.share_id
    ctx.audit.resources.studies = [study]
    ctx.audit.resources.instances = [i.sop_instance for i in instances]
    ctx.audit.detail(format="zip+dicomdir", instanceCount=len(instances))
    body = archive.study_zip(ctx.services.blobs, ctx.settings.bucket("dicom"), instances)
    return Response(body, content_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="study-{study[-12:]}.zip"',
        "Cache-Control": "no-store",
    })
