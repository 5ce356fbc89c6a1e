"""The scheduled sweep (``share-expiry``, Cloud Scheduler every 5 minutes): expire shares
and publish ``share.expired`` once per share.

The sweep queries the ``share_codes`` directory (``state == active`` and ``expiresAt <=
now``; composite index in terraform/firestore_indexes.tf). Each share is expired in a
transaction that also sets ``expiredEventAt`` and records the ``share.expired`` event in the
outbox (:mod:`beamit.events.outbox`): a concurrent or repeated sweep finds the flag and records
nothing. The sweep then publishes the events; one it could not publish stays in the outbox for
the event sweep (viewers refuse expired shares by their ``expiresAt`` whether or not this sweep
has run).
"""

from __future__ import annotations

from typing import Any

from beamit import events
from beamit.clock import rfc3339, utcnow
from beamit.shares.share import ACTIVE, CODES, EXPIRED, Share, event_data, share_path
from beamit.storage import Filter, Query, Services, Transaction, Write
from beamit.tenancy import TenantScope

BATCH = 200


def expire_due_shares(svc: Services) -> dict[str, int]:
    now = utcnow()
    due = svc.metadata.query(Query(
        CODES, filters=(Filter("state", "==", ACTIVE), Filter("expiresAt", "<=", now)), limit=BATCH,
    ))
    expired: list[events.Event] = []
    for entry in due:
        scope = TenantScope(entry.data["tenantId"])
        path = share_path(scope, entry.data["shareId"])

        def expire(txn: Transaction, path: str = path, directory: str = entry.path,
                   tenant_id: str = scope.tenant_id) -> events.Event | None:
            record = txn.get(path)
            if record is None:
                txn.write(Write("merge", directory, {"state": EXPIRED}))
                return None
            if record.get("expiredEventAt") is not None or record["expiresAt"] > now:
                return None
            update: dict[str, Any] = {"expiredEventAt": now}
            if record["status"] == ACTIVE:
                update["status"] = EXPIRED
            share = Share.from_record({**record, **update})
            event = events.Event.new(tenant_id, events.SHARE_EXPIRED,
                                     {**event_data(share), "expiredAt": rfc3339(share.expires_at)}, at=now)
            txn.write(Write("merge", path, update))
            txn.write(Write("merge", directory, {"state": EXPIRED}))
            txn.write(events.record(event))
            return event

        event = svc.metadata.run_transaction(expire)
        if event is not None:
            expired.append(event)
    events.publish(svc, expired)
    return {"expired": len(expired)}
