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
  reads are the very WADO-RS handlers of :mod:`beamit.api.wado`, audited the same way
  (110103; the download 110106 Export).

Every response: ``Cache-Control: no-store``, a strict CSP, ``Referrer-Policy: no-referrer``
(the code in the page URL never leaves in a Referer), no CORS.
"""

from __future__ import annotations

import html
from importlib import resources
from typing import Any, cast

from flask import Request, Response

from beamit import catalog
from beamit.api import wado
from beamit.audit.event_codes import APPLICATION_ACTIVITY, EXPORT, USER_AUTHENTICATION
from beamit.audit.note import AuditActor
from beamit.auth.principal import Principal
from beamit.auth.scopes import STUDIES_READ
from beamit.clock import rfc3339, utcnow
from beamit.dicomweb.wado.instances import StoredInstance, study_instances
from beamit.errors import BadRequest, BeamItError
from beamit.shares import access, archive
from beamit.shares.records import Share
from beamit.shares.sessions import (
    COOKIE,
    SharePrincipal,
    end_session,
    idle_expires_at,
    principal_for,
    resolve_session,
)
from beamit.storage import Filter, Query, Services
from beamit.tenancy import TenantScope
from beamit.web import RequestContext, Router
from beamit.web.json_body import json_object
from beamit.web.responses import json_response

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


def _series_records(svc: Services, scope: TenantScope, study: str) -> dict[str, dict[str, Any]]:
    docs = svc.metadata.query(Query(scope.collection(catalog.SERIES), filters=(Filter("studyUID", "==", study),)))
    return {doc.id: doc.data for doc in docs}


def _value(dicom: dict[str, Any], tag: str) -> Any:
    values = (dicom.get(tag) or {}).get("Value") or [None]
    return values[0]


def _study_manifest(svc: Services, scope: TenantScope, index: int, study: str) -> dict[str, Any]:
    record = catalog.get_study(svc.metadata, scope, study) or {}
    dicom = record.get("dicom") or {}
    instances = svc.metadata.query(Query(scope.collection(catalog.INSTANCES),
                                         filters=(Filter("studyUID", "==", study),)))
    by_series: dict[str, list[tuple[StoredInstance, dict[str, Any]]]] = {}
    for doc in instances:
        stored = StoredInstance.from_record(doc.data)
        if stored.is_image:
            by_series.setdefault(stored.series, []).append((stored, doc.data.get("dicom") or {}))
    series_records = _series_records(svc, scope, study)
    series = []
    for uid, items in by_series.items():
        items.sort(key=lambda item: item[0].sort_key)
        series_dicom = (series_records.get(uid) or {}).get("dicom") or {}
        first = items[0][1]
        center, width = _value(first, "00281050"), _value(first, "00281051")
        series.append({
            "uid": uid,
            "number": _value(series_dicom, "00200011"),
            "description": _value(series_dicom, "0008103E") or "",
            "modality": (series_records.get(uid) or {}).get("modality") or _value(series_dicom, "00080060") or "",
            "window": {"center": center, "width": width} if center is not None and width else None,
            "images": [{"uid": s.sop_instance, "frames": s.number_of_frames or 1} for s, _ in items],
        })
    series.sort(key=lambda s: (s["number"] if isinstance(s["number"], int) else 1 << 30, s["uid"]))
    return {
        "index": index,
        "description": _value(dicom, "00081030") or "",
        "date": _value(dicom, "00080020") or "",
        "modalities": list(record.get("modalities") or []),
        "series": series,
    }


@router.route("/s/api/session", methods=["GET"], scope=STUDIES_READ)
def session_manifest(ctx: RequestContext) -> Response:
    principal = _share(ctx)
    _, record = resolve_session(ctx.services, ctx.request.cookies.get(COOKIE), touch=False)
    studies = [_study_manifest(ctx.services, ctx.tenant, n, uid) for n, uid in enumerate(principal.studies)]
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


def _shared(ctx: RequestContext) -> RequestContext:
    """Map the study index to its StudyInstanceUID through the session's allow-list."""
    index = str(ctx.args.pop("index"))
    ctx.args["study"] = _share(ctx).study(int(index) if index.isdigit() and len(index) < 4 else -1)
    return ctx


@router.route(f"{STUDY}/metadata", methods=["GET"], scope=STUDIES_READ)
def study_metadata(ctx: RequestContext) -> Response:
    return wado.retrieve_study_metadata(_shared(ctx))


@router.route(f"{SERIES}/metadata", methods=["GET"], scope=STUDIES_READ)
def series_metadata(ctx: RequestContext) -> Response:
    return wado.retrieve_series_metadata(_shared(ctx))


@router.route(f"{SERIES}/thumbnail", methods=["GET"], scope=STUDIES_READ)
def series_thumbnail(ctx: RequestContext) -> Response:
    return wado.retrieve_series_thumbnail(_shared(ctx))


@router.route(f"{INSTANCE}/thumbnail", methods=["GET"], scope=STUDIES_READ)
def instance_thumbnail(ctx: RequestContext) -> Response:
    return wado.retrieve_instance_thumbnail(_shared(ctx))


@router.route(f"{INSTANCE}/rendered", methods=["GET"], scope=STUDIES_READ)
def instance_rendered(ctx: RequestContext) -> Response:
    return wado.retrieve_rendered_instance(_shared(ctx))


@router.route(f"{FRAMES}/rendered", methods=["GET"], scope=STUDIES_READ)
def frames_rendered(ctx: RequestContext) -> Response:
    return wado.retrieve_rendered_frames(_shared(ctx))


@router.route(FRAMES, methods=["GET"], scope=STUDIES_READ)
def frames(ctx: RequestContext) -> Response:
    return wado.retrieve_frames(_shared(ctx))


@router.route(f"{STUDY}/download", methods=["GET"], scope=STUDIES_READ, audit=EXPORT)
def download_study(ctx: RequestContext) -> Response:
    principal = _share(ctx)
    principal.require_download()
    study = _shared(ctx).args["study"]
    instances = study_instances(ctx.services.metadata, ctx.tenant, study)
    ctx.audit.phi = True
    ctx.audit.resources.share = principal.share_id
    ctx.audit.resources.studies = [study]
    ctx.audit.resources.instances = [i.sop_instance for i in instances]
    ctx.audit.detail(format="zip+dicomdir", instanceCount=len(instances))
    body = archive.study_zip(ctx.services.blobs, ctx.settings.bucket("dicom"), instances)
    return Response(body, content_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="study-{ctx.args["study"][-12:]}.zip"',
        "Cache-Control": "no-store",
    })
