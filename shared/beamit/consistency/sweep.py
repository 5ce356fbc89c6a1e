"""The leftovers sweep (``consistency-sweep``, Cloud Scheduler every hour): remove what
abandoned requests left behind, after a grace period.

A STOW-RS request or a bucket upload writes the objects first and commits the catalog after
(DESIGN principle 1); a request that dies in between (a killed worker, a client that goes
away, a commit that fails for good) leaves objects no record names. Nothing reads them (the
catalog is the truth of what is stored), but they are patient data that no search, deletion,
retention rule or audit would otherwise see. The sweep finds them with the scan's object part
(:func:`beamit.consistency.scan.leftovers`) and deletes those older than the grace period
(``BEAMIT_SWEEP_GRACE_SECONDS``, default 2 hours: longer than the longest request, the
``dicomweb`` function's 60-minute timeout, so no request can still commit them), checking the
catalog once more just before each deletion. Each tenant's removals are one audit record.

Why remove rather than adopt (commit) them: the client was never told they were stored, and a
retry of the same request stores and commits them again (same SOP Instance UID and bytes:
idempotent), so removing loses nothing a client believes is stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from beamit import logs
from beamit.audit.event_codes import APPLICATION_ACTIVITY
from beamit.audit.trail import AuditEntry, write_entry
from beamit.catalog import Catalog
from beamit.clock import utcnow
from beamit.consistency.scan import DanglingCode, leftovers, tenant_ids
from beamit.shares.share import share_path
from beamit.storage import Services, Transaction, Write
from beamit.tenancy import TenantScope

ACTOR = "system:consistency-sweep"


@dataclass
class SweepResult:
    removed: dict[str, int] = field(default_factory=dict)
    """Objects and share code entries removed, by tenant (only tenants with removals)."""
    kept: int = 0
    """Leftovers that a record named by the time of deletion (committed meanwhile)."""

    def to_json(self) -> dict[str, object]:
        return {"removed": dict(sorted(self.removed.items())), "kept": self.kept}


def sweep_leftovers(svc: Services, *, grace: timedelta | None = None, now: datetime | None = None,
                    tenants: Iterable[str] | None = None) -> SweepResult:
    """Remove every leftover older than ``grace`` (the setting by default)."""
    grace = grace if grace is not None else timedelta(seconds=svc.settings.sweep_grace_seconds)
    now = now or utcnow()
    result = SweepResult()
    for tenant_id in (tenants if tenants is not None else tenant_ids(svc)):
        scope = TenantScope(tenant_id)
        found = leftovers(svc, scope, grace=grace, now=now)
        codes = _remove_dangling_codes(svc, scope, found.dangling_codes)
        if not found.leftovers and not codes:
            continue
        catalog = Catalog(svc.metadata, scope)
        removed: list[str] = []
        objects = 0
        for leftover in found.leftovers:
            if any(catalog.existing_instances(list(leftover.sop_instances))):
                result.kept += 1  # committed after the scan: no longer a leftover
                continue
            svc.blobs.delete(leftover.bucket, leftover.name)
            objects += 1
            removed.extend(leftover.sop_instances)
        if not objects and not codes:
            continue
        result.removed[tenant_id] = objects + len(codes)
        write_entry(svc, AuditEntry(
            tenant_id=tenant_id, action="SWEEP leftovers", event_code=APPLICATION_ACTIVITY, outcome=200,
            principal=ACTOR, credential_id=None, request_id=None, phi=bool(removed),
            resources={"instances": sorted(set(removed)), "shares": codes},
            details={"removedObjects": objects, "removedShareCodes": len(codes),
                     "graceSeconds": int(grace.total_seconds())},
        ))
        logs.info("leftovers removed", tenantId=tenant_id, objects=objects, shareCodes=len(codes))
    return result


def _remove_dangling_codes(svc: Services, scope: TenantScope, dangling: list[DanglingCode]) -> list[str]:
    """Delete code directory entries whose share still does not exist (checked in the transaction)."""
    removed: list[str] = []
    for code in dangling:
        path = share_path(scope, code.share_id)

        def remove(txn: Transaction, path: str = path, entry: str = code.path) -> bool:
            if txn.get(path) is not None:
                return False
            txn.write(Write("delete", entry))
            return True

        if svc.metadata.run_transaction(remove):
            removed.append(code.share_id)
    return removed
