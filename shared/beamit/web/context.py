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
from beamit.settings import Settings, get_settings
from beamit.storage import Services
from beamit.tenancy import TenantScope


def client_ip(request: Request, trusted_hops: int | None = None) -> str | None:
    """The caller's IP address, as the proxy in front of the function saw it.

    Google's external Application Load Balancer appends ``<client>, <load balancer>`` to any
    ``X-Forwarded-For`` the client sent, and the functions' ingress setting
    (``ALLOW_INTERNAL_AND_GCLB``, terraform/functions.tf) lets no one else reach them from the
    internet; locally the gateway appends the same two entries. So the client is the entry
    ``trusted_hops`` (``BEAMIT_TRUSTED_PROXY_HOPS``, 2) from the right: whatever the client
    wrote is further left and never read. A request with fewer entries did not come through
    the proxy (a caller inside the project's network): its socket peer is the client.
    """
    hops = trusted_hops if trusted_hops is not None else get_settings().trusted_proxy_hops
    forwarded = [h.strip() for h in ",".join(request.headers.getlist("X-Forwarded-For")).split(",") if h.strip()]
    if hops > 0 and len(forwarded) >= hops:
        try:
            return str(ipaddress.ip_address(forwarded[-hops]))
        except ValueError:
            pass  # not what the proxy writes: fall back to the peer
    return request.remote_addr or None


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
        return client_ip(self.request, self.settings.trusted_proxy_hops)

    @property
    def audit_actor(self) -> AuditActor | None:
        """Whose trail records the call: the authenticated caller's, else the actor the
        handler named (``ctx.audit.actor``)."""
        if self.principal is not None:
            p = self.principal
            return AuditActor(p.tenant_id, p.subject or p.credential_id, p.credential_id)
        return self.audit.actor
