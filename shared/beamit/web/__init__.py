"""The HTTP layer shared by every function: routing, auth, errors, logging, headers."""

from beamit.web.context import RequestContext, client_ip
from beamit.web.router import Router

__all__ = ["RequestContext", "Router", "client_ip"]
