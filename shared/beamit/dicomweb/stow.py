"""STOW-RS (PS3.18 §10.5) wire format: the request checks, per-instance outcomes, the response.

Per-instance outcomes are values (:class:`ReferencedInstance`, :class:`FailedInstance`), not
exception paths: a request may store some instances and refuse others. Failure reasons are the
DICOM status codes PS3.18 §10.5.3 uses in FailedSOPSequence (PS3.4 Annex B, PS3.7 Annex C).

Response status (PS3.18 Table 10.5.3-1): 200 every instance stored; 202 some stored and
some failed (or warnings); 409 none stored because of the instances (e.g. a Study
Instance UID that doesn't match the URL); 400 a malformed request; 413 too large; 415
an unsupported media type. The body (Table 10.5.3-2 / Annex F) carries RetrieveURL,
ReferencedSOPSequence (with per-instance RetrieveURL) and FailedSOPSequence (with
FailureReason).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from beamit.dicomweb.media_types import DICOM, DICOM_JSON, MediaTypeError, parse_media_type
from beamit.dicomweb.multipart import MultipartError, boundary_from_content_type
from beamit.dicomweb.uri import DicomwebRoot
from beamit.errors import BadRequest, UnsupportedMediaType

PROCESSING_FAILURE = 0x0110
DUPLICATE_SOP_INSTANCE = 0x0111
OUT_OF_RESOURCES = 0xA700
DATA_SET_MISMATCH = 0xA900
CANNOT_UNDERSTAND = 0xC000

RETRIEVE_URL = "00081190"
FAILED_SOP_SEQUENCE = "00081198"
REFERENCED_SOP_SEQUENCE = "00081199"
REFERENCED_SOP_CLASS_UID = "00081150"
REFERENCED_SOP_INSTANCE_UID = "00081155"
FAILURE_REASON = "00081197"


@dataclass(frozen=True)
class ReferencedInstance:
    """A stored instance (an item of ReferencedSOPSequence); ``newly_stored`` is false when the
    same instance was stored before (an idempotent repeat)."""

    study_uid: str
    series_uid: str
    sop_instance_uid: str
    sop_class_uid: str
    newly_stored: bool


@dataclass(frozen=True)
class FailedInstance:
    """A refused instance (an item of FailedSOPSequence). ``sop_class_uid`` and
    ``sop_instance_uid`` are known only if the part could be parsed."""

    reason: int
    message: str
    sop_class_uid: str | None = None
    sop_instance_uid: str | None = None
    study_uid: str | None = None
    series_uid: str | None = None


@dataclass
class StoreResult:
    """The outcome of a store: every instance stored or refused."""

    stored: list[ReferencedInstance] = field(default_factory=list)
    failed: list[FailedInstance] = field(default_factory=list)

    @property
    def studies(self) -> list[str]:
        return sorted({s.study_uid for s in self.stored})


def request_boundary(content_type: str | None) -> str:
    """The multipart boundary of a STOW-RS request: ``multipart/related;
    type="application/dicom"`` (``type`` quoted or not), else 415; no usable boundary: 400.

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
    try:
        return boundary_from_content_type(content_type)
    except MultipartError as exc:  # the media type is multipart/related: the boundary is the problem
        raise BadRequest(str(exc)) from None


def response_status(result: StoreResult) -> int:
    if result.stored and not result.failed:
        return 200
    if result.stored:
        return 202
    return 409


MAX_WARNINGS = 10


def failure_warnings(result: StoreResult, limit: int = MAX_WARNINGS) -> list[str]:
    """Why instances failed, for ``Warning: 299`` header fields (FailedSOPSequence carries only
    the Failure Reason): each distinct message once, with its reason, printable ASCII, at most
    ``limit`` of them."""
    texts: list[str] = []
    for failure in result.failed:
        text = f"Failure Reason {failure.reason:04X}: {failure.message}"
        text = "".join(c if " " <= c <= "~" else "?" for c in text)[:300]
        if text not in texts:
            texts.append(text)
        if len(texts) == limit:
            break
    return texts


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
    result: StoreResult, root: DicomwebRoot, path_study: str | None
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
