"""The one error hierarchy of BeamIt.

Domain code raises these; :mod:`beamit.web.responses` maps them to HTTP in one place
(a JSON error object for the REST API, the protocol's own form for DICOMweb and OAuth).
Messages are shown to API callers, so they never contain PHI or secrets.
"""

from __future__ import annotations


class BeamItError(Exception):
    """Base of every error that becomes an HTTP answer."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, code: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.headers = dict(headers or {})


class BadRequest(BeamItError):
    status = 400
    code = "invalid_request"


class Unauthenticated(BeamItError):
    status = 401
    code = "unauthenticated"


class Forbidden(BeamItError):
    status = 403
    code = "insufficient_scope"


class NotFound(BeamItError):
    status = 404
    code = "not_found"


class MethodNotAllowed(BeamItError):
    status = 405
    code = "method_not_allowed"


class NotAcceptable(BeamItError):
    status = 406
    code = "not_acceptable"


class Conflict(BeamItError):
    status = 409
    code = "conflict"


class Gone(BeamItError):
    status = 410
    code = "gone"


class PayloadTooLarge(BeamItError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(BeamItError):
    status = 415
    code = "unsupported_media_type"


class RateLimited(BeamItError):
    status = 429
    code = "rate_limited"


class Unavailable(BeamItError):
    status = 503
    code = "unavailable"
