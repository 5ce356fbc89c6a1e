"""Reading JSON request bodies with precise errors."""

from __future__ import annotations

import json
from typing import Any

from flask import Request

from beamit.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType

MAX_JSON_BYTES = 64 * 1024


def json_object(request: Request, max_bytes: int = MAX_JSON_BYTES) -> dict[str, Any]:
    """The request body as a JSON object, or a 4xx naming what is wrong."""
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("send the body as application/json")
    if request.content_length is not None and request.content_length > max_bytes:
        raise PayloadTooLarge(f"JSON bodies are limited to {max_bytes} bytes")
    raw = request.stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"JSON bodies are limited to {max_bytes} bytes")
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object")
    return body


def optional_json_object(request: Request, max_bytes: int = MAX_JSON_BYTES) -> dict[str, Any]:
    """A JSON object body, or ``{}`` when the request has no body at all."""
    if not request.mimetype and not request.content_length:
        return {}
    return json_object(request, max_bytes)
