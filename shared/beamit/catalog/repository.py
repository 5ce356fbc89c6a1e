"""A tenant's catalog: every read and write of study, series and instance records.

A :class:`Catalog` is bound to one :class:`~beamit.tenancy.TenantScope`: every path it builds
is under that tenant, so UIDs of another tenant are simply not found (404). A study or
series' instances are found by one single-field equality query (no composite index), an
instance by its document path.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from beamit.catalog import commit, removal, search
from beamit.catalog import fields as f
from beamit.catalog.commit import IngestedInstance
from beamit.catalog.instances import RECORD_FIELDS, StoredInstance
from beamit.dicomweb.qido.query import SearchQuery
from beamit.dicomweb.uri import DicomwebRoot, ResourceRef
from beamit.errors import BeamItError, NotFound
from beamit.storage import DOCUMENT_NAME, Document, Filter, MetadataStore, Query, Write
from beamit.tenancy import TenantScope

REMEMBERED_INSTANCES = 20_000
"""Instance records a process keeps after reading them (:meth:`Catalog.remembered_instance`)."""
_remembered: dict[tuple[str, str], StoredInstance] = {}  # (tenant, SOP Instance UID) -> record


def _remember(tenant_id: str, instances: Sequence[StoredInstance]) -> None:
    if len(_remembered) + len(instances) > REMEMBERED_INSTANCES:
        _remembered.clear()
    for instance in instances:
        _remembered[(tenant_id, instance.sop_instance)] = instance


@dataclass(frozen=True)
class StudySummary:
    """A study's record: its study-level DICOM JSON and the aggregates ingest keeps."""

    uid: str
    dicom: dict[str, Any]
    modalities: tuple[str, ...]
    instance_count: int
    series_count: int

    FIELDS = (f.STUDY_UID, f.DICOM, f.MODALITIES, f.INSTANCE_COUNT, f.SERIES_COUNT)

    @classmethod
    def from_record(cls, uid: str, record: dict[str, Any]) -> StudySummary:
        return cls(uid, dict(record.get(f.DICOM) or {}), tuple(record.get(f.MODALITIES) or ()),
                   int(record.get(f.INSTANCE_COUNT) or 0), int(record.get(f.SERIES_COUNT) or 0))


@dataclass(frozen=True)
class SeriesSummary:
    """A series' record: its series-level DICOM JSON, modality and instance count."""

    uid: str
    study: str
    modality: str
    dicom: dict[str, Any]
    instance_count: int

    FIELDS = (f.STUDY_UID, f.SERIES_UID, f.MODALITY, f.DICOM, f.INSTANCE_COUNT)

    @classmethod
    def from_record(cls, uid: str, record: dict[str, Any]) -> SeriesSummary:
        return cls(uid, str(record.get(f.STUDY_UID) or ""), str(record.get(f.MODALITY) or ""),
                   dict(record.get(f.DICOM) or {}), int(record.get(f.INSTANCE_COUNT) or 0))


class Catalog:
    """The catalog of one tenant (see :mod:`beamit.catalog`)."""

    def __init__(self, store: MetadataStore, scope: TenantScope) -> None:
        self.store = store
        self.scope = scope

    # -- instances ----------------------------------------------------------------------------------

    def instance(self, study: str, series: str, sop: str) -> StoredInstance:
        """One committed instance, checked against its study and series; :class:`NotFound` if not."""
        record = self.store.get(f.instance_path(self.scope, sop), RECORD_FIELDS)
        if record is None or record.get(f.STUDY_UID) != study or record.get(f.SERIES_UID) != series:
            _remembered.pop((self.scope.tenant_id, sop), None)
            raise NotFound("no such instance in this series")
        found = self._checked(record)
        _remember(self.scope.tenant_id, [found])
        return found

    def remembered_instance(self, study: str, series: str, sop: str) -> StoredInstance | None:
        """The record of an instance as this process last read it, without reading the store.

        A stored instance never changes, so the record may start a read early (its frames'
        byte ranges); but it may have been deleted since, so :meth:`instance` must still confirm
        it before anything read with it is answered."""
        found = _remembered.get((self.scope.tenant_id, sop))
        return found if found is not None and found.study == study and found.series == series else None

    def study_instances(self, study: str) -> list[StoredInstance]:
        """The committed instances of a study, in order; :class:`NotFound` if there are none."""
        found = sorted(self._query_instances(f.STUDY_UID, study), key=lambda i: i.sort_key)
        if not found:
            raise NotFound("no such study")
        return found

    def series_instances(self, study: str, series: str) -> list[StoredInstance]:
        """The committed instances of a series of a study, in order; :class:`NotFound` if none."""
        found = sorted((i for i in self._query_instances(f.SERIES_UID, series) if i.study == study),
                       key=lambda i: i.sort_key)
        if not found:
            raise NotFound("no such series in this study")
        return found

    def instances(self, ref: ResourceRef) -> list[StoredInstance]:
        """The instances of a study, series or instance reference, in order."""
        if ref.instance is not None and ref.series is not None:
            return [self.instance(ref.study, ref.series, ref.instance)]
        if ref.series is not None:
            return self.series_instances(ref.study, ref.series)
        return self.study_instances(ref.study)

    def existing_instances(self, sops: Sequence[str]) -> list[bool]:
        """Whether each SOP Instance UID has a committed record (one read of one field each)."""
        records = self.store.get_many([f.instance_path(self.scope, sop) for sop in sops], f.EXISTENCE)
        return [record is not None for record in records]

    def _query_instances(self, field: str, uid: str) -> list[StoredInstance]:
        docs = self.store.query(
            Query(collection=self.scope.collection(f.INSTANCES), filters=(Filter(field, "==", uid),),
                  select=RECORD_FIELDS)
        )
        found = [self._checked(doc.data) for doc in docs]
        _remember(self.scope.tenant_id, found)
        return found

    def _checked(self, record: dict[str, Any]) -> StoredInstance:
        instance = StoredInstance.from_record(record)
        if not instance.blob.startswith(self.scope.blob_prefix()):  # defence in depth: never another tenant's bytes
            raise BeamItError("catalog record points outside the tenant")
        return instance

    # -- studies and series ---------------------------------------------------------------------------

    def studies(self, uids: Sequence[str]) -> list[StudySummary | None]:
        """The records of ``uids`` (``None`` for those not in the catalog), in order."""
        records = self.store.get_many([f.study_path(self.scope, uid) for uid in uids], StudySummary.FIELDS)
        return [None if r is None else StudySummary.from_record(uid, r) for uid, r in zip(uids, records)]

    def study(self, uid: str) -> StudySummary:
        """A study's record; :class:`NotFound` if it is not in the catalog."""
        found = self.studies([uid])[0]
        if found is None:
            raise NotFound("no such study")
        return found

    def study_by_orthanc_id(self, orthanc_id: str) -> str | None:
        """The Study Instance UID of the study Orthanc names ``orthanc_id``
        (:mod:`beamit.catalog.orthanc_ids`), by one equality query on that field's single-field
        index; ``None`` if no study of this tenant has it (studies stored before the field
        existed have none: they are found by UID only)."""
        docs = self.store.query(Query(self.scope.collection(f.STUDIES),
                                      filters=(Filter(f.ORTHANC_STUDY_ID, "==", orthanc_id.lower()),),
                                      limit=1, select=(f.STUDY_UID,)))
        return str(docs[0].data[f.STUDY_UID]) if docs else None

    def series_of_study(self, study: str) -> list[SeriesSummary]:
        """The records of a study's series (by one equality query)."""
        docs = self.store.query(Query(self.scope.collection(f.SERIES), filters=(Filter(f.STUDY_UID, "==", study),),
                                      select=SeriesSummary.FIELDS))
        return [SeriesSummary.from_record(doc.id, doc.data) for doc in docs]

    def committed_state(self, ref: ResourceRef) -> tuple[int, str]:
        """The exact instance count of a study or series, and its version: the time of the record's
        last change (every commit and removal of its instances changes it). :class:`NotFound` if
        it has no instances."""
        if ref.series is None:
            record = self.store.get(f.study_path(self.scope, ref.study), (f.INSTANCE_COUNT, f.UPDATED_AT))
        else:
            record = self.store.get(f.series_path(self.scope, ref.series),
                                    (f.STUDY_UID, f.INSTANCE_COUNT, f.UPDATED_AT))
            if record is not None and record.get(f.STUDY_UID) != ref.study:
                record = None
        if record is None or not record.get(f.INSTANCE_COUNT):
            raise NotFound(f"no such {ref.level}")
        updated = record.get(f.UPDATED_AT)
        return int(record[f.INSTANCE_COUNT]), updated.isoformat() if isinstance(updated, datetime) else ""

    # -- inventory (consistency scans) -----------------------------------------------------------------

    def records(self, collection: str, fields: Sequence[str] | None = None, *, page: int = 500
                ) -> Iterator[Document]:
        """Every document of one catalog collection (``fields.STUDIES``, ``SERIES``, ``INSTANCES``,
        ``SERIES_MEMBERS``), page by page in document name order: for scans, not requests."""
        after: str | None = None
        while True:
            docs = self.store.query(Query(self.scope.collection(collection), order_by=((DOCUMENT_NAME, "asc"),),
                                          limit=page, start_after=None if after is None else (after,),
                                          select=tuple(fields) if fields is not None else None))
            yield from docs
            if len(docs) < page:
                return
            after = docs[-1].path

    def delete_all_records(self, *, batch: int = 400) -> dict[str, int]:
        """Delete every study, series and instance record of the tenant (a sandbox reset: the
        objects go with :func:`beamit.sandbox.tenant_data.reset_tenant_data`); counts by collection."""
        deleted: dict[str, int] = {}
        for collection in (f.INSTANCES, f.SERIES_MEMBERS, f.SERIES, f.STUDIES):
            deleted[collection] = 0
            while docs := self.store.query(Query(self.scope.collection(collection), limit=batch,
                                                 select=(f.STUDY_UID,))):
                self.store.commit([Write("delete", doc.path) for doc in docs])
                deleted[collection] += len(docs)
        return deleted

    # -- removal -------------------------------------------------------------------------------------------

    def instance_page(self, ref: ResourceRef, limit: int = removal.PAGE) -> list[StoredInstance]:
        """Up to ``limit`` committed instances of a study, series or instance reference (any
        ``limit`` of them, not in order): what a removal takes next; empty when none is left."""
        if ref.instance is not None and ref.series is not None:
            record = self.store.get(f.instance_path(self.scope, ref.instance), RECORD_FIELDS)
            if record is None or record.get(f.STUDY_UID) != ref.study or record.get(f.SERIES_UID) != ref.series:
                return []
            return [self._checked(record)]
        field, uid = (f.STUDY_UID, ref.study) if ref.series is None else (f.SERIES_UID, ref.series)
        docs = self.store.query(Query(collection=self.scope.collection(f.INSTANCES),
                                      filters=(Filter(field, "==", uid),), limit=limit, select=RECORD_FIELDS))
        return [self._checked(doc.data) for doc in docs if doc.data.get(f.STUDY_UID) == ref.study]

    def remove(self, sops: Sequence[str]) -> removal.Removal:
        """Remove instance records with exact parent counts (:func:`beamit.catalog.removal.remove_instances`)."""
        return removal.remove_instances(self.store, self.scope, sops)

    # -- search and commit ------------------------------------------------------------------------------

    def search(self, query: SearchQuery, root: DicomwebRoot) -> search.SearchOutcome:
        """A QIDO-RS search of this tenant's catalog (:mod:`beamit.catalog.search`)."""
        return search.search_catalog(self.store, self.scope, query, root)

    def commit(self, instances: Sequence[IngestedInstance], blobs: dict[str, str], *,
               new_objects: set[str] | frozenset[str] = frozenset()) -> commit.CommitResult:
        """Create the records of ingested instances (:func:`beamit.catalog.commit.commit_instances`)."""
        return commit.commit_instances(self.store, self.scope, instances, blobs, new_objects=new_objects)
