"""Committing ingested instances to the catalog, with exact study/series aggregates.

Never one write per instance on the study document (Firestore sustains about one write
per second per document): each batch of up to 100 instances carries one write per
touched series and study, whose counters move by ``Increment`` in the same atomic batch
as the instances' ``create``. Two requests racing to create the same series or instance
make one batch fail with ALREADY_EXISTS; it is re-planned against what now exists.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from beamit import catalog
from beamit.dicomweb.qido.attributes import SearchLevel
from beamit.dicomweb.qido.index import InstanceTerms, aggregate_terms, index_fields
from beamit.ingest.instance import ParsedInstance
from beamit.storage import AlreadyExists, ArrayUnion, Increment, MetadataStore, ServerTimestamp, Write
from beamit.tenancy import TenantScope

BATCH_INSTANCES = 100
MAX_ATTEMPTS = 8
PARENT_READ = ("dicom", "instanceCount", "membersListed", "seriesCount", "seriesUIDs")
"""What planning a commit reads of existing series and study documents (in one read; not their
index maps)."""


@dataclass(frozen=True)
class CommitResult:
    created: list[ParsedInstance]
    already_present: list[ParsedInstance]


def instance_record(inst: ParsedInstance, blob: str) -> dict[str, Any]:
    return {
        "studyUID": inst.study_uid,
        "seriesUID": inst.series_uid,
        "sopInstanceUID": inst.sop_instance_uid,
        "sopClassUID": inst.sop_class_uid,
        "transferSyntaxUID": inst.transfer_syntax_uid,
        "instanceNumber": inst.instance_number,
        "blob": blob,
        "size": inst.size,
        "md5": inst.md5_b64,
        "dicom": inst.instance_json(),
        "pixel": inst.pixel_index.to_record() if inst.pixel_index else None,
        "storedAt": ServerTimestamp(),
    }


def _plan(
    scope: TenantScope,
    batch: list[ParsedInstance],
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
    per_series: dict[str, list[ParsedInstance]] = defaultdict(list)
    # QIDO-RS index fields (beamit.dicomweb.qido.index) from the parents' DICOM JSON as their
    # documents hold it: the stored one (``stored_dicom``, by UID), else this batch's first.
    level_dicom = dict(stored_dicom or {})
    for inst in batch:
        level_dicom.setdefault(inst.study_uid, inst.study)
        level_dicom.setdefault(inst.series_uid, inst.series)
    terms = InstanceTerms()
    for inst in batch:
        record = instance_record(inst, blobs[inst.sop_instance_uid])
        record["q"] = terms.index_fields(level_dicom[inst.study_uid], level_dicom[inst.series_uid], record["dicom"])
        writes.append(Write("create", catalog.instance_path(scope, inst.sop_instance_uid), record))
        per_series[inst.series_uid].append(inst)
    new_series_per_study: dict[str, int] = defaultdict(int)
    per_study: dict[str, list[ParsedInstance]] = defaultdict(list)
    for series_uid, items in per_series.items():
        first = items[0]
        per_study[first.study_uid] += items
        sop_classes = tuple(sorted({i.sop_class_uid for i in items}))
        writes.append(Write("merge", catalog.series_members_path(scope, series_uid),
                            _child_list("instances", "partial", [i.sop_instance_uid for i in items],
                                        listed.get(series_uid, 0))))
        path = catalog.series_path(scope, series_uid)
        if series_uid in series_exists:
            writes.append(
                Write(
                    "merge",
                    path,
                    {
                        "instanceCount": Increment(len(items)),
                        "sopClasses": ArrayUnion(sop_classes),
                        "updatedAt": ServerTimestamp(),
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
                        "studyUID": first.study_uid,
                        "seriesUID": series_uid,
                        "modality": first.modality,
                        "dicom": first.series,
                        "instanceCount": len(items),
                        "sopClasses": list(sop_classes),
                        "membersListed": True,
                        "q": index_fields(SearchLevel.SERIES, level_dicom[first.study_uid], level_dicom[series_uid]),
                        "createdAt": ServerTimestamp(),
                        "updatedAt": ServerTimestamp(),
                    },
                )
            )
    for study_uid, items in per_study.items():
        first = items[0]
        series_uids = sorted({i.series_uid for i in items})
        new_series = [uid for uid in series_uids if uid not in series_exists]
        modalities = tuple(sorted({i.modality for i in items if i.modality}))
        sop_classes = tuple(sorted({i.sop_class_uid for i in items}))
        path = catalog.study_path(scope, study_uid)
        if study_uid in study_exists:
            writes.append(
                Write(
                    "merge",
                    path,
                    {
                        "instanceCount": Increment(len(items)),
                        "seriesCount": Increment(new_series_per_study[study_uid]),
                        **(_child_list("seriesUIDs", "seriesUIDsPartial", new_series, listed.get(study_uid, 0))
                           if new_series else {}),
                        "modalities": ArrayUnion(modalities),
                        "sopClasses": ArrayUnion(sop_classes),
                        # Merged key by key (a map value, even an empty one, would replace the field).
                        "q": {"keys": {term: True for term in aggregate_terms(modalities, sop_classes)}},
                        "updatedAt": ServerTimestamp(),
                    },
                )
            )
        else:
            writes.append(
                Write(
                    "create",
                    path,
                    {
                        "studyUID": study_uid,
                        "dicom": first.study,
                        "instanceCount": len(items),
                        "seriesCount": new_series_per_study[study_uid],
                        **_child_list("seriesUIDs", "seriesUIDsPartial", series_uids, 0, create=True),
                        "modalities": list(modalities),
                        "sopClasses": list(sop_classes),
                        "q": index_fields(
                            SearchLevel.STUDY, level_dicom[study_uid], modalities=modalities, sop_classes=sop_classes
                        ),
                        "createdAt": ServerTimestamp(),
                        "updatedAt": ServerTimestamp(),
                    },
                )
            )
    return writes


def _child_list(field: str, partial: str, uids: list[str], already: int | None, *, create: bool = False
                ) -> dict[str, Any]:
    """Fields that add ``uids`` to the child list ``field`` holding about ``already`` UIDs; or
    that mark it ``partial`` when the parent kept no list (``None``) or the cap would be passed
    (concurrent stores may pass it by a batch). ``create``: the parent is new."""
    if already is None or already + len(uids) > catalog.MAX_LISTED_CHILDREN:
        return {partial: True}
    return {field: list(uids) if create else ArrayUnion(tuple(uids))}


def commit_instances(
    store: MetadataStore,
    scope: TenantScope,
    instances: list[ParsedInstance],
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
    created: list[ParsedInstance] = []
    present: list[ParsedInstance] = []
    pending = list(instances)
    unseen = all(i.sop_instance_uid in new_objects for i in pending)
    for _ in range(MAX_ATTEMPTS):
        if not pending:
            break
        if not unseen:
            found = store.get_many([catalog.instance_path(scope, i.sop_instance_uid) for i in pending],
                                   catalog.EXISTENCE)
            present += [inst for inst, doc in zip(pending, found) if doc is not None]
            pending = [inst for inst, doc in zip(pending, found) if doc is None]
        unseen = False
        retry: list[ParsedInstance] = []
        for start in range(0, len(pending), BATCH_INSTANCES):
            batch = pending[start : start + BATCH_INSTANCES]
            series_uids = sorted({i.series_uid for i in batch})
            study_uids = sorted({i.study_uid for i in batch})
            parents = store.get_many([*(catalog.series_path(scope, s) for s in series_uids),
                                      *(catalog.study_path(scope, s) for s in study_uids)], PARENT_READ)
            series_docs, study_docs = parents[: len(series_uids)], parents[len(series_uids):]
            series_exists = {s for s, d in zip(series_uids, series_docs) if d is not None}
            study_exists = {s for s, d in zip(study_uids, study_docs) if d is not None}
            stored_dicom = {
                uid: doc["dicom"]
                for uid, doc in zip([*series_uids, *study_uids], [*series_docs, *study_docs])
                if doc is not None and doc.get("dicom")
            }
            listed: dict[str, int | None] = {
                uid: int(doc.get(count, 0)) if doc.get(tracked) else None
                for uids, docs, count, tracked in ((series_uids, series_docs, "instanceCount", "membersListed"),
                                                   (study_uids, study_docs, "seriesCount", "seriesUIDs"))
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
