"""Bulk data resources (PS3.18 §10.4.1.1.5): the values metadata replaced by BulkDataURIs.

A BulkDataURI ends in an element path (:class:`~beamit.dicomweb.uri.ElementPath`), resolved
with :func:`~beamit.dicomweb.dicom_json.element_at`. Elements before Pixel Data are found in
the data set header (one range read, when ingest indexed the frames); others in the whole
object. Values are sent little endian (``application/octet-stream``, Explicit VR Little
Endian): big endian data sets are byte-swapped when read.

Pixel Data itself is served by frames (:mod:`~beamit.dicomweb.wado.frames`): uncompressed,
the frames' bytes one after the other as one value; compressed and as stored, one part
per frame (PS3.18 §8.7.3.3.2).
"""

from __future__ import annotations

from beamit.dicomweb.dicom_json import ElementNotFoundError, element_at
from beamit.dicomweb.uri import ElementPath
from beamit.dicomweb.wado.frames import FrameSource

PIXEL_DATA = 0x7FE00010


class BulkDataNotFound(LookupError):
    """No bulk data at this element path (respond 404)."""


def is_pixel_data(path: ElementPath) -> bool:
    return path.tag == PIXEL_DATA and not path.items


def bulk_value(source: FrameSource, path: ElementPath) -> bytes:
    """The value of the binary element at ``path``, little endian."""
    for whole in ((False, True) if source.indexed else (True,)):
        try:
            element = element_at(source.whole if whole else source.header, path)
        except ElementNotFoundError:
            continue
        value = element.value
        if not isinstance(value, bytes | bytearray):
            raise BulkDataNotFound(f"{path} is not a bulk data element")
        return bytes(value)
    raise BulkDataNotFound(f"no element at {path}")
