"""The one error of the QIDO-RS query parser.

PS3.18 §8.3: "If a supported Query Parameter has an invalid value, the origin server shall
return a 400 (Bad Request) error response".  :class:`QueryError` is a
:class:`beamit.errors.BadRequest`, so the web layer renders it as that 400 without a
QIDO-specific mapping; it is also a :class:`ValueError` for code that parses outside a
request.

Messages name the offending *parameter* (its name as the client sent it, and the attribute it
resolved to) and say what was expected.  They never repeat a matching *value*: values such as
``PatientName`` or ``PatientBirthDate`` are PHI, and error messages reach logs and API
callers (see :mod:`beamit.errors`).
"""

from __future__ import annotations

from beamit.errors import BadRequest

__all__ = ["QueryError"]

_MAX_NAME_IN_MESSAGE = 64


class QueryError(BadRequest, ValueError):
    """A QIDO-RS request whose query parameters cannot be turned into a search.

    ``parameter`` is the query parameter name at fault (as sent, made printable and cut to
    64 characters), or ``None`` for a fault of the request path.
    """

    code = "invalid_query"

    def __init__(self, message: str, *, parameter: str | None = None) -> None:
        super().__init__(message)
        self.parameter = parameter


def printable_name(name: str) -> str:
    """``name`` made safe to quote in a message: control characters escaped, length capped."""
    cleaned = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in name)
    if len(cleaned) > _MAX_NAME_IN_MESSAGE:
        cleaned = cleaned[:_MAX_NAME_IN_MESSAGE] + "..."
    return cleaned
