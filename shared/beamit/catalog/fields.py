"""Record field names, collections and document paths of the catalog (see :mod:`beamit.catalog`)."""

from __future__ import annotations

from typing import Any

from beamit.tenancy import TenantScope

STUDIES = "studies"
SERIES = "series"
INSTANCES = "instances"
SERIES_MEMBERS = "series_members"

MAX_LISTED_CHILDREN = 5000
"""Longest child UID list kept (~320 KB of UIDs)."""

# Record field names: spelled here only.
STUDY_UID = "studyUID"
SERIES_UID = "seriesUID"
SOP_INSTANCE_UID = "sopInstanceUID"
SOP_CLASS_UID = "sopClassUID"
TRANSFER_SYNTAX_UID = "transferSyntaxUID"
INSTANCE_NUMBER = "instanceNumber"
DICOM = "dicom"
"""The level's attributes as DICOM JSON (PS3.18 Annex F), keyed by tag."""
BLOB = "blob"
SIZE = "size"
MD5 = "md5"
PIXEL = "pixel"
MODALITY = "modality"
MODALITIES = "modalities"
SOP_CLASSES = "sopClasses"
INSTANCE_COUNT = "instanceCount"
SERIES_COUNT = "seriesCount"
SERIES_UIDS = "seriesUIDs"
SERIES_UIDS_PARTIAL = "seriesUIDsPartial"
MEMBERS = "instances"
MEMBERS_PARTIAL = "partial"
MEMBERS_LISTED = "membersListed"
ORTHANC_STUDY_ID = "orthancStudyId"
"""The study's Orthanc identifier (:mod:`beamit.catalog.orthanc_ids`), set when the study record is
created: the one field of a study looked up by equality besides the index terms."""
TERMS = "q"
"""QIDO-RS index terms (:mod:`beamit.dicomweb.qido.index`)."""
STORED_AT = "storedAt"
CREATED_AT = "createdAt"
UPDATED_AT = "updatedAt"
# A study's arrivals and their announcement (:mod:`beamit.catalog.arrivals`).
LAST_ARRIVAL_AT = "lastArrivalAt"
ANNOUNCE_PENDING = "announcePending"
ANNOUNCED_INSTANCE_COUNT = "announcedInstanceCount"
ANNOUNCED_AT = "announcedAt"

EXISTENCE = (STUDY_UID,)
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
    return _listed(study, SERIES_UIDS, SERIES_UIDS_PARTIAL)


def listed_instances(members: dict[str, Any] | None) -> list[str] | None:
    """Every SOP Instance UID of a series members document, or ``None`` when it does not list them all."""
    return _listed(members, MEMBERS, MEMBERS_PARTIAL)


def _listed(doc: dict[str, Any] | None, field: str, partial: str) -> list[str] | None:
    if doc is None or doc.get(partial) or not isinstance(doc.get(field), list):
        return None
    return [str(uid) for uid in doc[field]]

