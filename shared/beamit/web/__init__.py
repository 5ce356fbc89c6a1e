"""The HTTP layer shared by every function: routing, auth, errors, logging, headers."""

from beamit.web.router import RequestContext, Router

__all__ = ["RequestContext", "Router"]
