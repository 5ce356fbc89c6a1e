"""Writing audit records (one per API call, and per ingest job).

Each record names who (principal, credential), what (method, route template, resource
ids such as StudyInstanceUID), the outcome (status), and when; never image data, PHI
values or secrets. ``event_code`` classifies it with the DICOM audit event codes of
PS3.15 §A.5 (:mod:`beamit.audit.event_codes`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from beamit import logs
from beamit.audit.chain import append, time_key
from beamit.clock import utcnow
from beamit.ids import new_id
from beamit.storage import Services
from beamit.tenancy import TenantScope

MAX_LISTED_RESOURCES = 2000


@dataclass
class AuditEntry:
    tenant_id: str
    action: str
    event_code: str
    outcome: int
    principal: str | None
    credential_id: str | None
    request_id: str | None
    phi: bool = False
    resources: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    source_ip: str | None = None
    user_agent: str | None = None


def write_entry(svc: Services, entry: AuditEntry) -> str:
    """Append one record; returns its id."""
    record_id = new_id("aud", 24)
    resources = {
        key: (value[:MAX_LISTED_RESOURCES] if isinstance(value, list) else value)
        for key, value in entry.resources.items()
    }
    now = utcnow()
    record = {
        "time": now,
        "sortKey": f"{time_key(now)}|{record_id}",
        "action": entry.action,
        "eventCode": entry.event_code,
        "outcome": entry.outcome,
        "principal": entry.principal,
        "credentialId": entry.credential_id,
        "requestId": entry.request_id,
        "phi": entry.phi,
        "resources": resources,
        "details": entry.details,
        "sourceIp": entry.source_ip,
        "userAgent": (entry.user_agent or "")[:200],
    }
    # Appended to a hash chain of the tenant (beamit.audit.chain): tamper-evident.
    record = append(svc.metadata, TenantScope(entry.tenant_id), record_id, record)
    # The same record in Cloud Logging (``audit: true`` routes it to the locked audit log bucket);
    # its hash there anchors the chain.
    logs.info(
        "audit",
        audit=True,
        auditId=record_id,
        tenantId=entry.tenant_id,
        **{k: v for k, v in record.items() if k not in ("time", "sortKey", "userAgent")},
    )
    return record_id
