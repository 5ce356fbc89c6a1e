"""Removing instance records from the catalog, with exact parent counts and child lists.

The inverse of :mod:`beamit.catalog.commit`. Each call removes one page of instances in one
read-write transaction: it reads the instances (those already gone are skipped, so a retry or a
concurrent removal never counts one twice), their series, members and study documents, and
writes the deletions with the parents' new counts, child lists and (when a series goes) the
study's modalities, SOP classes and their QIDO-RS index terms. A series record goes with its
last instance, a study record with its last series. A page is at most :data:`PAGE` instances,
so a transaction stays far below Firestore's 500 writes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from beamit.catalog import fields as f
from beamit.dicomweb.qido.index import aggregate_terms
from beamit.storage import Filter, MetadataStore, Query, ServerTimestamp, Transaction, Write
from beamit.tenancy import TenantScope

PAGE = 100
"""Instances per transaction: their deletes plus two writes per series and one per study."""


@dataclass
class Removal:
    """What a removal took away: instance records, series records, study records (UIDs)."""

    instances: int = 0
    series: list[str] = field(default_factory=list)
    studies: list[str] = field(default_factory=list)

    def add(self, other: Removal) -> None:
        self.instances += other.instances
        self.series += other.series
        self.studies += other.studies


def remove_instances(store: MetadataStore, scope: TenantScope, sops: Sequence[str]) -> Removal:
    """Remove the records of ``sops`` (at most :data:`PAGE`) and update their parents, atomically."""
    if len(sops) > PAGE:
        raise ValueError(f"remove at most {PAGE} instances at once")
    return store.run_transaction(lambda txn: _remove(txn, scope, list(dict.fromkeys(sops))))


def _remove(txn: Transaction, scope: TenantScope, sops: list[str]) -> Removal:
    records = txn.get_many([f.instance_path(scope, sop) for sop in sops])
    gone: dict[tuple[str, str], list[str]] = defaultdict(list)
    for sop, record in zip(sops, records):
        if record is not None:
            gone[(str(record[f.STUDY_UID]), str(record[f.SERIES_UID]))].append(sop)
    removal = Removal(instances=sum(len(v) for v in gone.values()))
    if not gone:
        return removal
    series_keys = sorted(gone)
    parents = txn.get_many([
        *(f.series_path(scope, series) for _, series in series_keys),
        *(f.series_members_path(scope, series) for _, series in series_keys),
        *(f.study_path(scope, study) for study in sorted({study for study, _ in series_keys})),
    ])
    series_docs = dict(zip(series_keys, parents[: len(series_keys)]))
    members_docs = dict(zip(series_keys, parents[len(series_keys): 2 * len(series_keys)]))
    study_docs = dict(zip(sorted({study for study, _ in series_keys}), parents[2 * len(series_keys):]))
    writes = [Write("delete", f.instance_path(scope, sop)) for sops_of in gone.values() for sop in sops_of]
    removed_per_study: dict[str, int] = defaultdict(int)
    series_gone: dict[str, list[str]] = defaultdict(list)
    for key in series_keys:
        study, series = key
        removed = gone[key]
        removed_per_study[study] += len(removed)
        doc = series_docs[key]
        remaining = int((doc or {}).get(f.INSTANCE_COUNT) or 0) - len(removed)
        if doc is None or remaining <= 0:
            writes += [Write("delete", f.series_path(scope, series)),
                       Write("delete", f.series_members_path(scope, series))]
            series_gone[study].append(series)
            removal.series.append(series)
            continue
        writes.append(Write("update", f.series_path(scope, series),
                            {f.INSTANCE_COUNT: remaining, f.UPDATED_AT: ServerTimestamp()}))
        listed = f.listed_instances(members_docs[key])
        if listed is not None:
            writes.append(Write("update", f.series_members_path(scope, series),
                                {f.MEMBERS: [uid for uid in listed if uid not in set(removed)]}))
    for study, count in removed_per_study.items():
        doc = study_docs[study]
        if doc is None:
            continue
        remaining = int(doc.get(f.INSTANCE_COUNT) or 0) - count
        if remaining <= 0:
            writes.append(Write("delete", f.study_path(scope, study)))
            removal.studies.append(study)
            continue
        update: dict[str, Any] = {f.INSTANCE_COUNT: remaining, f.UPDATED_AT: ServerTimestamp()}
        if series_gone[study]:
            update.update(_without_series(txn, scope, study, doc, series_gone[study]))
        writes.append(Write("update", f.study_path(scope, study), update))
    for write in writes:
        txn.write(write)
    return removal


def _without_series(txn: Transaction, scope: TenantScope, study: str, doc: dict[str, Any],
                    removed: list[str]) -> dict[str, Any]:
    """The study fields that change when ``removed`` series go: the series count and list, and the
    modalities and SOP classes (with their index terms) of the series that remain."""
    rest = [d for d in txn.query(Query(scope.collection(f.SERIES), filters=(Filter(f.STUDY_UID, "==", study),),
                                       select=(f.MODALITY, f.SOP_CLASSES)))
            if d.id not in removed]
    modalities = sorted({str(d.data[f.MODALITY]) for d in rest if d.data.get(f.MODALITY)})
    sop_classes = sorted({str(uid) for d in rest for uid in d.data.get(f.SOP_CLASSES) or ()})
    terms = dict(doc.get(f.TERMS) or {})
    keys = dict(terms.get("keys") or {})
    for term in aggregate_terms(doc.get(f.MODALITIES) or (), doc.get(f.SOP_CLASSES) or ()):
        keys.pop(term, None)
    keys.update({term: True for term in aggregate_terms(modalities, sop_classes)})
    update: dict[str, Any] = {
        f.SERIES_COUNT: max(int(doc.get(f.SERIES_COUNT) or 0) - len(removed), 0),
        f.MODALITIES: modalities,
        f.SOP_CLASSES: sop_classes,
        f.TERMS: {**terms, "keys": keys},
    }
    listed = f.listed_series(doc)
    if listed is not None:
        update[f.SERIES_UIDS] = [uid for uid in listed if uid not in removed]
    return update
