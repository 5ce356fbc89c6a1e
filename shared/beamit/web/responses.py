"""Shaping responses: JSON bodies and the one JSON error object.

Error shape (every non-DICOM endpoint)::

    {"error": {"type": "invalid_request", "message": "...", "requestId": "req_..."}}

DICOMweb and OAuth endpoints pass their own renderer to :class:`beamit.web.Router`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Response

from beamit.errors import BeamItError, NotFound
from beamit.ids import new_id

ErrorRenderer = Callable[[BeamItError, str], Response]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":"), ensure_ascii=False),
        status=status,
        headers=headers,
        content_type="application/json",
    )


def render_json_error(error: BeamItError, request_id: str) -> Response:
    return json_response(
        {"error": {"type": error.code, "message": error.message, "requestId": request_id}},
        status=error.status,
        headers=error.headers,
    )


def unroutable_path_error(error: Exception) -> Response:
    """The JSON error object (404, with a request id) for a request functions-framework cannot
    route to the function at all: its catch-all rule does not match a path with a line break in
    it, and Flask would answer with its own HTML page."""
    request_id = new_id("req")
    response = render_json_error(NotFound("no such resource"), request_id)
    response.headers.update({"X-Request-Id": request_id, "Cache-Control": "no-store",
                             "X-Content-Type-Options": "nosniff"})
    return response
