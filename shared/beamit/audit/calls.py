"""The audit record of every API call, appended by the router once the handler has answered
(before a byte of the response is sent).

A call is recorded in the trail of the caller's tenant: the authenticated principal's, or
for public routes the :class:`~beamit.audit.note.AuditActor` the handler named (OAuth
endpoints, share links, a revoked credential's attempt). A call that names neither is only
in the access log.

Nothing a caller typed reaches the trail unbounded: every string of ``details`` is cut to
:data:`MAX_DETAIL_CHARS` and every list to :data:`MAX_DETAIL_ITEMS`, and a *claimed* actor's
record (:class:`~beamit.audit.note.AuditActor`) keeps no User-Agent at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


MAX_DETAIL_CHARS = 200
MAX_DETAIL_ITEMS = 100


def bounded(value: Any) -> Any:
    """``value`` with every string cut to :data:`MAX_DETAIL_CHARS` and every list to
    :data:`MAX_DETAIL_ITEMS` (nested maps and lists included)."""
    if isinstance(value, str):
        return value[:MAX_DETAIL_CHARS]
    if isinstance(value, dict):
        return {str(k)[:MAX_DETAIL_CHARS]: bounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [bounded(v) for v in value[:MAX_DETAIL_ITEMS]]
    return value


def audit_call(svc: Services, actor: AuditActor | None, note: AuditNote, call: Call) -> bool:
    """Append the call's record to ``actor``'s tenant trail (nothing when there is no actor).

    ``False`` if the append failed (the record is then in Cloud Logging only): the caller
    decides whether the response may still go out (:mod:`beamit.web.router` fails closed on
    PHI reads). Never raises.
    """
    if actor is None:
        return True
    details = bounded(dict(note.details))
    if actor.claimed:
        details["claimed"] = True
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
        details=details,
        source_ip=call.source_ip,
        user_agent=None if actor.claimed else call.user_agent,
    )
    try:
        write_entry(svc, entry)
    except Exception:  # write_entry logged the whole record (auditWritten: false)
        return False
    return True
