"""The context a handler receives: the request, its caller and tenant, and its audit note."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from flask import Request

from beamit.audit.note import AuditActor, AuditNote
from beamit.auth.principal import Principal
from beamit.catalog import Catalog
from beamit.errors import Unauthenticated
from beamit.settings import Settings
from beamit.storage import Services
from beamit.tenancy import TenantScope


def _ip(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address(value)) if value else None
    except ValueError:
        return None


def client_ip(request: Request) -> str | None:
    """The caller's IP address. Google's load balancer appends ``<client>, <lb>`` to any
    ``X-Forwarded-For`` it receives, so with two or more entries the second to last is
    the one it saw (earlier entries are whatever the client sent); without a proxy it
    is the socket's peer. Only a valid IP address is returned (it goes to throttle keys
    and the audit trail): anything else in the header counts as absent."""
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    candidate = hops[-2] if len(hops) >= 2 else (hops[0] if hops else None)
    return _ip(candidate) or _ip(request.remote_addr)


@dataclass
class RequestContext:
    request: Request
    request_id: str
    route: str
    args: dict[str, Any]
    principal: Principal | None
    services: Services
    audit: AuditNote = field(default_factory=AuditNote)

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def caller(self) -> Principal:
        if self.principal is None:  # a public route asked for the caller: a programming error
            raise Unauthenticated("authentication required")
        return self.principal

    @property
    def tenant(self) -> TenantScope:
        return TenantScope(self.caller.tenant_id)

    @property
    def catalog(self) -> Catalog:
        """The caller's tenant's catalog of studies, series and instances."""
        return Catalog(self.services.metadata, self.tenant)

    @property
    def client_ip(self) -> str | None:
        return client_ip(self.request)

    @property
    def audit_actor(self) -> AuditActor | None:
        """Whose trail records the call: the authenticated caller's, else the actor the
        handler named (``ctx.audit.actor``)."""
        if self.principal is not None:
            p = self.principal
            return AuditActor(p.tenant_id, p.subject or p.credential_id, p.credential_id)
        return self.audit.actor
