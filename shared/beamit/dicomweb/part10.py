"""DICOM Part 10 files (PS3.10 §7.1): the form every stored instance takes.

A Part 10 file is a 128-byte preamble, the prefix ``DICM``, the File Meta Information (group
0002, Explicit VR Little Endian) and the data set in the Transfer Syntax the meta names. STOW-RS
clients do not always send that form: ``dicomweb-client``'s ``store_instances()`` writes a pydicom
``Dataset`` built in memory as it is (``pydicom.dcmwrite`` without ``enforce_file_format``), i.e.
its File Meta Information with no preamble, or without ``file_meta`` the bare data set.

:func:`as_part10` takes what arrived and gives back a Part 10 stream, changing as little as it can:

- a file with a preamble and ``DICM`` is returned as it is (stored byte for byte);
- File Meta Information without a preamble gets a zero preamble and ``DICM`` put before it: the
  bytes received follow unchanged;
- a bare data set (no group 0002) needs its Transfer Syntax named (the ``transfer-syntax``
  parameter of the part's media type, PS3.18 §8.7.3.5.2): it gets a preamble, ``DICM`` and File
  Meta Information built from that syntax and the data set's SOP Class and Instance UIDs, the
  data set's bytes unchanged after it.

Pure functions over streams (no store is read); the added header is deterministic, so the same
data set sent twice becomes the same file (same MD5), as STOW-RS idempotency needs.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from dataclasses import dataclass
from enum import Enum
from typing import BinaryIO, cast

import pydicom
from pydicom.dataset import FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_file_meta_info
from pydicom.uid import UID

from beamit.dicomweb.uri import InvalidUIDError, validate_uid

PREAMBLE = b"\x00" * 128
PREFIX = b"DICM"
IMPLEMENTATION_CLASS_UID = "2.25.298204310442843216712224215761646999875"
"""BeamIt's Implementation Class UID (a UUID-derived UID, PS3.5 §B.2), written in the File Meta
Information BeamIt builds for a bare data set."""
IMPLEMENTATION_VERSION_NAME = "BEAMIT_1"
SPOOL_BYTES = 8 << 20


class Part10Form(Enum):
    """How an instance arrived (what :func:`as_part10` had to add)."""

    PART10 = "part10"
    """Preamble, ``DICM`` and File Meta Information: stored as received."""
    META_WITHOUT_PREAMBLE = "meta-without-preamble"
    """File Meta Information without the preamble: preamble and ``DICM`` added."""
    BARE_DATA_SET = "bare-data-set"
    """No group 0002: preamble, ``DICM`` and File Meta Information added."""


class NotPart10(ValueError):
    """What arrived cannot be made a Part 10 file; the message says what is missing."""


@dataclass(frozen=True)
class Part10Stream:
    stream: BinaryIO
    form: Part10Form

    @property
    def added_header(self) -> bool:
        return self.form is not Part10Form.PART10


def as_part10(fp: BinaryIO, transfer_syntax: str | None = None) -> Part10Stream:
    """``fp`` (rewound) as a Part 10 stream. ``transfer_syntax``: the part's ``transfer-syntax``
    media type parameter, used only for a bare data set. A new stream (a spooled temporary file
    the caller closes) is returned when a header was added; ``fp`` itself otherwise, and for an
    empty part (refused by the caller)."""
    fp.seek(0)
    head = fp.read(132)
    fp.seek(0)
    if not head or head[128:132] == PREFIX:
        return Part10Stream(fp, Part10Form.PART10)
    if _starts_with_file_meta(head):
        return Part10Stream(cast(BinaryIO, _prefixed(PREAMBLE + PREFIX, fp)), Part10Form.META_WITHOUT_PREAMBLE)
    if transfer_syntax is None:
        raise NotPart10(
            "neither a Part 10 file (128-byte preamble and 'DICM') nor File Meta Information (group 0002): "
            "name the data set's Transfer Syntax in the part's Content-Type, e.g. "
            "application/dicom; transfer-syntax=1.2.840.10008.1.2.1"
        )
    header = _file_meta(fp, _transfer_syntax(transfer_syntax))
    return Part10Stream(cast(BinaryIO, _prefixed(header, fp)), Part10Form.BARE_DATA_SET)


def _starts_with_file_meta(head: bytes) -> bool:
    """Group 0002 first, in Explicit VR Little Endian (PS3.10 §7.1: always that encoding)."""
    return len(head) >= 8 and head[:2] == b"\x02\x00" and head[4:6].isalpha() and head[4:6].isupper()


def _transfer_syntax(raw: str) -> UID:
    try:
        uid = UID(validate_uid(raw.strip(), "transfer-syntax"))
    except InvalidUIDError as exc:
        raise NotPart10(f"the part's transfer-syntax parameter: {exc}") from None
    if not uid.is_transfer_syntax:
        raise NotPart10(f"the part's transfer-syntax parameter {uid} is not a Transfer Syntax this server reads")
    return uid


def _file_meta(fp: BinaryIO, transfer_syntax: UID) -> bytes:
    """Preamble, ``DICM`` and File Meta Information for the bare data set in ``fp``."""
    provisional = _meta_bytes(FileMetaDataset(), transfer_syntax, None, None)
    with _prefixed(provisional, fp) as probe:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds = pydicom.dcmread(probe, specific_tags=["SOPClassUID", "SOPInstanceUID"])
            sop_class, sop = str(ds.SOPClassUID), str(ds.SOPInstanceUID)
        except Exception as exc:
            raise NotPart10(
                f"not a data set in Transfer Syntax {transfer_syntax} (unreadable: {type(exc).__name__})"
            ) from None
    fp.seek(0)
    return _meta_bytes(FileMetaDataset(), transfer_syntax, sop_class, sop)


def _meta_bytes(meta: FileMetaDataset, transfer_syntax: UID, sop_class: str | None, sop: str | None) -> bytes:
    meta.FileMetaInformationVersion = b"\x00\x01"
    if sop_class is not None and sop is not None:
        meta.MediaStorageSOPClassUID = UID(sop_class)
        meta.MediaStorageSOPInstanceUID = UID(sop)
    meta.TransferSyntaxUID = transfer_syntax
    meta.ImplementationClassUID = UID(IMPLEMENTATION_CLASS_UID)
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME
    out = DicomBytesIO()
    out.is_little_endian = True
    out.is_implicit_VR = False
    write_file_meta_info(out, meta, enforce_standard=sop is not None)
    return PREAMBLE + PREFIX + out.getvalue()


def _prefixed(header: bytes, fp: BinaryIO) -> tempfile.SpooledTemporaryFile[bytes]:
    """A new spooled stream: ``header`` then every byte of ``fp``, rewound."""
    out: tempfile.SpooledTemporaryFile[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    try:
        out.write(header)
        fp.seek(0)
        shutil.copyfileobj(fp, out, 1 << 20)
        fp.seek(0)
        out.seek(0)
    except BaseException:
        out.close()
        raise
    return out


__all__ = ["NotPart10", "Part10Form", "Part10Stream", "as_part10"]
