"""The stored instances a WADO-RS target resource names, from the tenant's catalog.

The catalog (``tenants/{t}/instances``, see :mod:`beamit.catalog`) is the truth of what is
stored: an instance exists once its record is committed, and only then (objects and
metadata chunks written before a failed commit never show). A study or series is found by
one single-field equality query (no composite index), an instance by its document path;
every path is built through the caller's :class:`~beamit.tenancy.TenantScope`, so UIDs of
another tenant are simply not found (404).

Order (PS3.18 §10.4.1.1 leaves it to the origin server): by Series Instance UID, then
Instance Number, then SOP Instance UID; the metadata resources use the same order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from beamit import catalog
from beamit.dicomweb.uri import ResourceRef
from beamit.errors import BeamItError, NotFound
from beamit.ingest.pixel_index import PixelIndex
from beamit.storage import Filter, MetadataStore, Query, field_path
from beamit.tenancy import TenantScope

NUMBER_OF_FRAMES = "00280008"
ROWS = "00280010"
RECORD_FIELDS = (
    "studyUID",
    "seriesUID",
    "sopInstanceUID",
    "sopClassUID",
    "transferSyntaxUID",
    "blob",
    "size",
    "md5",
    "instanceNumber",
    "pixel",
    field_path("dicom", NUMBER_OF_FRAMES),
    field_path("dicom", ROWS),
)
"""The catalog fields :meth:`StoredInstance.from_record` reads (of the instance's DICOM JSON, only
the two elements it looks at): reads of a study's instances fetch these, not the QIDO-RS index
arrays or the whole data set (which made a 300-instance study's read ~3x slower on the emulator)."""


@dataclass(frozen=True)
class StoredInstance:
    """What the catalog records of one stored instance (see ``ingest.commit.instance_record``)."""

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
        dicom = record.get("dicom") or {}
        frames = dicom.get(NUMBER_OF_FRAMES, {}).get("Value", [None])[0]
        try:
            number_of_frames = int(frames) if frames not in (None, "") else None
        except (TypeError, ValueError):
            number_of_frames = None
        return cls(
            study=record["studyUID"],
            series=record["seriesUID"],
            sop_instance=record["sopInstanceUID"],
            sop_class=record.get("sopClassUID", ""),
            transfer_syntax=record["transferSyntaxUID"],
            blob=record["blob"],
            size=int(record.get("size") or 0),
            md5=record.get("md5", ""),
            instance_number=record.get("instanceNumber"),
            pixel=PixelIndex.from_record(record["pixel"]) if record.get("pixel") else None,
            number_of_frames=number_of_frames,
            has_rows=bool(dicom.get(ROWS, {}).get("Value")),
        )


def _checked(scope: TenantScope, record: dict[str, Any]) -> StoredInstance:
    instance = StoredInstance.from_record(record)
    if not instance.blob.startswith(scope.blob_prefix()):  # defence in depth: never another tenant's bytes
        raise BeamItError("catalog record points outside the tenant")
    return instance


def _query(store: MetadataStore, scope: TenantScope, field: str, uid: str) -> list[StoredInstance]:
    docs = store.query(
        Query(
            collection=scope.collection(catalog.INSTANCES),
            filters=(Filter(field, "==", uid),),
            select=RECORD_FIELDS,
        )
    )
    return [_checked(scope, doc.data) for doc in docs]


def study_instances(store: MetadataStore, scope: TenantScope, study: str) -> list[StoredInstance]:
    """The committed instances of a study, in order; :class:`NotFound` if there are none."""
    found = sorted(_query(store, scope, "studyUID", study), key=lambda i: i.sort_key)
    if not found:
        raise NotFound("no such study")
    return found


def series_instances(store: MetadataStore, scope: TenantScope, study: str, series: str) -> list[StoredInstance]:
    """The committed instances of a series of a study, in order; :class:`NotFound` if none."""
    found = sorted((i for i in _query(store, scope, "seriesUID", series) if i.study == study),
                   key=lambda i: i.sort_key)
    if not found:
        raise NotFound("no such series in this study")
    return found


def get_instance(store: MetadataStore, scope: TenantScope, study: str, series: str, sop: str) -> StoredInstance:
    """One committed instance, checked against its study and series; :class:`NotFound` if not."""
    record = store.get(catalog.instance_path(scope, sop), RECORD_FIELDS)
    if record is None or record.get("studyUID") != study or record.get("seriesUID") != series:
        raise NotFound("no such instance in this series")
    return _checked(scope, record)


def find_instances(store: MetadataStore, scope: TenantScope, ref: ResourceRef) -> list[StoredInstance]:
    """The instances of a study, series or instance reference."""
    if ref.instance is not None and ref.series is not None:
        return [get_instance(store, scope, ref.study, ref.series, ref.instance)]
    if ref.series is not None:
        return series_instances(store, scope, ref.study, ref.series)
    return study_instances(store, scope, ref.study)
