"""Reading and validating one received instance (a DICOM Part 10 file; a data set that arrived
without its preamble is made one first: :func:`part10_stream`).

Values larger than 1 KiB are left unread (pydicom's deferred reading): ingest never
decodes pixel data, it records where the frames are and stores the bytes as received.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import google_crc32c
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from beamit.dicomweb.dicom_json import element_value, instance_metadata
from beamit.dicomweb.part10 import NotPart10, as_part10
from beamit.dicomweb.pixel_index import PixelIndex, build_pixel_index
from beamit.dicomweb.pixel_limits import PixelLimits, TooManyPixels
from beamit.dicomweb.stow import CANNOT_UNDERSTAND, DATA_SET_MISMATCH, OUT_OF_RESOURCES, FailedInstance
from beamit.dicomweb.uri import DicomwebRoot, InvalidUIDError, validate_uid
from beamit.ingest.levels import level_json

# Precomputed metadata is stored with this root in its BulkDataURIs and served with the
# configured public base URL substituted, so a new domain never invalidates stored data.
STORED_ROOT = "http://beamit.invalid/dicomweb"
DEFER_SIZE = 1024
_TAGS = {"SOPClassUID": 0x00080016, "SOPInstanceUID": 0x00080018, "StudyInstanceUID": 0x0020000D,
         "SeriesInstanceUID": 0x0020000E, "Modality": 0x00080060, "InstanceNumber": 0x00200013}


class InstanceRejected(Exception):
    """Raised while parsing/validating one instance; becomes a :class:`FailedInstance`."""

    def __init__(
        self, reason: int, message: str, *, sop_class_uid: str | None = None, sop_instance_uid: str | None = None
    ) -> None:
        super().__init__(message)
        self.failure = FailedInstance(reason, message, sop_class_uid, sop_instance_uid)


@dataclass
class ParsedInstance:
    study_uid: str
    series_uid: str
    sop_instance_uid: str
    sop_class_uid: str
    transfer_syntax_uid: str
    size: int
    md5_b64: str
    """The object's MD5 (base64), known once it is stored: Cloud Storage's, from the upload's answer
    (:meth:`beamit.ingest.session.IngestSession._store_bytes`); ``""`` until then."""
    crc32c_b64: str
    study: dict[str, Any]
    series: dict[str, Any]
    instance: dict[str, Any]
    metadata: dict[str, Any]
    pixel_index: PixelIndex | None
    instance_number: int | None
    modality: str | None
    _parked: str | None = field(default=None, repr=False)

    def park(self, *, keep_instance: bool = False) -> None:
        """Drop the precomputed metadata (written to its chunk by then) and, unless
        ``keep_instance``, keep the instance-level DICOM JSON as compact JSON text until the
        commit: a large request holds thousands of parsed instances, and the dictionaries are ten
        times the size of the text. The request's last instances, committed right after, are kept
        as they are (a dump and a load each spared)."""
        if self._parked is None and not keep_instance:
            self._parked = json.dumps(self.instance, separators=(",", ":"))
            self.instance = {}
        self.metadata = {}

    def instance_json(self) -> dict[str, Any]:
        """The instance-level DICOM JSON (the catalog document's ``dicom``), parked or not."""
        return self.instance if self._parked is None else dict(json.loads(self._parked))


def _size_and_crc32c(fp: BinaryIO) -> tuple[int, str]:
    fp.seek(0)
    crc = google_crc32c.Checksum()
    size = 0
    while chunk := fp.read(1 << 20):
        crc.update(chunk)
        size += len(chunk)
    fp.seek(0)
    return size, base64.b64encode(crc.digest()).decode()


def md5_of(fp: BinaryIO) -> str:
    """The MD5 of the whole file, base64 as Cloud Storage gives it. Ingest takes the MD5 from the
    upload's answer (Cloud Storage computes it anyway; about 0.7 ms of CPU per 512 KB here) and
    computes it only to compare with an object already stored, or where the answer has none."""
    fp.seek(0)
    md5 = hashlib.md5(usedforsecurity=False)
    while chunk := fp.read(1 << 20):
        md5.update(chunk)
    fp.seek(0)
    return base64.b64encode(md5.digest()).decode()


def _value(ds: Dataset, keyword: str) -> Any:
    return element_value(ds, _TAGS[keyword])


def _uid(ds: Dataset, keyword: str, sop_class: str | None, sop: str | None) -> str:
    value = _value(ds, keyword)
    if not value:
        raise InstanceRejected(
            DATA_SET_MISMATCH, f"{keyword} is missing", sop_class_uid=sop_class, sop_instance_uid=sop
        )
    try:
        return validate_uid(str(value), keyword)
    except InvalidUIDError as exc:
        raise InstanceRejected(DATA_SET_MISMATCH, str(exc), sop_class_uid=sop_class, sop_instance_uid=sop) from None


def part10_stream(
    fp: BinaryIO, release: Callable[[], None], transfer_syntax: str | None
) -> tuple[BinaryIO, Callable[[], None]]:
    """The instance in ``fp`` as a Part 10 stream, and what frees it
    (:func:`beamit.dicomweb.part10.as_part10`): ``fp`` itself when it has its preamble (stored
    byte for byte), else a new stream with the header added (``fp`` is freed at once). Raises
    :class:`InstanceRejected` (0xC000) for a bare data set without a ``transfer_syntax``."""
    try:
        converted = as_part10(fp, transfer_syntax)
    except NotPart10 as exc:
        raise InstanceRejected(CANNOT_UNDERSTAND, str(exc)) from None
    if not converted.added_header:
        return fp, release
    release()
    return converted.stream, converted.stream.close


def parse_instance(fp: BinaryIO, *, expected_study: str | None = None,
                   limits: PixelLimits = PixelLimits()) -> ParsedInstance:
    """Validate a Part 10 file and extract what search and retrieval need.

    Raises :class:`InstanceRejected` with the DICOM failure reason: 0xC000 when it is not
    a readable Part 10 file (PS3.10 §7.1: preamble, ``DICM``, File Meta Information with a
    Transfer Syntax), 0xA900 when required UIDs are missing or invalid, or the Study
    Instance UID differs from the one in the request path (PS3.18 §10.5.1), 0xA700 (Out of
    Resources) when its Image Pixel attributes declare more pixel samples than ``limits``
    allow (a frame no decode may produce: :mod:`beamit.dicomweb.pixel_limits`).
    """
    size, crc_b64 = _size_and_crc32c(fp)
    if size == 0:
        raise InstanceRejected(CANNOT_UNDERSTAND, "empty part: no DICOM data")
    try:
        ds = pydicom.dcmread(fp, defer_size=DEFER_SIZE)
        transfer_syntax = str(ds.file_meta.TransferSyntaxUID)
    except (InvalidDicomError, AttributeError, KeyError) as exc:
        raise InstanceRejected(CANNOT_UNDERSTAND, f"not a DICOM Part 10 file: {type(exc).__name__}") from None
    except Exception as exc:
        raise InstanceRejected(CANNOT_UNDERSTAND, f"unreadable DICOM data: {type(exc).__name__}") from None
    sop_class = str(_value(ds, "SOPClassUID") or "") or None
    sop = str(_value(ds, "SOPInstanceUID") or "") or None
    sop_class = _uid(ds, "SOPClassUID", sop_class, sop)
    sop = _uid(ds, "SOPInstanceUID", sop_class, sop)
    study = _uid(ds, "StudyInstanceUID", sop_class, sop)
    series = _uid(ds, "SeriesInstanceUID", sop_class, sop)
    if expected_study is not None and study != expected_study:
        raise InstanceRejected(
            DATA_SET_MISMATCH,
            "StudyInstanceUID does not match the study in the request URL",
            sop_class_uid=sop_class,
            sop_instance_uid=sop,
        )
    try:
        limits.check_stored(ds)
    except TooManyPixels as exc:
        raise InstanceRejected(OUT_OF_RESOURCES, str(exc), sop_class_uid=sop_class, sop_instance_uid=sop) from None
    try:
        try:
            pixel_index = build_pixel_index(ds, fp)
        except ValueError:
            pixel_index = None  # frames will be decoded from the whole object
        metadata = instance_metadata(ds, DicomwebRoot(STORED_ROOT), suppress_invalid_tags=True)
        study_json = level_json(metadata, "study")
        series_json = level_json(metadata, "series")
        instance_json = level_json(metadata, "instance")
    except InstanceRejected:
        raise
    except Exception as exc:
        raise InstanceRejected(
            CANNOT_UNDERSTAND,
            f"cannot decode the data set: {type(exc).__name__}",
            sop_class_uid=sop_class,
            sop_instance_uid=sop,
        ) from None
    number = _value(ds, "InstanceNumber")
    try:
        instance_number = int(number) if number not in (None, "") else None
    except (TypeError, ValueError):
        instance_number = None
    return ParsedInstance(
        study_uid=study,
        series_uid=series,
        sop_instance_uid=sop,
        sop_class_uid=sop_class,
        transfer_syntax_uid=transfer_syntax,
        size=size,
        md5_b64="",
        crc32c_b64=crc_b64,
        study=study_json,
        series=series_json,
        instance=instance_json,
        metadata=metadata,
        pixel_index=pixel_index,
        instance_number=instance_number,
        modality=str(_value(ds, "Modality") or "") or None,
    )
