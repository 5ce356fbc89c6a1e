"""The catalog of stored studies, series and instances in Firestore.

Three flat collections per tenant, keyed by UID:

- ``tenants/{t}/studies/{StudyInstanceUID}``: study + patient attributes (``dicom``),
  ``instanceCount``, ``seriesCount``, ``modalities``, ``sopClasses``;
- ``tenants/{t}/series/{SeriesInstanceUID}``: ``studyUID``, series attributes,
  ``instanceCount``, ``sopClasses``;
- ``tenants/{t}/instances/{SOPInstanceUID}``: ``studyUID``, ``seriesUID``, instance
  attributes, where the bytes are (``blob``), the transfer syntax and the frame index.

Children by id, so that the series of a study and the instances of a series are read by id
(a handful of reads, whatever the size of the tenant) rather than found by a query:

- the study document's ``seriesUIDs`` (every series of the study);
- ``tenants/{t}/series_members/{SeriesInstanceUID}``: ``instances``, every SOP Instance UID
  of the series (kept out of the series document, which searches read often).

Both grow by ``ArrayUnion`` in the batch that creates the children, so they are exact like the
counts. A list stops growing at :data:`MAX_LISTED_CHILDREN`, far below Firestore's 1 MiB
document limit; ``seriesUIDsPartial`` (study) or ``partial`` (members) then says so, as for a
parent written before the lists existed (series documents with lists say ``membersListed``),
and readers query instead.

Counts are kept exact under concurrent stores by committing each instance's ``create``
in the same atomic batch as the ``Increment`` of its series and study (see
:mod:`beamit.ingest.commit`): an instance counted twice would have been created twice,
which Firestore refuses.
"""

from __future__ import annotations

from typing import Any

from beamit.storage import MetadataStore
from beamit.tenancy import TenantScope

STUDIES = "studies"
SERIES = "series"
INSTANCES = "instances"
SERIES_MEMBERS = "series_members"

MAX_LISTED_CHILDREN = 5000
"""Longest child UID list kept (~320 KB of UIDs)."""

EXISTENCE = ("studyUID",)
"""A field mask for reads that only ask whether catalog documents exist (every study, series
and instance document has this field): not their QIDO-RS index maps, hundreds of terms each."""


def study_path(scope: TenantScope, study: str) -> str:
    return scope.document(STUDIES, study)


def series_path(scope: TenantScope, series: str) -> str:
    return scope.document(SERIES, series)


def instance_path(scope: TenantScope, instance: str) -> str:
    return scope.document(INSTANCES, instance)


def series_members_path(scope: TenantScope, series: str) -> str:
    return scope.document(SERIES_MEMBERS, series)


def listed_series(study: dict[str, Any]) -> list[str] | None:
    """Every series UID of a study document, or ``None`` when it does not list them all."""
    return _listed(study, "seriesUIDs", "seriesUIDsPartial")


def listed_instances(members: dict[str, Any] | None) -> list[str] | None:
    """Every SOP Instance UID of a series members document, or ``None`` when it does not list them all."""
    return _listed(members, "instances", "partial")


def _listed(doc: dict[str, Any] | None, field: str, partial: str) -> list[str] | None:
    if doc is None or doc.get(partial) or not isinstance(doc.get(field), list):
        return None
    return [str(uid) for uid in doc[field]]


def get_study(store: MetadataStore, scope: TenantScope, study: str) -> dict[str, Any] | None:
    return store.get(study_path(scope, study))
