"""The HTTP side of DICOMweb, shared by the functions that serve it (``dicomweb``, ``viewer``):
path and query parameters parsed into the wire-format types (a malformed one is a 400), and
answers written from a retrieval plan or as DICOM JSON.

Retrievals carry a strong ``ETag`` (``If-None-Match`` gives 304) and
``Cache-Control: private, no-store``: PHI stays out of shared and browser caches. Warnings are
``Warning: 299 <host> "<text>"`` fields (RFC 7234 §5.5, the text a quoted-string).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from flask import Response

from beamit.dicomweb.media_types import DICOM_JSON, Representation
from beamit.dicomweb.multipart import encode_parts
from beamit.dicomweb.uri import (
    DicomwebRoot,
    DicomwebURIError,
    ElementPath,
    ResourceRef,
    parse_frame_list,
    validate_uid,
)
from beamit.dicomweb.wado.etags import boundary_for
from beamit.dicomweb.wado.render_params import RenderParamError, RenderParams
from beamit.errors import BadRequest
from beamit.retrieve.plan import RetrievalPlan, negotiated
from beamit.settings import Settings
from beamit.web.context import RequestContext

CACHE_CONTROL = "private, no-store"


# -- parsing --------------------------------------------------------------------------------------


def accept(ctx: RequestContext) -> str | None:
    """The ``accept`` query parameter overrides the header (PS3.18 §8.3.3.1)."""
    return ctx.request.args.get("accept") or ctx.request.headers.get("Accept")


def negotiate_accept(ctx: RequestContext, offers: Sequence[Representation]) -> Representation:
    """The representation of ``offers`` the request accepts (406 when none)."""
    return negotiated(accept(ctx), offers)


def path_uid(ctx: RequestContext, name: str, keyword: str) -> str:
    """A UID of the request path (400 when malformed)."""
    try:
        return validate_uid(ctx.args[name], keyword)
    except DicomwebURIError as exc:
        raise BadRequest(str(exc)) from None


def resource_ref(study: str, series: str | None = None, instance: str | None = None) -> ResourceRef:
    """A study, series or instance reference (400 when a UID is malformed)."""
    try:
        return ResourceRef(study, series, instance)
    except DicomwebURIError as exc:
        raise BadRequest(str(exc)) from None


def path_ref(ctx: RequestContext) -> ResourceRef:
    """The study, series or instance of the request path."""
    return resource_ref(ctx.args["study"], ctx.args.get("series"), ctx.args.get("instance"))


def frame_numbers(ctx: RequestContext) -> tuple[int, ...]:
    """The frame list of the request path (PS3.18 §10.4.1.1.4)."""
    try:
        return parse_frame_list(ctx.args["frames"])
    except DicomwebURIError as exc:
        raise BadRequest(str(exc)) from None


def element_path(ctx: RequestContext) -> ElementPath:
    """The bulk data element path of the request path."""
    try:
        return ElementPath.parse(ctx.args["element"])
    except DicomwebURIError as exc:
        raise BadRequest(str(exc)) from None


def render_params(ctx: RequestContext) -> RenderParams:
    """The presentation parameters of a rendered resource (PS3.18 §8.3.5)."""
    try:
        return RenderParams.parse(ctx.request.args)
    except RenderParamError as exc:
        raise BadRequest(str(exc)) from None


# -- answers ---------------------------------------------------------------------------------------


def dicomweb_root(settings: Settings) -> DicomwebRoot:
    """The public DICOMweb root; RetrieveURL/BulkDataURI are built from it, never from Host."""
    return DicomwebRoot(f"{settings.public_base_url}/v1/dicomweb")


def dicom_json_response(body: object, status: int = 200, media_type: str = DICOM_JSON) -> Response:
    """A DICOM JSON body, exactly ``application/dicom+json`` unless ``application/json`` was
    negotiated (dicomweb-client parses the body only on an exact match)."""
    response = Response(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8"), status=status)
    response.headers["Content-Type"] = media_type
    return response


def add_warnings(response: Response, settings: Settings, texts: Iterable[str]) -> None:
    """``Warning: 299 <host> "<text>"`` for each text (RFC 7234 §5.5)."""
    agent = urlsplit(settings.public_base_url).netloc or "beamit"
    for text in texts:
        quoted = text.replace("\\", "\\\\").replace('"', '\\"')
        response.headers.add("Warning", f'299 {agent} "{quoted}"')


def send_plan(ctx: RequestContext, plan: RetrievalPlan) -> Response:
    """Declare the retrieval's audit record, then answer: 304 when ``If-None-Match`` names the
    plan's validator (weak comparison, RFC 9110 §13.1.2), else its body, one part as the body of
    a single part representation or every part as ``multipart/related``."""
    ctx.audit.phi = True
    ctx.audit.resources.studies = plan.accessed.studies
    ctx.audit.resources.series = plan.accessed.series
    ctx.audit.resources.instances = plan.accessed.instances
    ctx.audit.detail(**plan.details)
    validators = {"ETag": plan.etag, "Cache-Control": CACHE_CONTROL, "Vary": "Accept"}
    tags = ctx.request.if_none_match
    if tags and (tags.star_tag or tags.contains_weak(plan.etag.strip('"'))):
        return Response(status=304, headers=validators)
    parts = plan.parts()
    if plan.representation.multipart:
        boundary = boundary_for(plan.etag)
        response = Response(encode_parts(parts, boundary), content_type=plan.representation.content_type(boundary),
                            headers=validators)
    else:
        part = next(iter(parts))
        response = Response(part.body, headers=validators)
        response.headers["Content-Type"] = part.content_type  # exactly: no charset appended
    add_warnings(response, ctx.settings, plan.warnings)
    return response
