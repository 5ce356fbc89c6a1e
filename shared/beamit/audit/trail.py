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


class AuditUnavailable(Exception):
    """The record could not be appended to the tenant's trail (it went to Cloud Logging)."""


def write_entry(svc: Services, entry: AuditEntry) -> str:
    """Append one record; returns its id.

    The record reaches Cloud Logging whatever happens (``audit: true`` routes it to the
    retention-locked audit log bucket): with its hash once it is in the chain, or whole with
    ``auditWritten: false`` when the append failed, before the error is raised again.
    """
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
    logged = {k: v for k, v in record.items() if k not in ("time", "sortKey", "userAgent")}
    try:
        if svc.settings.test_audit_failure_tenant == entry.tenant_id:  # the documented test hook (settings)
            raise AuditUnavailable("audit appends of this tenant fail (BEAMIT_TEST_AUDIT_FAILURE_TENANT)")
        # Appended to a hash chain of the tenant (beamit.audit.chain): tamper-evident.
        record = append(svc.metadata, TenantScope(entry.tenant_id), record_id, record)
    except Exception as exc:
        logs.error("audit", audit=True, auditWritten=False, auditId=record_id, tenantId=entry.tenant_id,
                   error=type(exc).__name__, **logged)
        raise
    # The same record in Cloud Logging; its hash there anchors the chain.
    logs.info(
        "audit",
        audit=True,
        auditId=record_id,
        tenantId=entry.tenant_id,
        **{k: v for k, v in record.items() if k not in ("time", "sortKey", "userAgent")},
    )
    return record_id
