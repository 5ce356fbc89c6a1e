"""The audit record of every authenticated API call, written by the router."""

from __future__ import annotations

from typing import TYPE_CHECKING

from beamit import logs
from beamit.audit.trail import APPLICATION_ACTIVITY, AuditEntry, write_entry

if TYPE_CHECKING:
    from flask import Request, Response

    from beamit.web.router import RequestContext


def client_ip(request: Request) -> str | None:
    """The caller's IP address. Google's load balancer appends ``<client>, <lb>`` to any
    ``X-Forwarded-For`` it receives, so with two or more entries the second to last is
    the one it saw (earlier entries are whatever the client sent); without a proxy it
    is the socket's peer."""
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    if len(hops) >= 2:
        return hops[-2]
    return (hops[0] if hops else request.remote_addr) or None


def audit_call(ctx: RequestContext, response: Response) -> None:
    """Append the call's record to the caller's tenant trail.

    Handlers add what they touched to ``ctx.audit``: ``eventCode`` (PS3.15 §A.5),
    ``phi`` (PHI was read or written), ``resources`` (ids such as StudyInstanceUIDs),
    ``details`` (counts, filter names; never PHI values).
    """
    principal = ctx.principal or ctx.audit.get("rejected")  # a revoked or expired credential's attempt
    if principal is None:
        return
    request = ctx.request
    entry = AuditEntry(
        tenant_id=principal.tenant_id,
        action=f"{request.method} {ctx.route}",
        event_code=str(ctx.audit.get("eventCode", APPLICATION_ACTIVITY)),
        outcome=response.status_code,
        principal=principal.subject or principal.credential_id,
        credential_id=principal.credential_id,
        request_id=ctx.request_id,
        phi=bool(ctx.audit.get("phi", False)),
        resources=dict(ctx.audit.get("resources", {})),
        details=dict(ctx.audit.get("details", {})),
        source_ip=client_ip(request),
        user_agent=request.user_agent.string,
    )
    try:
        write_entry(ctx.services, entry)
    except Exception as exc:
        logs.error(
            "audit record not written", error=type(exc).__name__, tenantId=principal.tenant_id, action=entry.action
        )
