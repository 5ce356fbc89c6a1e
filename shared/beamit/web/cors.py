"""Cross-Origin Resource Sharing for routers that browsers call (Fetch standard §3.2).

Opt-in per router (:meth:`beamit.web.Router.enable_cors`): the DICOMweb router enables it
so that browser viewers (OHIF / Cornerstone3D) served from another origin can call it.

- A preflight (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``) is
  answered by the router itself, without authentication (browsers never send credentials
  on a preflight): 204 with the allowed methods, request headers and max age when the
  origin is allowed, 403 otherwise.
- Every other response gets ``Access-Control-Allow-Origin`` (the request's origin echoed,
  only when allowed) and ``Access-Control-Expose-Headers``, plus ``Vary: Origin``.
- ``Cross-Origin-Resource-Policy: cross-origin`` on every response, so a viewer page with
  ``Cross-Origin-Embedder-Policy: require-corp`` (OHIF enables it for SharedArrayBuffer)
  may load rendered images and frames. This is safe here because access is granted by
  the ``Authorization`` header, never by cookies: a cross-origin ``no-cors`` request that
  CORP would guard against carries no credential and gets 401.

Credentials mode is not used (no cookies), so ``Access-Control-Allow-Credentials`` is
never sent and a configured ``*`` may safely allow every origin.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask import Request, Response


@dataclass(frozen=True)
class CorsPolicy:
    """What a CORS-enabled router allows; origins come from the settings at request time."""

    allow_headers: tuple[str, ...] = ("Accept", "Authorization", "Content-Type", "If-None-Match", "X-Request-Id")
    expose_headers: tuple[str, ...] = (
        "Content-Type", "Content-Length", "Content-Location", "ETag", "Warning", "X-Request-Id",
        "RateLimit", "RateLimit-Policy", "Retry-After",  # so a browser app can pace itself
    )
    max_age: int = 600
    resource_policy: str = "cross-origin"


def origin_allowed(origin: str | None, allowed: Iterable[str]) -> bool:
    """Whether ``origin`` (the request's ``Origin``) is one of ``allowed`` (exact, or ``*``)."""
    if not origin or origin == "null":
        return False
    allowed = tuple(allowed)
    return "*" in allowed or origin.rstrip("/") in {a.rstrip("/") for a in allowed}


def is_preflight(request: Request) -> bool:
    return (request.method == "OPTIONS" and "Origin" in request.headers
            and "Access-Control-Request-Method" in request.headers)


def preflight_headers(policy: CorsPolicy, origin: str, methods: Iterable[str]) -> dict[str, str]:
    """Headers of a successful preflight answer (Fetch §3.2.3)."""
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": ", ".join(sorted(set(methods))),
        "Access-Control-Allow-Headers": ", ".join(policy.allow_headers),
        "Access-Control-Max-Age": str(policy.max_age),
    }


def decorate(policy: CorsPolicy, request: Request, response: Response, allowed: Iterable[str]) -> None:
    """Add the CORS response headers to any (non-preflight) response."""
    response.vary.add("Origin")
    response.headers.setdefault("Cross-Origin-Resource-Policy", policy.resource_policy)
    origin = request.headers.get("Origin")
    if origin is not None and origin_allowed(origin, allowed):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = ", ".join(policy.expose_headers)
