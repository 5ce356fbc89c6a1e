"""The consistency scan: the invariants that say no data was lost or half-written.

For each tenant (``beamit check``, also useful in production, and the reliability suite after
every injected fault):

- ``record-without-object``: a catalog instance record whose object is not in the DICOM
  bucket (data loss: reported, never "repaired");
- ``object-without-record``: an object in the DICOM bucket that no instance record names, older
  than the grace period (a leftover of an abandoned request: :mod:`~beamit.consistency.sweep`
  removes it); younger ones are *in flight* (a request may still commit them);
- ``chunk-without-record``: precomputed metadata (or a thumbnail, a kept rendering) in the
  derived bucket none of whose instances is committed, older than the grace period (removed by the sweep too);
- ``count-mismatch``: a study's or series' ``instanceCount``, a study's ``seriesCount``, not the
  number of its children;
- ``child-list-mismatch``: a study's series list or a series' member list (when complete) not
  its children;
- ``record-without-parent``: a series without its study, an instance without its series or study;
- ``index-terms-mismatch``: a record's QIDO-RS index terms (``q``) not those its DICOM JSON gives;
- ``share-without-study``: an active or locked share naming a study that is not stored;
- ``code-without-share``: a share code directory entry whose share was never written (a share
  creation that died after claiming its code), older than the grace period (removed by the sweep);
- ``event-not-delivered``: a committed event the machinery dropped: still unpublished
  :data:`EVENT_STALL` after it was recorded (the event sweep publishes within seconds), or
  published and never fanned out :data:`EVENT_STALL` past the sweep's republishing
  (:data:`beamit.events.outbox.FANOUT_GRACE`), or a delivery neither succeeded nor failed (the
  dead-letter log: ``failed`` deliveries, retries exhausted) whose next attempt is overdue by
  :data:`EVENT_STALL` (the retry function runs every minute);
- ``audit-chain``: a problem :func:`beamit.audit.chain.verify_chains` finds.

The scan reads every record and lists every object of the tenant: it is an operator's tool and
a test oracle, not a request path. Findings name UIDs and object names, never PHI values.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from beamit.audit.chain import verify_chains
from beamit.catalog import Catalog
from beamit.catalog import fields as f
from beamit.clock import utcnow
from beamit.dicomweb.dicom_json import first_value
from beamit.dicomweb.qido.attributes import SearchLevel
from beamit.dicomweb.qido.index import InstanceTerms, index_fields
from beamit.events.outbox import FANOUT_GRACE, OUTBOX
from beamit.shares.share import ACTIVE, CODES, LOCKED, SHARES, share_path
from beamit.storage import BlobInfo, Filter, Query, Services
from beamit.tenancy import TENANTS, TenantScope
from beamit.webhooks.deliveries import DELIVERIES, FAILED, PENDING, RETRYING
from beamit.webhooks.endpoints import WEBHOOKS

INVARIANTS = (
    "record-without-object",
    "object-without-record",
    "chunk-without-record",
    "count-mismatch",
    "child-list-mismatch",
    "record-without-parent",
    "index-terms-mismatch",
    "share-without-study",
    "code-without-share",
    "event-not-delivered",
    "audit-chain",
)
SOP_INSTANCE_UID = "00080018"
EVENT_STALL = timedelta(minutes=5)
"""How late an event's next step may be before the scan calls it dropped."""
MAX_FINDINGS = 200
"""Findings kept per tenant and invariant (the counts are always complete)."""


@dataclass(frozen=True)
class Finding:
    invariant: str
    subject: str
    """An object name or a document id."""
    detail: str = ""


@dataclass(frozen=True)
class Leftover:
    """An object of an abandoned request: no record names it, and it is older than the grace period."""

    bucket: str
    name: str
    sop_instances: tuple[str, ...]
    """The SOP Instance UIDs it holds (one for a DICOM object; a chunk's items)."""


@dataclass(frozen=True)
class DanglingCode:
    """A share code directory entry whose share record does not exist."""

    path: str
    share_id: str


@dataclass
class TenantCheck:
    tenant: str
    counts: Counter[str] = field(default_factory=Counter)
    findings: list[Finding] = field(default_factory=list)
    violations: Counter[str] = field(default_factory=Counter)
    leftovers: list[Leftover] = field(default_factory=list)
    dangling_codes: list[DanglingCode] = field(default_factory=list)

    def add(self, invariant: str, subject: str, detail: str = "") -> None:
        self.violations[invariant] += 1
        if self.violations[invariant] <= MAX_FINDINGS:
            self.findings.append(Finding(invariant, subject, detail))

    def to_json(self) -> dict[str, Any]:
        return {"tenant": self.tenant, "counts": dict(sorted(self.counts.items())),
                "violations": dict(sorted(self.violations.items())),
                "findings": [{"invariant": x.invariant, "subject": x.subject, "detail": x.detail}
                             for x in self.findings]}


@dataclass
class CheckReport:
    checked_at: datetime
    grace: timedelta
    tenants: list[TenantCheck] = field(default_factory=list)

    @property
    def violations(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for tenant in self.tenants:
            total.update(tenant.violations)
        return total

    @property
    def clean(self) -> bool:
        return not self.violations

    def to_json(self) -> dict[str, Any]:
        return {"checkedAt": self.checked_at.isoformat(), "graceSeconds": int(self.grace.total_seconds()),
                "clean": self.clean, "violations": dict(sorted(self.violations.items())),
                "tenants": [t.to_json() for t in self.tenants]}


def tenant_ids(svc: Services) -> list[str]:
    """Every tenant (the documents of the ``tenants`` collection)."""
    return sorted(doc.id for doc in svc.metadata.query(Query(TENANTS)))


def check(svc: Services, *, tenants: Iterable[str] | None = None, grace: timedelta,
          now: datetime | None = None) -> CheckReport:
    """Scan every invariant of ``tenants`` (all by default)."""
    now = now or utcnow()
    report = CheckReport(now, grace)
    for tenant_id in (tenants if tenants is not None else tenant_ids(svc)):
        report.tenants.append(check_tenant(svc, TenantScope(tenant_id), grace=grace, now=now))
    return report


def check_tenant(svc: Services, scope: TenantScope, *, grace: timedelta, now: datetime) -> TenantCheck:
    result = TenantCheck(scope.tenant_id)
    catalog = Catalog(svc.metadata, scope)
    records = _CatalogRecords.read(catalog)
    result.counts.update(studies=len(records.studies), series=len(records.series),
                         instances=len(records.instances))
    _check_objects(svc, scope, records, result, grace, now)
    _check_counts(records, result)
    _check_index_terms(records, result)
    _check_shares(svc, scope, records, result)
    _check_codes(svc, scope, result, grace, now)
    _check_events(svc, scope, result, now)
    chains = verify_chains(svc.metadata, scope)
    result.counts.update(auditRecords=chains.records, auditChains=chains.chains)
    for problem in chains.problems:
        result.add("audit-chain", f"{problem.chain}#{problem.seq}", problem.problem)
    return result


def leftovers(svc: Services, scope: TenantScope, *, grace: timedelta, now: datetime) -> TenantCheck:
    """Only the parts of the scan the sweep acts on: leftover objects and dangling share codes."""
    result = TenantCheck(scope.tenant_id)
    _check_objects(svc, scope, _CatalogRecords.read(Catalog(svc.metadata, scope), objects_only=True), result,
                   grace, now)
    _check_codes(svc, scope, result, grace, now)
    return result


# -- reading --------------------------------------------------------------------------------------


@dataclass
class _CatalogRecords:
    studies: dict[str, dict[str, Any]]
    series: dict[str, dict[str, Any]]
    instances: dict[str, dict[str, Any]]
    members: dict[str, dict[str, Any]]

    @classmethod
    def read(cls, catalog: Catalog, *, objects_only: bool = False) -> _CatalogRecords:
        if objects_only:
            instances = {d.id: d.data for d in catalog.records(f.INSTANCES, (f.BLOB,))}
            return cls({}, {}, instances, {})
        return cls(
            {d.id: d.data for d in catalog.records(f.STUDIES)},
            {d.id: d.data for d in catalog.records(f.SERIES)},
            {d.id: d.data for d in catalog.records(f.INSTANCES)},
            {d.id: d.data for d in catalog.records(f.SERIES_MEMBERS)},
        )


def _listing(svc: Services, bucket: str, scope: TenantScope) -> Iterator[BlobInfo]:
    return svc.blobs.list(bucket, scope.blob_prefix())


def _old(info: BlobInfo, grace: timedelta, now: datetime) -> bool:
    return info.created is None or info.created <= now - grace


# -- invariants -----------------------------------------------------------------------------------


def _check_objects(svc: Services, scope: TenantScope, records: _CatalogRecords, result: TenantCheck,
                   grace: timedelta, now: datetime) -> None:
    dicom_bucket, derived = svc.settings.bucket("dicom"), svc.settings.bucket("derived")
    named = {str(r.get(f.BLOB)): sop for sop, r in records.instances.items()}
    stored: set[str] = set()
    for info in _listing(svc, dicom_bucket, scope):
        stored.add(info.name)
        result.counts["objects"] += 1
        if info.name in named:
            continue
        if _old(info, grace, now):
            sop = info.name.rsplit("/", 1)[-1].removesuffix(".dcm")
            result.leftovers.append(Leftover(dicom_bucket, info.name, (sop,)))
            result.add("object-without-record", info.name)
        else:
            result.counts["objectsInFlight"] += 1
    for blob, sop in named.items():
        if blob not in stored:
            result.add("record-without-object", sop, blob)
    committed = set(records.instances)
    for info in _listing(svc, derived, scope):
        result.counts["derivedObjects"] += 1
        sops = _derived_instances(svc, derived, info)
        if sops is None or committed.intersection(sops):
            continue
        if _old(info, grace, now):
            result.leftovers.append(Leftover(derived, info.name, tuple(sops)))
            result.add("chunk-without-record", info.name)
        else:
            result.counts["derivedInFlight"] += 1


def _derived_instances(svc: Services, bucket: str, info: BlobInfo) -> list[str] | None:
    """The SOP Instance UIDs a derived object belongs to (``None``: not an instance's artifact)."""
    parts = info.name.split("/")
    if "/metadata/" in info.name and info.name.endswith(".json"):
        try:
            items = json.loads(svc.blobs.read(bucket, info.name))
        except ValueError:
            return []
        return [str(first_value(item, SOP_INSTANCE_UID)) for item in items if isinstance(item, dict)]
    if ("/thumbnails/" in info.name or "/rendered/" in info.name) and len(parts) >= 6:
        return [parts[-2]]  # {tenant}/{study}/{series}/thumbnails|rendered/{sop}/{file}
    return None


def _check_counts(records: _CatalogRecords, result: TenantCheck) -> None:
    per_study: Counter[str] = Counter()
    per_series: Counter[str] = Counter()
    series_of_study: dict[str, set[str]] = defaultdict(set)
    members: dict[str, set[str]] = defaultdict(set)
    for sop, record in records.instances.items():
        study, series = str(record.get(f.STUDY_UID)), str(record.get(f.SERIES_UID))
        per_study[study] += 1
        per_series[series] += 1
        members[series].add(sop)
        if series not in records.series or study not in records.studies:
            result.add("record-without-parent", sop, f"series {series} or study {study} has no record")
    for uid, record in records.series.items():
        study = str(record.get(f.STUDY_UID))
        series_of_study[study].add(uid)
        if study not in records.studies:
            result.add("record-without-parent", uid, f"study {study} has no record")
        if record.get(f.INSTANCE_COUNT) != per_series[uid]:
            result.add("count-mismatch", uid, f"instanceCount {record.get(f.INSTANCE_COUNT)}, {per_series[uid]} stored")
        listed = f.listed_instances(records.members.get(uid)) if record.get(f.MEMBERS_LISTED) else None
        if listed is not None and set(listed) != members[uid]:
            result.add("child-list-mismatch", uid, f"{len(listed)} listed, {len(members[uid])} stored")
    for uid, record in records.studies.items():
        if record.get(f.INSTANCE_COUNT) != per_study[uid]:
            result.add("count-mismatch", uid, f"instanceCount {record.get(f.INSTANCE_COUNT)}, {per_study[uid]} stored")
        if record.get(f.SERIES_COUNT) != len(series_of_study[uid]):
            result.add("count-mismatch", uid,
                       f"seriesCount {record.get(f.SERIES_COUNT)}, {len(series_of_study[uid])} stored")
        listed = f.listed_series(record)
        if listed is not None and set(listed) != series_of_study[uid]:
            result.add("child-list-mismatch", uid, f"{len(listed)} series listed, {len(series_of_study[uid])} stored")


def _check_index_terms(records: _CatalogRecords, result: TenantCheck) -> None:
    for uid, study in records.studies.items():
        expected = index_fields(SearchLevel.STUDY, study.get(f.DICOM) or {}, modalities=study.get(f.MODALITIES) or (),
                                sop_classes=study.get(f.SOP_CLASSES) or ())
        if not _same_terms(study.get(f.TERMS), expected):
            result.add("index-terms-mismatch", uid, "study")
    for uid, series in records.series.items():
        study = records.studies.get(str(series.get(f.STUDY_UID))) or {}
        expected = index_fields(SearchLevel.SERIES, study.get(f.DICOM) or {}, series.get(f.DICOM) or {})
        if not _same_terms(series.get(f.TERMS), expected):
            result.add("index-terms-mismatch", uid, "series")
    terms = InstanceTerms()
    for sop, instance in records.instances.items():
        study = records.studies.get(str(instance.get(f.STUDY_UID))) or {}
        series = records.series.get(str(instance.get(f.SERIES_UID))) or {}
        expected = terms.index_fields(study.get(f.DICOM) or {}, series.get(f.DICOM) or {}, instance.get(f.DICOM) or {})
        if not _same_terms(instance.get(f.TERMS), expected):
            result.add("index-terms-mismatch", sop, "instance")


def _same_terms(stored: Any, expected: dict[str, Any]) -> bool:
    """Equal term maps: the same terms in each map (``keys``, ``words``)."""
    stored = stored if isinstance(stored, dict) else {}
    return all(set(stored.get(name) or ()) == set(expected.get(name) or ()) for name in set(stored) | set(expected))


def _check_shares(svc: Services, scope: TenantScope, records: _CatalogRecords, result: TenantCheck) -> None:
    for doc in svc.metadata.query(Query(scope.collection(SHARES))):
        result.counts["shares"] += 1
        if doc.data.get("status") not in (ACTIVE, LOCKED):
            continue
        for study in doc.data.get("studies") or ():
            if study not in records.studies:
                result.add("share-without-study", doc.id, f"study {study}")


def _check_codes(svc: Services, scope: TenantScope, result: TenantCheck, grace: timedelta, now: datetime) -> None:
    entries = svc.metadata.query(Query(CODES, filters=(Filter("tenantId", "==", scope.tenant_id),)))
    if not entries:
        return
    share_ids = [str(e.data.get("shareId")) for e in entries]
    shares = svc.metadata.get_many([share_path(scope, sid) for sid in share_ids], ("id",))
    for entry, share_id, share in zip(entries, share_ids, shares):
        result.counts["shareCodes"] += 1
        if share is not None:
            continue
        created = entry.data.get("createdAt")
        if isinstance(created, datetime) and created > now - grace:
            result.counts["shareCodesInFlight"] += 1
            continue
        result.dangling_codes.append(DanglingCode(entry.path, share_id))
        result.add("code-without-share", share_id)


def _check_events(svc: Services, scope: TenantScope, result: TenantCheck, now: datetime) -> None:
    for doc in svc.metadata.query(Query(scope.collection(OUTBOX))):
        result.counts["events"] += 1
        data = doc.data
        if data.get("pending"):
            created = data.get("createdAt")
            if isinstance(created, datetime) and created <= now - EVENT_STALL:
                result.add("event-not-delivered", doc.id, "never published")
        elif data.get("fannedOut") is False:
            published = data.get("publishedAt")
            if isinstance(published, datetime) and published <= now - FANOUT_GRACE - EVENT_STALL:
                result.add("event-not-delivered", doc.id, "published, never fanned out")
    for endpoint in svc.metadata.query(Query(scope.collection(WEBHOOKS))):
        for doc in svc.metadata.query(Query(f"{endpoint.path}/{DELIVERIES}")):
            result.counts["deliveries"] += 1
            status = doc.data.get("status")
            if status == FAILED:
                result.counts["deliveriesDeadLettered"] += 1
            if status not in (PENDING, RETRYING):
                continue
            due = doc.data.get("nextAttemptAt") or doc.data.get("createdAt")
            if isinstance(due, datetime) and due <= now - EVENT_STALL:
                result.add("event-not-delivered", doc.id, f"delivery {status}, its attempt overdue")
