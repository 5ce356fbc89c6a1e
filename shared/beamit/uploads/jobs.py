"""The ingest job of an upload: at-least-once deliveries, exactly one effect.

Eventarc and Pub/Sub deliver a finalize event at least once, sometimes twice at the same
time. Every state change of the job is a Firestore transaction on the upload record:

- ``claim``: ``pending`` -> ``processing`` with a fresh claim token, the object generation
  and a heartbeat (``claimedAt``). A delivery finding the job ``processing`` with a fresh
  heartbeat is *busy* (it fails, so the event is redelivered later); with a heartbeat
  older than :data:`~beamit.uploads.limits.PROCESSING_LEASE` the previous run was cut off
  and is taken over, resuming at its ``cursor``. A delivery for a job already ``completed``
  or ``failed`` with the same generation is a no-op (*done*); with another generation, the
  object is a second one at the upload's name (*superseded*).
- ``progress``/``finish``: written only while the claim token is still the caller's
  (:class:`ClaimLost` otherwise), renewing the heartbeat.

Instances themselves are idempotent in the ingest core (deterministic object names, a
catalog ``create`` per instance), so a chunk redone after a take-over counts nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from beamit.clock import utcnow
from beamit.ids import new_id
from beamit.storage import MetadataStore, Transaction, Write
from beamit.uploads.limits import PROCESSING_LEASE
from beamit.uploads.upload import MAX_LISTED_STUDIES, PENDING, PROCESSING, TERMINAL, Upload, zero_counts

Action = Literal["process", "done", "busy", "superseded"]


class ClaimLost(Exception):
    """Another delivery took the job over; this run must stop writing."""


def decide(record: dict[str, Any], generation: int, now: datetime) -> Action:
    """What a delivery of ``generation`` does with a job in state ``record`` (pure)."""
    status = record.get("status", PENDING)
    if status in TERMINAL:
        return "done" if record.get("objectGeneration") == generation else "superseded"
    if status == PROCESSING:
        heartbeat = record.get("claimedAt")
        if isinstance(heartbeat, datetime) and now - heartbeat < PROCESSING_LEASE:
            return "busy"
    return "process"


@dataclass(frozen=True)
class Claim:
    action: Action
    upload: Upload
    token: str | None = None

    @property
    def attempts(self) -> int:
        return int(self.upload.record.get("attempts", 0))

    @property
    def cursor(self) -> int:
        return int(self.upload.record.get("cursor", 0))


def claim(store: MetadataStore, upload: Upload, generation: int, now: datetime | None = None) -> Claim:
    """Take the job for this delivery, or say why not (see the module docstring)."""
    moment = now or utcnow()

    def run(txn: Transaction) -> Claim:
        record = txn.get(upload.path)
        if record is None:  # pragma: no cover - uploads are never deleted
            raise KeyError(upload.path)
        action = decide(record, generation, moment)
        if action != "process":
            return Claim(action, Upload(upload.id, upload.tenant_id, record))
        token = new_id("claim", 16)
        changes: dict[str, Any] = {
            "status": PROCESSING,
            "claimToken": token,
            "claimedAt": moment,
            "attempts": int(record.get("attempts", 0)) + 1,
        }
        if record.get("objectGeneration") != generation:  # first delivery (or another object): start over
            changes.update(
                objectGeneration=generation, startedAt=moment, cursor=0, counts=zero_counts(), studies=[], error=None
            )
        txn.write(Write("update", upload.path, changes))
        return Claim("process", Upload(upload.id, upload.tenant_id, {**record, **changes}), token)

    return store.run_transaction(run)


def _guarded_update(store: MetadataStore, upload: Upload, token: str, changes: dict[str, Any]) -> None:
    def run(txn: Transaction) -> None:
        record = txn.get(upload.path)
        if record is None or record.get("claimToken") != token:
            raise ClaimLost(upload.id)
        txn.write(Write("update", upload.path, changes))

    store.run_transaction(run)


def progress(
    store: MetadataStore, upload: Upload, token: str, *, cursor: int, counts: dict[str, int], studies: list[str]
) -> None:
    """Files before ``cursor`` are recorded; renew the heartbeat."""
    _guarded_update(
        store,
        upload,
        token,
        {"cursor": cursor, "counts": counts, "studies": studies[:MAX_LISTED_STUDIES], "claimedAt": utcnow()},
    )


def finish(
    store: MetadataStore,
    upload: Upload,
    token: str,
    *,
    status: str,
    counts: dict[str, int] | None = None,
    studies: list[str] | None = None,
    error: dict[str, str] | None = None,
) -> None:
    """End the job (``completed`` or ``failed``) while still holding its claim."""
    changes: dict[str, Any] = {"status": status, "completedAt": utcnow(), "claimToken": None, "error": error}
    if counts is not None:
        changes["counts"] = counts
    if studies is not None:
        changes["studies"] = studies[:MAX_LISTED_STUDIES]
    _guarded_update(store, upload, token, changes)


def release(store: MetadataStore, upload: Upload, token: str) -> None:
    """Give the job up after an unexpected error: the next delivery takes it over at once."""
    try:
        _guarded_update(store, upload, token, {"claimToken": None, "claimedAt": None})
    except ClaimLost:
        pass


def mark_audited(store: MetadataStore, upload: Upload, audit_id: str) -> None:
    store.update(upload.path, {"auditId": audit_id})
