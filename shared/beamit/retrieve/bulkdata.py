"""Retrieving bulk data (PS3.18 §10.4.1.1.5): the values metadata replaced by BulkDataURIs.

A BulkDataURI ends in an element path (:class:`~beamit.dicomweb.uri.ElementPath`), resolved
with :func:`~beamit.dicomweb.dicom_json.element_at`. Elements before Pixel Data are found in
the data set header (one range read, when ingest indexed the frames); others in the whole
object. Values are sent little endian (``application/octet-stream``, Explicit VR Little
Endian): big endian data sets are byte-swapped when read.

Pixel Data itself is served by frames (:mod:`~beamit.retrieve.frames`): uncompressed, the
frames' bytes one after the other as one value; compressed and as stored, one part per frame
(PS3.18 §8.7.3.3.2).
"""

from __future__ import annotations

from collections.abc import Iterable

from beamit.dicomweb.dicom_json import ElementNotFoundError, element_at
from beamit.dicomweb.media_types import bulkdata_offers, pixel_data_offers
from beamit.dicomweb.multipart import PartOut
from beamit.dicomweb.uri import ElementPath, ResourceRef
from beamit.dicomweb.wado.etags import strong_etag
from beamit.dicomweb.wado.transcode import EXPLICIT_VR_LITTLE_ENDIAN, can_decode
from beamit.errors import NotFound
from beamit.retrieve.frame_source import FrameSource
from beamit.retrieve.frames import frame_bodies
from beamit.retrieve.plan import Accessed, Retrieval, RetrievalPlan, checked_frames, negotiated

PIXEL_DATA = 0x7FE00010


def plan_bulkdata(retrieval: Retrieval, ref: ResourceRef, path: ElementPath, accept: str | None) -> RetrievalPlan:
    """The bulk data value at ``path`` of one instance."""
    assert ref.series is not None and ref.instance is not None
    instance = retrieval.catalog.instance(ref.study, ref.series, ref.instance)
    source = retrieval.source(instance)
    if is_pixel_data(path):
        return _plan_pixel_data(source, accept)
    representation = negotiated(accept, bulkdata_offers(single_part=True))
    etag = strong_etag("bulkdata", [instance.md5], str(path), str(representation))

    def parts() -> Iterable[PartOut]:
        try:
            value = bulk_value(source, path)
        except BulkDataNotFound as exc:
            raise NotFound(str(exc)) from None
        return [PartOut(representation.part_content_type(), value)]

    return RetrievalPlan(representation, etag, Accessed.of([instance]), parts,
                         {"resource": "bulkdata", "element": str(path)})


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


def _plan_pixel_data(source: FrameSource, accept: str | None) -> RetrievalPlan:
    """Pixel Data as bulk data: uncompressed, all frames as one value; compressed, a part per frame."""
    instance = source.instance
    checked_frames(source, [1])
    count = source.number_of_frames
    stored = instance.transfer_syntax
    offers = pixel_data_offers(stored, decompress=can_decode(stored), single_part=True)
    if count > 1:  # several compressed frames cannot be one single part body
        offers = tuple(o for o in offers if o.multipart or o.transfer_syntax == EXPLICIT_VR_LITTLE_ENDIAN)
    representation = negotiated(accept, offers)
    etag = strong_etag("bulkdata", [instance.md5], "7FE00010", str(representation))
    numbers = range(1, count + 1)
    content_type = representation.part_content_type()
    uncompressed = representation.transfer_syntax == EXPLICIT_VR_LITTLE_ENDIAN

    def parts() -> Iterable[PartOut]:
        bodies = frame_bodies(source, numbers, uncompressed=uncompressed)
        if uncompressed:
            return [PartOut(content_type, bodies)]
        return (PartOut(content_type, body) for body in bodies)

    return RetrievalPlan(representation, etag, Accessed.of([instance]), parts,
                         {"resource": "bulkdata", "element": "7FE00010",
                          "transferSyntax": representation.transfer_syntax})
