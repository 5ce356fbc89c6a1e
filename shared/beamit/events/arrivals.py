"""``study.received``: once per study arrival, when the study has been quiet for the settle window.

Ingest records each arrival on the study document in the batches that create its instances
(:mod:`beamit.catalog.arrivals`). The event sweep announces the studies whose last arrival is
``study_settle_seconds`` old (30 s by default): in one transaction per study it marks the
arrival announced and records the event in the outbox, with the counts, series and modalities
the study record holds at that moment. Instances arriving after that start a new arrival,
announced after its own quiet window as an update (``update: true`` and the count the previous
event gave in ``previousInstanceCount``). Ingest paths do not matter: a bucket upload and a
STOW-RS of one study within one window are one arrival.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from beamit import logs
from beamit.catalog import arrivals
from beamit.catalog.arrivals import Arrival, PendingArrival
from beamit.dicomweb.dicom_json import first_value
from beamit.events import outbox
from beamit.events.event import STUDY_RECEIVED, Event
from beamit.storage import Services, Transaction

BATCH = 100


def study_received_data(arrival: Arrival) -> dict[str, Any]:
    """The ``study.received`` data: the documented fields (UID, date, modality, patient id,
    instance count, description), then ``seriesCount``, ``modalities``, ``update`` and
    ``previousInstanceCount`` (docs/webhooks.md)."""
    study = arrival.study
    modalities = list(study.modalities)
    return {
        "studyInstanceUID": study.uid,
        "studyDate": first_value(study.dicom, "00080020"),
        "modality": modalities[0] if len(modalities) == 1 else "\\".join(modalities) or None,
        "patientId": first_value(study.dicom, "00100020"),
        "instanceCount": study.instance_count,
        "studyDescription": first_value(study.dicom, "00081030"),
        "seriesCount": study.series_count,
        "modalities": modalities,
        "update": arrival.previous_count is not None,
        "previousInstanceCount": arrival.previous_count or 0,
    }


def _announce(pending: PendingArrival, settled_by: datetime, now: datetime) -> Callable[[Transaction], Event | None]:
    def announce(txn: Transaction) -> Event | None:
        arrival = arrivals.take_settled(txn, pending.scope, pending.study_uid, settled_by, now)
        if arrival is None:
            return None
        event = Event.new(pending.scope.tenant_id, STUDY_RECEIVED, study_received_data(arrival), at=now)
        txn.write(outbox.record(event))
        return event

    return announce


def announce_settled_studies(svc: Services, now: datetime, *, limit: int = BATCH) -> list[Event]:
    """Record ``study.received`` for every study quiet since ``now`` less the settle window;
    returns the events recorded (not yet published)."""
    settled_by = now - timedelta(seconds=svc.settings.study_settle_seconds)
    recorded: list[Event] = []
    seen: set[tuple[str, str]] = set()
    while True:
        found = arrivals.pending_arrivals(svc.metadata, settled_by=settled_by, limit=limit)
        fresh = [p for p in found if (p.scope.tenant_id, p.study_uid) not in seen]
        for pending in fresh:
            seen.add((pending.scope.tenant_id, pending.study_uid))
            try:
                event = svc.metadata.run_transaction(_announce(pending, settled_by, now))
            except Exception as exc:  # stays pending: the next pass takes it again
                logs.error("study arrival not announced", error=type(exc).__name__,
                           tenantId=pending.scope.tenant_id)
                continue
            if event is not None:
                recorded.append(event)
        if len(found) < limit or not fresh:
            return recorded


def next_settle_time(svc: Services) -> datetime | None:
    """When the earliest unannounced arrival settles, or ``None`` if there is none."""
    found = arrivals.pending_arrivals(svc.metadata, limit=1)
    if not found:
        return None
    return found[0].last_arrival_at + timedelta(seconds=svc.settings.study_settle_seconds)
