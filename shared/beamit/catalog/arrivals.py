"""A study's arrivals: when instances last arrived, and whether that arrival is announced.

``study.received`` means "a study has been stored": one event when a study has been quiet for
the settle window after its instances arrived, not one per store request (a 300-slice study
stored in 15 STOW-RS batches is one arrival). The state is kept on the study document, in the
atomic batches that create its instances (:mod:`beamit.catalog.commit`), so it costs no write
of its own:

- ``lastArrivalAt``: the commit time (server timestamp) of the last batch that added instances;
- ``announcePending``: true from that batch until the arrival is announced;
- ``announcedInstanceCount``, ``announcedAt``: what the last announcement counted, and when.

The event sweep (:mod:`beamit.events.arrivals`) finds settled studies of every tenant with one
collection-group query (``announcePending == true``, ``lastArrivalAt <= now - window``, quiet
longest first; the index has collection-group scope in ``terraform/firestore_indexes.tf``) and
takes each in a transaction (:func:`take_settled`) that checks both fields again, marks the
arrival announced and returns the study's record as it is at that moment, into which the caller
writes the event. A batch committed meanwhile lands either before the transaction's read (the
study is not settled: nothing happens) or after its commit (``announcePending`` is true again:
one more announcement, an update, after the next quiet window).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from beamit.catalog import fields as f
from beamit.catalog.repository import StudySummary
from beamit.storage import Filter, MetadataStore, Query, Transaction, Write
from beamit.tenancy import TenantScope


@dataclass(frozen=True)
class PendingArrival:
    """A study whose last arrival is not announced yet."""

    scope: TenantScope
    study_uid: str
    last_arrival_at: datetime


@dataclass(frozen=True)
class Arrival:
    """A settled arrival, as the transaction that announces it read the study."""

    study: StudySummary
    previous_count: int | None
    """The instance count the study's previous announcement gave (``None``: this is the first)."""


def pending_query(*, settled_by: datetime | None = None, limit: int = 1) -> Query:
    """Studies of every tenant with an unannounced arrival, quiet longest first; with
    ``settled_by``, only those whose last arrival is no later."""
    filters = [Filter(f.ANNOUNCE_PENDING, "==", True)]
    if settled_by is not None:
        filters.append(Filter(f.LAST_ARRIVAL_AT, "<=", settled_by))
    return Query(f.STUDIES, filters=tuple(filters), order_by=((f.LAST_ARRIVAL_AT, "asc"),), limit=limit,
                 select=(f.LAST_ARRIVAL_AT,), group=True)


def pending_arrivals(store: MetadataStore, *, settled_by: datetime | None = None,
                     limit: int = 1) -> list[PendingArrival]:
    found = []
    for doc in store.query(pending_query(settled_by=settled_by, limit=limit)):
        scope, _ = TenantScope.of_document(doc.path)
        found.append(PendingArrival(scope, doc.id, doc.data[f.LAST_ARRIVAL_AT]))
    return found


def take_settled(txn: Transaction, scope: TenantScope, study_uid: str, settled_by: datetime,
                 now: datetime) -> Arrival | None:
    """In ``txn``: if the study's last arrival is unannounced and no later than ``settled_by``,
    mark it announced and return it; ``None`` otherwise (announced meanwhile, or new instances
    arrived: the study is not quiet)."""
    path = f.study_path(scope, study_uid)
    record = txn.get(path)
    if record is None or not record.get(f.ANNOUNCE_PENDING):
        return None
    last = record.get(f.LAST_ARRIVAL_AT)
    if last is None or last > settled_by:
        return None
    study = StudySummary.from_record(study_uid, record)
    txn.write(Write("update", path, {f.ANNOUNCE_PENDING: False, f.ANNOUNCED_INSTANCE_COUNT: study.instance_count,
                                     f.ANNOUNCED_AT: now}))
    previous = record.get(f.ANNOUNCED_INSTANCE_COUNT) if record.get(f.ANNOUNCED_AT) is not None else None
    return Arrival(study, None if previous is None else int(previous))
