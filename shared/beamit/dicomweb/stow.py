"""STOW-RS (PS3.18 §10.5): the request checks and the response, as pure functions.

Response status (PS3.18 Table 10.5.3-1): 200 every instance stored; 202 some stored and
some failed (or warnings); 409 none stored because of the instances (e.g. a Study
Instance UID that doesn't match the URL); 400 a malformed request; 413 too large; 415
an unsupported media type. The body (Table 10.5.3-2 / Annex F) carries RetrieveURL,
ReferencedSOPSequence (with per-instance RetrieveURL) and FailedSOPSequence (with
FailureReason).
"""

from __future__ import annotations

from typing import Any

from beamit.dicomweb.media_types import DICOM, DICOM_JSON, MediaTypeError, parse_media_type
from beamit.dicomweb.uri import DicomwebRoot
from beamit.errors import UnsupportedMediaType
from beamit.ingest.outcomes import FailedInstance
from beamit.ingest.session import IngestResult

RETRIEVE_URL = "00081190"
FAILED_SOP_SEQUENCE = "00081198"
REFERENCED_SOP_SEQUENCE = "00081199"
REFERENCED_SOP_CLASS_UID = "00081150"
REFERENCED_SOP_INSTANCE_UID = "00081155"
FAILURE_REASON = "00081197"


def check_request_media_type(content_type: str | None) -> None:
    """Accept ``multipart/related; type="application/dicom"`` (``type`` quoted or not).

    The JSON + bulk data form (``type="application/dicom+json"``) is not supported: 415,
    as the conformance statement says.
    """
    if not content_type:
        raise UnsupportedMediaType('send multipart/related; type="application/dicom"')
    try:
        media = parse_media_type(content_type)
    except MediaTypeError as exc:
        raise UnsupportedMediaType(f"unreadable Content-Type: {exc}") from None
    if media.essence != "multipart/related":
        raise UnsupportedMediaType(
            f'{media.essence} is not supported: send multipart/related; type="{DICOM}"'
        )
    part_type = (media.param("type") or DICOM).lower()
    if part_type == DICOM_JSON:
        raise UnsupportedMediaType(
            "the application/dicom+json + bulk data form of STOW-RS is not supported: send Part 10 "
            'instances as multipart/related; type="application/dicom"'
        )
    if part_type != DICOM:
        raise UnsupportedMediaType(
            f'multipart/related parts of type {part_type!r} are not supported: use "{DICOM}"'
        )


def response_status(result: IngestResult) -> int:
    if result.stored and not result.failed:
        return 200
    if result.stored:
        return 202
    return 409


def _element(vr: str, value: Any) -> dict[str, Any]:
    return {"vr": vr, "Value": [value]}


def _failed_item(failure: FailedInstance) -> dict[str, Any]:
    item: dict[str, Any] = {}
    if failure.sop_class_uid:
        item[REFERENCED_SOP_CLASS_UID] = _element("UI", failure.sop_class_uid)
    if failure.sop_instance_uid:
        item[REFERENCED_SOP_INSTANCE_UID] = _element("UI", failure.sop_instance_uid)
    item[FAILURE_REASON] = _element("US", failure.reason)
    return item


def response_body(
    result: IngestResult, root: DicomwebRoot, path_study: str | None
) -> dict[str, Any]:
    body: dict[str, Any] = {}
    studies = result.studies
    study_for_url = path_study or (studies[0] if len(studies) == 1 else None)
    if study_for_url:
        body[RETRIEVE_URL] = {"vr": "UR", "Value": [root.study_url(study_for_url)]}
    else:
        body[RETRIEVE_URL] = {"vr": "UR"}
    if result.failed:
        body[FAILED_SOP_SEQUENCE] = {"vr": "SQ", "Value": [_failed_item(f) for f in result.failed]}
    if result.stored:
        body[REFERENCED_SOP_SEQUENCE] = {
            "vr": "SQ",
            "Value": [
                {
                    REFERENCED_SOP_CLASS_UID: _element("UI", s.sop_class_uid),
                    REFERENCED_SOP_INSTANCE_UID: _element("UI", s.sop_instance_uid),
                    RETRIEVE_URL: _element(
                        "UR", root.instance_url(s.study_uid, s.series_uid, s.sop_instance_uid)
                    ),
                }
                for s in result.stored
            ],
        }
    return body
