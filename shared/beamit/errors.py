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
    """A malformed request: a parameter, header or body the caller must correct."""

    status = 400
    code = "invalid_request"


class Unauthenticated(BeamItError):
    """No credential, or one that is not valid (unknown, revoked, expired): the caller must
    authenticate again."""

    status = 401
    code = "unauthenticated"


class Forbidden(BeamItError):
    """An authenticated caller without the scope (or the permission) the request needs."""

    status = 403
    code = "insufficient_scope"


class NotFound(BeamItError):
    """No such resource *for this tenant*: another tenant's ids are answered the same way,
    so a caller cannot learn whether they exist."""

    status = 404
    code = "not_found"


class MethodNotAllowed(BeamItError):
    """The path exists, not with this method (``Allow`` names those it has)."""

    status = 405
    code = "method_not_allowed"


class NotAcceptable(BeamItError):
    """No representation the ``Accept`` field (or ``accept`` parameter) allows."""

    status = 406
    code = "not_acceptable"


class Conflict(BeamItError):
    """The request conflicts with the resource's current state (an idempotency key reused
    with another body, a change to something no longer changeable)."""

    status = 409
    code = "conflict"


class Gone(BeamItError):
    """The resource existed and is no longer available (an expired or withdrawn share link)."""

    status = 410
    code = "gone"


class PayloadTooLarge(BeamItError):
    """The body is over the endpoint's limit."""

    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(BeamItError):
    """The body's ``Content-Type`` is not one the endpoint reads."""

    status = 415
    code = "unsupported_media_type"


class RateLimited(BeamItError):
    """Too many attempts: ``Retry-After`` says when to try again."""

    status = 429
    code = "rate_limited"


class Unavailable(BeamItError):
    """A dependency is unavailable; the request may be retried as it is."""

    status = 503
    code = "unavailable"
