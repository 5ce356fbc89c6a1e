"""What the patient viewer shows of a shared study: its series and images, in viewing order.

Read from the catalog (the study, its series and its image instances), never from the stored
objects: the viewer then fetches frames and thumbnails by index through the share session.
No patient identifiers: a study's description, date and modalities; each series' number,
description, modality, first window and its images' UIDs and frame counts.
"""

from __future__ import annotations

from typing import Any

from beamit.catalog import Catalog, StoredInstance
from beamit.dicomweb.dicom_json import first_value
from beamit.errors import NotFound

STUDY_DESCRIPTION, STUDY_DATE = "00081030", "00080020"
SERIES_NUMBER, SERIES_DESCRIPTION, MODALITY = "00200011", "0008103E", "00080060"


def study_manifest(catalog: Catalog, index: int, study: str) -> dict[str, Any]:
    """The manifest of the shared study ``study`` at ``index`` of the share (empty when the
    study is no longer stored)."""
    summary = catalog.studies([study])[0]
    try:
        instances = catalog.study_instances(study)
    except NotFound:
        instances = []
    by_series: dict[str, list[StoredInstance]] = {}
    for instance in instances:
        if instance.is_image:
            by_series.setdefault(instance.series, []).append(instance)
    records = {s.uid: s for s in catalog.series_of_study(study)}
    series = []
    for uid, images in by_series.items():
        record = records.get(uid)
        dicom = record.dicom if record else {}
        window = images[0].window
        series.append({
            "uid": uid,
            "number": first_value(dicom, SERIES_NUMBER),
            "description": first_value(dicom, SERIES_DESCRIPTION) or "",
            "modality": (record.modality if record else "") or first_value(dicom, MODALITY) or "",
            "window": {"center": window[0], "width": window[1]} if window else None,
            "images": [{"uid": i.sop_instance, "frames": i.number_of_frames or 1} for i in images],
        })
    series.sort(key=lambda s: (s["number"] if isinstance(s["number"], int) else 1 << 30, s["uid"]))
    return {
        "index": index,
        "description": first_value(summary.dicom if summary else {}, STUDY_DESCRIPTION) or "",
        "date": first_value(summary.dicom if summary else {}, STUDY_DATE) or "",
        "modalities": list(summary.modalities) if summary else [],
        "series": series,
    }
