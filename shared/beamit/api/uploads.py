"""``/v1/uploads``: resumable uploads into the inbox bucket, and their ingest jobs.

For studies over the 32 MB STOW-RS request limit (see :mod:`beamit.uploads`).
"""

from __future__ import annotations

from typing import Any

from flask import Response

from beamit.auth.scopes import STUDIES_READ, STUDIES_WRITE
from beamit.errors import BadRequest
from beamit.uploads import naming
from beamit.uploads import upload as uploads
from beamit.uploads.limits import MAX_UPLOAD_BYTES
from beamit.web import RequestContext, Router
from beamit.web.json_body import json_object
from beamit.web.responses import json_response

router = Router("uploads")

CONTENT_TYPES = (naming.DICOM_TYPE, *sorted(naming.ZIP_TYPES), "application/octet-stream")
MAX_FILENAME = 255
FIELDS = frozenset({"filename", "contentType", "size"})
FILES_IN_UPLOAD = 1000
MAX_FILES_PAGE = 1000


def _upload_request(body: dict[str, Any]) -> tuple[str, str, int]:
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(unknown)}")
    filename = body.get("filename")
    if (
        not isinstance(filename, str)
        or not filename.strip()
        or len(filename) > MAX_FILENAME
        or any(ord(c) < 0x20 or ord(c) == 0x7F for c in filename)
    ):
        raise BadRequest(f"'filename' must be a non-empty string of at most {MAX_FILENAME} printable characters")
    content_type = body.get("contentType")
    if not isinstance(content_type, str) or content_type.split(";")[0].strip().lower() not in CONTENT_TYPES:
        raise BadRequest(f"'contentType' must be one of {', '.join(CONTENT_TYPES)}")
    size = body.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise BadRequest("'size' must be the number of bytes to upload (a positive integer)")
    if size > MAX_UPLOAD_BYTES:
        raise BadRequest(f"'size' is over the limit of {MAX_UPLOAD_BYTES} bytes per upload: split the study")
    return filename, content_type.split(";")[0].strip().lower(), size


@router.route("/v1/uploads", methods=["POST"], scope=STUDIES_WRITE)
def create_upload(ctx: RequestContext) -> Response:
    filename, content_type, size = _upload_request(json_object(ctx.request))
    upload, session_url = uploads.create_upload(
        ctx.services,
        ctx.tenant,
        filename=filename,
        content_type=content_type,
        size=size,
        created_by=ctx.caller.credential_id,
    )
    ctx.audit.resources.upload = upload.id
    body = {
        **upload.to_json(),
        "uploadUrl": session_url,
        "method": "PUT",
        "headers": {"Content-Type": content_type},
    }
    return json_response(body, status=201)


@router.route("/v1/uploads/<upload_id>", methods=["GET"], scope=STUDIES_READ)
def get_upload(ctx: RequestContext) -> Response:
    upload = uploads.get_upload(ctx.services.metadata, ctx.tenant, ctx.args["upload_id"])
    files, more = uploads.list_files(ctx.services.metadata, upload, limit=FILES_IN_UPLOAD)
    ctx.audit.resources.upload = upload.id
    return json_response(upload.to_json(files, more))


@router.route("/v1/uploads/<upload_id>/files", methods=["GET"], scope=STUDIES_READ)
def list_upload_files(ctx: RequestContext) -> Response:
    upload = uploads.get_upload(ctx.services.metadata, ctx.tenant, ctx.args["upload_id"])
    limit = _int_param(ctx, "limit", 100, 1, MAX_FILES_PAGE)
    after = ctx.request.args.get("startingAfter")
    starting_after = None if after is None else _int_param(ctx, "startingAfter", 0, 0, None)
    files, more = uploads.list_files(ctx.services.metadata, upload, limit=limit, starting_after=starting_after)
    ctx.audit.resources.upload = upload.id
    return json_response({"object": "list", "data": [f.to_json() for f in files], "hasMore": more})


def _int_param(ctx: RequestContext, name: str, default: int, low: int, high: int | None) -> int:
    raw = ctx.request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"'{name}' must be an integer") from None
    if value < low or (high is not None and value > high):
        raise BadRequest(f"'{name}' must be between {low} and {high}" if high else f"'{name}' must be >= {low}")
    return value
