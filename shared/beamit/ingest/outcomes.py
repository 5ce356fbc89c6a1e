"""Per-instance outcomes of a store: success is a value, failure too (not an exception path).

Failure reasons are the DICOM status codes PS3.18 §10.5.3 uses in FailedSOPSequence
(from PS3.4 Annex B and PS3.7 Annex C).
"""

from __future__ import annotations

from dataclasses import dataclass

PROCESSING_FAILURE = 0x0110
DUPLICATE_SOP_INSTANCE = 0x0111
SOP_CLASS_NOT_SUPPORTED = 0x0122
OUT_OF_RESOURCES = 0xA700
DATA_SET_MISMATCH = 0xA900
CANNOT_UNDERSTAND = 0xC000
COERCION_OF_DATA_ELEMENTS = 0xB000


@dataclass(frozen=True)
class StoredInstance:
    study_uid: str
    series_uid: str
    sop_instance_uid: str
    sop_class_uid: str
    newly_stored: bool


@dataclass(frozen=True)
class FailedInstance:
    """``sop_class_uid`` / ``sop_instance_uid`` are known only if the part could be parsed."""

    reason: int
    message: str
    sop_class_uid: str | None = None
    sop_instance_uid: str | None = None
    study_uid: str | None = None
    series_uid: str | None = None


class InstanceRejected(Exception):
    """Raised while parsing/validating one instance; becomes a :class:`FailedInstance`."""

    def __init__(
        self, reason: int, message: str, *, sop_class_uid: str | None = None, sop_instance_uid: str | None = None
    ) -> None:
        super().__init__(message)
        self.failure = FailedInstance(reason, message, sop_class_uid, sop_instance_uid)
