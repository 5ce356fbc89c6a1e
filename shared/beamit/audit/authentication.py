"""Audit records of the OAuth endpoints, whose callers have no principal yet.

The router audits authenticated calls (:func:`beamit.audit.calls.audit_call`). The
authorization, token, revocation and introspection endpoints are public: their handlers
name the tenant (the client's) and who acted in ``ctx.audit`` (``tenantId``,
``principal``, ``credentialId``, ``eventCode``, ``outcome``, ``details``), and this hook
writes the record, by default as 110114 User Authentication (PS3.15 §A.5.3.7). A call
that names no tenant (an unknown client) is only in the access log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from beamit import logs
from beamit.audit.calls import client_ip
from beamit.audit.trail import USER_AUTHENTICATION, AuditEntry, write_entry

if TYPE_CHECKING:
    from flask import Response

    from beamit.web.router import RequestContext


def audit_authentication_call(ctx: RequestContext, response: Response) -> None:
    tenant_id = ctx.audit.get("tenantId")
    if ctx.principal is not None or not tenant_id:
        return
    request = ctx.request
    entry = AuditEntry(
        tenant_id=str(tenant_id),
        action=f"{request.method} {ctx.route}",
        event_code=str(ctx.audit.get("eventCode", USER_AUTHENTICATION)),
        outcome=int(ctx.audit.get("outcome", response.status_code)),
        principal=ctx.audit.get("principal"),
        credential_id=ctx.audit.get("credentialId"),
        request_id=ctx.request_id,
        phi=False,
        resources=dict(ctx.audit.get("resources", {})),
        details=dict(ctx.audit.get("details", {})),
        source_ip=client_ip(request),
        user_agent=request.user_agent.string,
    )
    try:
        write_entry(ctx.services, entry)
    except Exception as exc:
        logs.error("audit record not written", error=type(exc).__name__, tenantId=entry.tenant_id, action=entry.action)
