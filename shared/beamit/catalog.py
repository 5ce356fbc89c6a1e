"""The catalog of stored studies, series and instances in Firestore.

Three flat collections per tenant, keyed by UID:

- ``tenants/{t}/studies/{StudyInstanceUID}``: study + patient attributes (``dicom``),
  ``instanceCount``, ``seriesCount``, ``modalities``, ``sopClasses``;
- ``tenants/{t}/series/{SeriesInstanceUID}``: ``studyUID``, series attributes,
  ``instanceCount``, ``sopClasses``;
- ``tenants/{t}/instances/{SOPInstanceUID}``: ``studyUID``, ``seriesUID``, instance
  attributes, where the bytes are (``blob``), the transfer syntax and the frame index.

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


def study_path(scope: TenantScope, study: str) -> str:
    return scope.document(STUDIES, study)


def series_path(scope: TenantScope, series: str) -> str:
    return scope.document(SERIES, series)


def instance_path(scope: TenantScope, instance: str) -> str:
    return scope.document(INSTANCES, instance)


def get_study(store: MetadataStore, scope: TenantScope, study: str) -> dict[str, Any] | None:
    return store.get(study_path(scope, study))
