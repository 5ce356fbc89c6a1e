"""What the catalog records of one stored instance, as retrieval reads it.

The catalog (``tenants/{t}/instances``) is the truth of what is stored: an instance exists
once its record is committed, and only then (objects and metadata chunks written before a
failed commit never show).

Order (PS3.18 §10.4.1.1 leaves it to the origin server): by Series Instance UID, then
Instance Number, then SOP Instance UID; the metadata resources use the same order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from beamit.catalog import fields as f
from beamit.dicomweb.dicom_json import first_value
from beamit.dicomweb.pixel_index import PixelIndex
from beamit.dicomweb.uri import ResourceRef
from beamit.storage import field_path

NUMBER_OF_FRAMES = "00280008"
ROWS = "00280010"
WINDOW_CENTER = "00281050"
WINDOW_WIDTH = "00281051"
RECORD_FIELDS = (
    f.STUDY_UID,
    f.SERIES_UID,
    f.SOP_INSTANCE_UID,
    f.SOP_CLASS_UID,
    f.TRANSFER_SYNTAX_UID,
    f.BLOB,
    f.SIZE,
    f.MD5,
    f.INSTANCE_NUMBER,
    f.PIXEL,
    *(field_path(f.DICOM, tag) for tag in (NUMBER_OF_FRAMES, ROWS, WINDOW_CENTER, WINDOW_WIDTH)),
)
"""The catalog fields :meth:`StoredInstance.from_record` reads (of the instance's DICOM JSON, only
the elements it looks at): reads of a study's instances fetch these, not the QIDO-RS index
maps or the whole data set (which made a 300-instance study's read ~3x slower on the emulator)."""


@dataclass(frozen=True)
class StoredInstance:
    """What the catalog records of one stored instance (see :func:`beamit.catalog.commit.instance_record`)."""

    study: str
    series: str
    sop_instance: str
    sop_class: str
    transfer_syntax: str
    blob: str
    size: int
    md5: str
    instance_number: int | None
    pixel: PixelIndex | None
    number_of_frames: int | None
    has_rows: bool
    window: tuple[Any, Any] | None = None
    """The first Window Center and Width (VOI LUT module), when the instance has both."""

    @property
    def ref(self) -> ResourceRef:
        return ResourceRef(self.study, self.series, self.sop_instance)

    @property
    def sort_key(self) -> tuple[str, int, str]:
        return (self.series, self.instance_number or 0, self.sop_instance)

    @property
    def is_image(self) -> bool:
        """Whether the instance has pixels: ingest indexed its frames, or it has Rows."""
        return self.pixel is not None or self.has_rows

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> StoredInstance:
        dicom = record.get(f.DICOM) or {}
        frames = first_value(dicom, NUMBER_OF_FRAMES)
        try:
            number_of_frames = int(frames) if frames not in (None, "") else None
        except (TypeError, ValueError):
            number_of_frames = None
        center, width = first_value(dicom, WINDOW_CENTER), first_value(dicom, WINDOW_WIDTH)
        return cls(
            study=record[f.STUDY_UID],
            series=record[f.SERIES_UID],
            sop_instance=record[f.SOP_INSTANCE_UID],
            sop_class=record.get(f.SOP_CLASS_UID, ""),
            transfer_syntax=record[f.TRANSFER_SYNTAX_UID],
            blob=record[f.BLOB],
            size=int(record.get(f.SIZE) or 0),
            md5=record.get(f.MD5, ""),
            instance_number=record.get(f.INSTANCE_NUMBER),
            pixel=PixelIndex.from_record(record[f.PIXEL]) if record.get(f.PIXEL) else None,
            number_of_frames=number_of_frames,
            has_rows=first_value(dicom, ROWS) is not None,
            window=(center, width) if center is not None and width else None,
        )
