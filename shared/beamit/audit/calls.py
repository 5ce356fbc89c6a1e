"""The audit record of every API call, appended by the router after the response.

A call is recorded in the trail of the caller's tenant: the authenticated principal's, or
for public routes the :class:`~beamit.audit.note.AuditActor` the handler named (OAuth
endpoints, share links, a revoked credential's attempt). A call that names neither is only
in the access log.
"""

from __future__ import annotations

from dataclasses import dataclass

from beamit import logs
from beamit.audit.note import AuditActor, AuditNote
from beamit.audit.trail import AuditEntry, write_entry
from beamit.storage import Services


@dataclass(frozen=True)
class Call:
    """What the HTTP layer knows of one call."""

    method: str
    route: str
    status: int
    request_id: str
    source_ip: str | None
    user_agent: str | None


def audit_call(svc: Services, actor: AuditActor | None, note: AuditNote, call: Call) -> None:
    """Append the call's record to ``actor``'s tenant trail (nothing when there is no actor).

    A failure is logged, never raised: the response is already decided.
    """
    if actor is None:
        return
    entry = AuditEntry(
        tenant_id=actor.tenant_id,
        action=f"{call.method} {call.route}",
        event_code=note.event_code,
        outcome=note.outcome if note.outcome is not None else call.status,
        principal=actor.principal,
        credential_id=actor.credential_id,
        request_id=call.request_id,
        phi=note.phi,
        resources=note.resources.to_record(),
        details=dict(note.details),
        source_ip=call.source_ip,
        user_agent=call.user_agent,
    )
    try:
        write_entry(svc, entry)
    except Exception as exc:
        logs.error("audit record not written", error=type(exc).__name__, tenantId=actor.tenant_id,
                   action=entry.action)
