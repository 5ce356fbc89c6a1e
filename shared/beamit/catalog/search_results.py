"""The DICOM JSON record of a catalog entry, as a QIDO-RS search matches and returns it.

A record (see :mod:`beamit.dicomweb.qido.reference`) is the study's DICOM JSON, then the
series', then the instance's (a deeper level's element wins), each followed by the attributes
BeamIt computes for that level (PS3.18 §10.6.3.3, Tables 10.6.3-3..-5):

* study: Modalities in Study and SOP Classes in Study (the values, in ascending order), Number of
  Study Related Series / Instances;
* series: Number of Series Related Instances;
* every level: Retrieve URL of the entity, from the public DICOMweb root; Instance Availability
  ``ONLINE``; Specific Character Set ``ISO_IR 192`` (BeamIt's JSON is UTF-8 whatever the
  character set of the stored instances).

Number of Frames, Rows and Columns come from the instance's own DICOM JSON.  The inputs are
catalog documents (:mod:`beamit.catalog.fields`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from beamit.catalog import fields as f
from beamit.dicomweb.qido.attributes import SearchLevel
from beamit.dicomweb.qido.index import merge_levels
from beamit.dicomweb.uri import DicomwebRoot

__all__ = ["DOCUMENT_FIELDS", "instance_record", "series_record", "study_record"]

Document = Mapping[str, Any]

DOCUMENT_FIELDS: Mapping[SearchLevel, tuple[str, ...]] = {
    SearchLevel.STUDY: (f.STUDY_UID, f.DICOM, f.MODALITIES, f.SOP_CLASSES, f.SERIES_COUNT, f.INSTANCE_COUNT),
    SearchLevel.SERIES: (f.STUDY_UID, f.SERIES_UID, f.DICOM, f.INSTANCE_COUNT),
    SearchLevel.INSTANCE: (f.STUDY_UID, f.SERIES_UID, f.SOP_INSTANCE_UID, f.DICOM),
}
"""The catalog document fields the record of a result at each level reads (a query's projection)."""

_SPECIFIC_CHARACTER_SET = "00080005"
_INSTANCE_AVAILABILITY = "00080056"
_MODALITIES_IN_STUDY = "00080061"
_SOP_CLASSES_IN_STUDY = "00080062"
_RETRIEVE_URL = "00081190"
_STUDY_RELATED_SERIES = "00201206"
_STUDY_RELATED_INSTANCES = "00201208"
_SERIES_RELATED_INSTANCES = "00201209"


def _element(vr: str, values: Iterable[Any]) -> dict[str, Any] | None:
    listed = list(values)
    return {"vr": vr, "Value": listed} if listed else None


def _count(document: Document, field: str) -> int | None:
    value = document.get(field)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _sorted_strings(values: object) -> list[str]:
    if not isinstance(values, list):
        return []
    return sorted({value for value in values if isinstance(value, str) and value})


def _computed(elements: Mapping[str, dict[str, Any] | None]) -> dict[str, Any]:
    return {key: element for key, element in elements.items() if element is not None}


def _common(retrieve_url: str) -> dict[str, Any]:
    return {
        _SPECIFIC_CHARACTER_SET: {"vr": "CS", "Value": ["ISO_IR 192"]},
        _INSTANCE_AVAILABILITY: {"vr": "CS", "Value": ["ONLINE"]},
        _RETRIEVE_URL: {"vr": "UR", "Value": [retrieve_url]},
    }


def _study_part(study: Document) -> dict[str, Any]:
    series_count, instance_count = _count(study, f.SERIES_COUNT), _count(study, f.INSTANCE_COUNT)
    return merge_levels(
        study.get(f.DICOM),
        _computed(
            {
                _MODALITIES_IN_STUDY: _element("CS", _sorted_strings(study.get(f.MODALITIES))),
                _SOP_CLASSES_IN_STUDY: _element("UI", _sorted_strings(study.get(f.SOP_CLASSES))),
                _STUDY_RELATED_SERIES: _element("IS", [] if series_count is None else [series_count]),
                _STUDY_RELATED_INSTANCES: _element("IS", [] if instance_count is None else [instance_count]),
            }
        ),
    )


def _series_part(series: Document) -> dict[str, Any]:
    count = _count(series, f.INSTANCE_COUNT)
    return merge_levels(
        series.get(f.DICOM),
        _computed({_SERIES_RELATED_INSTANCES: _element("IS", [] if count is None else [count])}),
    )


def study_record(study: Document, root: DicomwebRoot) -> dict[str, Any]:
    """The record of a study search result."""
    return merge_levels(_study_part(study), _common(root.study_url(str(study.get(f.STUDY_UID)))))


def series_record(study: Document, series: Document, root: DicomwebRoot) -> dict[str, Any]:
    """The record of a series search result (its study's attributes included)."""
    url = root.series_url(str(series.get(f.STUDY_UID)), str(series.get(f.SERIES_UID)))
    return merge_levels(_study_part(study), _series_part(series), _common(url))


def instance_record(study: Document, series: Document, instance: Document, root: DicomwebRoot) -> dict[str, Any]:
    """The record of an instance search result (its study's and series' attributes included)."""
    url = root.instance_url(
        str(instance.get(f.STUDY_UID)), str(instance.get(f.SERIES_UID)), str(instance.get(f.SOP_INSTANCE_UID))
    )
    return merge_levels(_study_part(study), _series_part(series), instance.get(f.DICOM), _common(url))
