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

from beamit.errors import BeamItError

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
