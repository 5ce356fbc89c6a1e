"""``/v1/dicomweb``: STOW-RS, QIDO-RS and WADO-RS (DICOM PS3.18)."""

from __future__ import annotations

import json
from typing import BinaryIO, cast

from flask import Response

from beamit.audit.event_codes import IMPORT
from beamit.auth.scopes import STUDIES_WRITE
from beamit.dicomweb import stow
from beamit.dicomweb.media_types import DICOM, MediaTypeError
from beamit.dicomweb.multipart import MultipartError, boundary_from_content_type, iter_parts
from beamit.dicomweb.uri import DicomwebRoot, InvalidUIDError, validate_uid
from beamit.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from beamit.ingest.outcomes import CANNOT_UNDERSTAND, OUT_OF_RESOURCES, FailedInstance
from beamit.ingest.session import IngestSession
from beamit.web import RequestContext, Router
from beamit.web.limits import LimitedBody

router = Router("dicomweb")

DICOM_JSON_TYPE = "application/dicom+json"


def dicomweb_root(ctx: RequestContext) -> DicomwebRoot:
    """The public DICOMweb root; RetrieveURL/BulkDataURI are built from it, never from Host."""
    return DicomwebRoot(f"{ctx.settings.public_base_url}/v1/dicomweb")


def dicom_json_response(body: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    # Exactly application/dicom+json: dicomweb-client parses the body only on an exact match.
    response = Response(
        json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8"), status=status, headers=headers
    )
    response.headers["Content-Type"] = DICOM_JSON_TYPE
    return response


def _path_uid(ctx: RequestContext, name: str, keyword: str) -> str:
    try:
        return validate_uid(ctx.args[name], keyword)
    except InvalidUIDError as exc:
        raise BadRequest(str(exc)) from None


# -- STOW-RS ----------------------------------------------------------------------------------------


@router.route("/v1/dicomweb/studies", methods=["POST"], scope=STUDIES_WRITE, audit=IMPORT)
def store_instances(ctx: RequestContext) -> Response:
    return _store(ctx, None)


@router.route("/v1/dicomweb/studies/<study>", methods=["POST"], scope=STUDIES_WRITE, audit=IMPORT)
def store_study_instances(ctx: RequestContext) -> Response:
    return _store(ctx, _path_uid(ctx, "study", "StudyInstanceUID"))


def _store(ctx: RequestContext, study: str | None) -> Response:
    request = ctx.request
    limit = ctx.settings.stow_max_request_bytes
    too_large = (
        f"STOW-RS requests are limited to {limit} bytes; send larger studies in several requests "
        "or through a resumable upload (POST /v1/uploads)"
    )
    stow.check_request_media_type(request.headers.get("Content-Type"))
    try:
        boundary = boundary_from_content_type(request.headers.get("Content-Type"))
    except MultipartError as exc:
        if exc.reason == "invalid_content_type":
            raise UnsupportedMediaType(str(exc)) from None
        raise BadRequest(str(exc)) from None
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(too_large)
    session = IngestSession(ctx.services, ctx.tenant, expected_study=study)
    body = LimitedBody(request.stream, limit, too_large)  # type: ignore[arg-type]
    parts = 0
    try:
        for part in iter_parts(body, boundary, max_part_bytes=limit):  # type: ignore[arg-type]
            parts += 1
            try:
                media = part.media_type()
            except MediaTypeError:
                media = None
            if part.content_type is not None and (media is None or media.essence != DICOM):
                part.close()
                session.result.failed.append(
                    FailedInstance(CANNOT_UNDERSTAND, f"part {part.index + 1} is {part.content_type!r}, not {DICOM}")
                )
                continue
            session.add(cast(BinaryIO, part.body), part.close)
    except MultipartError as exc:
        session.abort()
        if exc.reason == "part_too_large":
            raise PayloadTooLarge(too_large) from None
        raise BadRequest(f"malformed multipart body ({exc.reason}): {exc}") from None
    except BaseException:
        session.abort()
        raise
    if parts == 0:
        session.abort()
        raise BadRequest("the request holds no instances")
    result = session.finish()
    ctx.audit.phi = True
    ctx.audit.resources.studies = result.studies
    ctx.audit.resources.instances = [s.sop_instance_uid for s in result.stored]
    ctx.audit.detail(stored=len(result.stored), failed=len(result.failed))
    if any(f.reason == OUT_OF_RESOURCES for f in result.failed) and not result.stored:
        return dicom_json_response(stow.response_body(result, dicomweb_root(ctx), study), status=413)
    return dicom_json_response(
        stow.response_body(result, dicomweb_root(ctx), study), status=stow.response_status(result)
    )


# -- WADO-RS (PS3.18 §10.4): handlers in beamit.api.wado, registered on this router -----------------

from beamit.api import qido as _qido  # noqa: E402,F401  (importing it registers the QIDO-RS routes)
from beamit.api import wado as _wado  # noqa: E402,F401  (importing it registers the WADO-RS routes)

router.enable_cors()  # browser viewers (OHIF, Cornerstone3D) call DICOMweb cross-origin: BEAMIT_CORS_ORIGINS
