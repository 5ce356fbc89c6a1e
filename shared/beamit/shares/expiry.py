"""The scheduled sweep (``share-expiry``, Cloud Scheduler every 5 minutes): expire shares
and publish ``share.expired`` once per share.

The sweep queries the ``share_codes`` directory (``state == active`` and ``expiresAt <=
now``; composite index in terraform/firestore_indexes.tf). Each share is expired in a
transaction that also sets ``expiredEventAt``: a concurrent or repeated sweep finds the
flag and publishes nothing. If publishing then fails, the flag is cleared again so the
next sweep retries (the share stays expired either way; viewers refuse expired shares by
their ``expiresAt`` whether or not the sweep has run).
"""

from __future__ import annotations

from typing import Any

from beamit import events, logs
from beamit.clock import rfc3339, utcnow
from beamit.shares.share import ACTIVE, CODES, EXPIRED, Share, code_path, event_data, share_path
from beamit.storage import Filter, Query, Services, Transaction, Write
from beamit.tenancy import TenantScope

BATCH = 200


def expire_due_shares(svc: Services) -> dict[str, int]:
    now = utcnow()
    due = svc.metadata.query(Query(
        CODES, filters=(Filter("state", "==", ACTIVE), Filter("expiresAt", "<=", now)), limit=BATCH,
    ))
    expired = 0
    for entry in due:
        scope = TenantScope(entry.data["tenantId"])
        path = share_path(scope, entry.data["shareId"])

        def expire(txn: Transaction, path: str = path, directory: str = entry.path) -> Share | None:
            record = txn.get(path)
            if record is None:
                txn.write(Write("merge", directory, {"state": EXPIRED}))
                return None
            if record.get("expiredEventAt") is not None or record["expiresAt"] > now:
                return None
            update: dict[str, Any] = {"expiredEventAt": now}
            if record["status"] == ACTIVE:
                update["status"] = EXPIRED
            txn.write(Write("merge", path, update))
            txn.write(Write("merge", directory, {"state": EXPIRED}))
            return Share.from_record({**record, **update})

        share = svc.metadata.run_transaction(expire)
        if share is None:
            continue
        try:
            events.publish_event(svc, scope.tenant_id, events.SHARE_EXPIRED,
                                 {**event_data(share), "expiredAt": rfc3339(share.expires_at)})
        except Exception as exc:
            logs.error("share.expired not published; the next sweep retries", error=type(exc).__name__,
                       tenantId=scope.tenant_id, shareId=share.id)
            svc.metadata.update(path, {"expiredEventAt": None})
            svc.metadata.set(code_path(share.code_digest), {"state": ACTIVE}, merge=True)
            continue
        expired += 1
    return {"expired": expired}
