"""Committing ingested instances to the catalog, with exact study/series aggregates.

Never one write per instance on the study document (Firestore sustains about one write
per second per document): each batch of up to 100 instances carries one write per
touched series and study, whose counters move by ``Increment`` in the same atomic batch
as the instances' ``create``. The study's write also records the arrival
(``lastArrivalAt``, ``announcePending``: :mod:`beamit.catalog.arrivals`), from which
``study.received`` is announced once the study is quiet. Two requests racing to create the same series or instance
make one batch fail with ALREADY_EXISTS; it is re-planned against what now exists.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from beamit.catalog import fields as f
from beamit.catalog.orthanc_ids import orthanc_study_id
from beamit.dicomweb.dicom_json import first_value
from beamit.dicomweb.pixel_index import PixelIndex
from beamit.dicomweb.qido.attributes import SearchLevel
from beamit.dicomweb.qido.index import InstanceTerms, aggregate_terms, index_fields
from beamit.storage import AlreadyExists, ArrayUnion, Increment, MetadataStore, ServerTimestamp, Write
from beamit.tenancy import TenantScope

PATIENT_ID = "00100020"
BATCH_INSTANCES = 100
MAX_ATTEMPTS = 8
PARENT_READ = (f.DICOM, f.INSTANCE_COUNT, f.MEMBERS_LISTED, f.SERIES_COUNT, f.SERIES_UIDS)
"""What planning a commit reads of existing series and study documents (in one read; not their
index maps)."""


class IngestedInstance(Protocol):
    """What a commit reads of an instance ingest parsed (:class:`beamit.ingest.instance.ParsedInstance`)."""

    study_uid: str
    series_uid: str
    sop_instance_uid: str
    sop_class_uid: str
    transfer_syntax_uid: str
    instance_number: int | None
    size: int
    md5_b64: str
    pixel_index: PixelIndex | None
    modality: str | None
    study: dict[str, Any]
    """Study-level DICOM JSON."""
    series: dict[str, Any]
    """Series-level DICOM JSON."""

    def instance_json(self) -> dict[str, Any]:
        """Instance-level DICOM JSON."""
        ...


@dataclass(frozen=True)
class CommitResult:
    created: list[IngestedInstance]
    already_present: list[IngestedInstance]


def instance_record(inst: IngestedInstance, blob: str) -> dict[str, Any]:
    return {
        f.STUDY_UID: inst.study_uid,
        f.SERIES_UID: inst.series_uid,
        f.SOP_INSTANCE_UID: inst.sop_instance_uid,
        f.SOP_CLASS_UID: inst.sop_class_uid,
        f.TRANSFER_SYNTAX_UID: inst.transfer_syntax_uid,
        f.INSTANCE_NUMBER: inst.instance_number,
        f.BLOB: blob,
        f.SIZE: inst.size,
        f.MD5: inst.md5_b64,
        f.DICOM: inst.instance_json(),
        f.PIXEL: inst.pixel_index.to_record() if inst.pixel_index else None,
        f.STORED_AT: ServerTimestamp(),
    }


def _plan(
    scope: TenantScope,
    batch: Sequence[IngestedInstance],
    blobs: dict[str, str],
    series_exists: set[str],
    study_exists: set[str],
    stored_dicom: dict[str, dict[str, Any]] | None = None,
    listed: dict[str, int | None] | None = None,
) -> list[Write]:
    """The batch of ``batch``'s catalog writes. ``listed``: for existing studies (series), by
    UID, how many children their list holds, or ``None`` when they keep no list (written
    before lists existed): see :func:`_child_list`."""
    listed = listed or {}
    writes: list[Write] = []
    per_series: dict[str, list[IngestedInstance]] = defaultdict(list)
    # QIDO-RS index fields (beamit.dicomweb.qido.index) from the parents' DICOM JSON as their
    # documents hold it: the stored one (``stored_dicom``, by UID), else this batch's first.
    level_dicom = dict(stored_dicom or {})
    for inst in batch:
        level_dicom.setdefault(inst.study_uid, inst.study)
        level_dicom.setdefault(inst.series_uid, inst.series)
    terms = InstanceTerms()
    for inst in batch:
        record = instance_record(inst, blobs[inst.sop_instance_uid])
        record[f.TERMS] = terms.index_fields(level_dicom[inst.study_uid], level_dicom[inst.series_uid],
                                             record[f.DICOM])
        writes.append(Write("create", f.instance_path(scope, inst.sop_instance_uid), record))
        per_series[inst.series_uid].append(inst)
    new_series_per_study: dict[str, int] = defaultdict(int)
    per_study: dict[str, list[IngestedInstance]] = defaultdict(list)
    for series_uid, items in per_series.items():
        first = items[0]
        per_study[first.study_uid] += items
        sop_classes = tuple(sorted({i.sop_class_uid for i in items}))
        writes.append(Write("merge", f.series_members_path(scope, series_uid),
                            _child_list(f.MEMBERS, f.MEMBERS_PARTIAL, [i.sop_instance_uid for i in items],
                                        listed.get(series_uid, 0))))
        path = f.series_path(scope, series_uid)
        if series_uid in series_exists:
            writes.append(
                Write(
                    "merge",
                    path,
                    {
                        f.INSTANCE_COUNT: Increment(len(items)),
                        f.SOP_CLASSES: ArrayUnion(sop_classes),
                        f.UPDATED_AT: ServerTimestamp(),
                    },
                )
            )
        else:
            new_series_per_study[first.study_uid] += 1
            writes.append(
                Write(
                    "create",
                    path,
                    {
                        f.STUDY_UID: first.study_uid,
                        f.SERIES_UID: series_uid,
                        f.MODALITY: first.modality,
                        f.DICOM: first.series,
                        f.INSTANCE_COUNT: len(items),
                        f.SOP_CLASSES: list(sop_classes),
                        f.MEMBERS_LISTED: True,
                        f.TERMS: index_fields(SearchLevel.SERIES, level_dicom[first.study_uid],
                                              level_dicom[series_uid]),
                        f.CREATED_AT: ServerTimestamp(),
                        f.UPDATED_AT: ServerTimestamp(),
                    },
                )
            )
    for study_uid, items in per_study.items():
        first = items[0]
        series_uids = sorted({i.series_uid for i in items})
        new_series = [uid for uid in series_uids if uid not in series_exists]
        modalities = tuple(sorted({i.modality for i in items if i.modality}))
        sop_classes = tuple(sorted({i.sop_class_uid for i in items}))
        path = f.study_path(scope, study_uid)
        if study_uid in study_exists:
            writes.append(
                Write(
                    "merge",
                    path,
                    {
                        f.INSTANCE_COUNT: Increment(len(items)),
                        f.SERIES_COUNT: Increment(new_series_per_study[study_uid]),
                        **(_child_list(f.SERIES_UIDS, f.SERIES_UIDS_PARTIAL, new_series, listed.get(study_uid, 0))
                           if new_series else {}),
                        f.MODALITIES: ArrayUnion(modalities),
                        f.SOP_CLASSES: ArrayUnion(sop_classes),
                        # Merged key by key (a map value, even an empty one, would replace the field).
                        f.TERMS: {"keys": {term: True for term in aggregate_terms(modalities, sop_classes)}},
                        f.UPDATED_AT: ServerTimestamp(),
                        f.LAST_ARRIVAL_AT: ServerTimestamp(),  # beamit.catalog.arrivals
                        f.ANNOUNCE_PENDING: True,
                    },
                )
            )
        else:
            writes.append(
                Write(
                    "create",
                    path,
                    {
                        f.STUDY_UID: study_uid,
                        f.ORTHANC_STUDY_ID: orthanc_study_id(first_value(first.study, PATIENT_ID), study_uid),
                        f.DICOM: first.study,
                        f.INSTANCE_COUNT: len(items),
                        f.SERIES_COUNT: new_series_per_study[study_uid],
                        **_child_list(f.SERIES_UIDS, f.SERIES_UIDS_PARTIAL, series_uids, 0, create=True),
                        f.MODALITIES: list(modalities),
                        f.SOP_CLASSES: list(sop_classes),
                        f.TERMS: index_fields(
                            SearchLevel.STUDY, level_dicom[study_uid], modalities=modalities, sop_classes=sop_classes
                        ),
                        f.CREATED_AT: ServerTimestamp(),
                        f.UPDATED_AT: ServerTimestamp(),
                        f.LAST_ARRIVAL_AT: ServerTimestamp(),  # beamit.catalog.arrivals
                        f.ANNOUNCE_PENDING: True,
                    },
                )
            )
    return writes


def _child_list(field: str, partial: str, uids: list[str], already: int | None, *, create: bool = False
                ) -> dict[str, Any]:
    """Fields that add ``uids`` to the child list ``field`` holding about ``already`` UIDs; or
    that mark it ``partial`` when the parent kept no list (``None``) or the cap would be passed
    (concurrent stores may pass it by a batch). ``create``: the parent is new."""
    if already is None or already + len(uids) > f.MAX_LISTED_CHILDREN:
        return {partial: True}
    return {field: list(uids) if create else ArrayUnion(tuple(uids))}


def commit_instances(
    store: MetadataStore,
    scope: TenantScope,
    instances: Sequence[IngestedInstance],
    blobs: dict[str, str],
    *,
    new_objects: set[str] | frozenset[str] = frozenset(),
) -> CommitResult:
    """Create catalog records for ``instances`` whose bytes are stored (``blobs``: SOP UID → object).

    Instances already in the catalog are left as they are (same SOP Instance UID and same
    bytes: an idempotent repeat). ``new_objects``: SOP Instance UIDs whose object the caller
    has just created (it did not exist, so neither can a record naming it): when every instance
    is one, the first attempt does not read whether their records exist. The records are created
    with an "it does not exist" precondition either way, so a record that does exist after all
    fails the batch, which is then planned again from what the catalog holds.
    """
    created: list[IngestedInstance] = []
    present: list[IngestedInstance] = []
    pending = list(instances)
    unseen = all(i.sop_instance_uid in new_objects for i in pending)
    for _ in range(MAX_ATTEMPTS):
        if not pending:
            break
        if not unseen:
            found = store.get_many([f.instance_path(scope, i.sop_instance_uid) for i in pending], f.EXISTENCE)
            present += [inst for inst, doc in zip(pending, found) if doc is not None]
            pending = [inst for inst, doc in zip(pending, found) if doc is None]
        unseen = False
        retry: list[IngestedInstance] = []
        for start in range(0, len(pending), BATCH_INSTANCES):
            batch = pending[start : start + BATCH_INSTANCES]
            series_uids = sorted({i.series_uid for i in batch})
            study_uids = sorted({i.study_uid for i in batch})
            parents = store.get_many([*(f.series_path(scope, s) for s in series_uids),
                                      *(f.study_path(scope, s) for s in study_uids)], PARENT_READ)
            series_docs, study_docs = parents[: len(series_uids)], parents[len(series_uids):]
            series_exists = {s for s, d in zip(series_uids, series_docs) if d is not None}
            study_exists = {s for s, d in zip(study_uids, study_docs) if d is not None}
            stored_dicom = {
                uid: doc[f.DICOM]
                for uid, doc in zip([*series_uids, *study_uids], [*series_docs, *study_docs])
                if doc is not None and doc.get(f.DICOM)
            }
            listed: dict[str, int | None] = {
                uid: int(doc.get(count, 0)) if doc.get(tracked) else None
                for uids, docs, count, tracked in ((series_uids, series_docs, f.INSTANCE_COUNT, f.MEMBERS_LISTED),
                                                   (study_uids, study_docs, f.SERIES_COUNT, f.SERIES_UIDS))
                for uid, doc in zip(uids, docs)
                if doc is not None
            }
            try:
                store.commit(_plan(scope, batch, blobs, series_exists, study_exists, stored_dicom, listed))
                created += batch
            except AlreadyExists:
                retry += batch  # a concurrent store created one of these documents: re-plan
        pending = retry
    if pending:
        raise RuntimeError("catalog commit kept conflicting with concurrent stores")
    return CommitResult(created, present)
