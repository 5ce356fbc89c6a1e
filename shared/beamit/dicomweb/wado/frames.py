"""Frames of a stored instance (PS3.18 §10.4.1.1.4), read by byte range.

Ingest recorded where each frame is in the stored object (:mod:`beamit.ingest.pixel_index`):
a frame is one range read, and the data set's attributes up to Pixel Data one more, or the
same read when the frame starts within :data:`HEADER_SPAN` bytes of the Pixel Data value (the
first frame, every single-frame image: a rendered image is then one read). When
there is no index (Deflated Explicit VR Little Endian compresses the whole data set,
malformed or bit-packed multi-frame native data) or the data are big endian (8-bit OW
frames need not be word aligned), the whole object is read and the frames cut from the
decoded data set instead.

A :class:`Frame` holds the frame as stored: the compressed bitstream of an encapsulated
frame (its fragments joined), or native pixel bytes, always little endian. :meth:`FrameSource.octets`
gives the frame uncompressed in Explicit VR Little Endian (PS3.18 Table 8.7.3-4): native
bytes as they are, compressed frames decoded by pydicom (YCbCr converted to RGB, as
:mod:`~beamit.dicomweb.wado.transcode` does for whole instances).
"""

from __future__ import annotations

import copy
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate, generate_frames
from pydicom.pixels.utils import get_expected_length, pack_bits
from pydicom.uid import UID

from beamit.dicomweb.wado.instances import StoredInstance
from beamit.dicomweb.wado.transcode import EXPLICIT_VR_LITTLE_ENDIAN, swap_to_little_endian
from beamit.storage import BlobStore

HEADER_SPAN = 64 << 10
"""A frame starting at most this far into the Pixel Data value is read together with the data
set's attributes before it, in one range read."""


class FrameError(LookupError):
    """A requested frame does not exist (respond 404)."""


class NoPixelData(FrameError):
    """The instance has no Pixel Data, hence no frames."""


class FrameDecodeError(Exception):
    """A stored frame could not be decoded."""


@dataclass(frozen=True)
class Frame:
    number: int
    data: bytes
    encapsulated: bool


class FrameSource:
    """Reads the frames of one stored instance from the DICOM bucket."""

    def __init__(self, blobs: BlobStore, bucket: str, instance: StoredInstance) -> None:
        self._blobs = blobs
        self._bucket = bucket
        self.instance = instance
        ts = UID(instance.transfer_syntax)
        self._indexed = instance.pixel is not None and ts.is_little_endian and not ts.is_deflated
        self._frames: list[bytes] | None = None
        self._head: bytes | None = None  # the object up to Pixel Data's value, once read

    @property
    def indexed(self) -> bool:
        """Whether frames are read by byte range (else from the whole object)."""
        return self._indexed

    @property
    def transfer_syntax(self) -> str:
        return self.instance.transfer_syntax

    @property
    def encapsulated(self) -> bool:
        return UID(self.instance.transfer_syntax).is_encapsulated

    # -- the data set without Pixel Data ------------------------------------------------------

    @cached_property
    def header(self) -> Dataset:
        """The data set's attributes (Image Pixel, Modality LUT, VOI LUT, ...), without Pixel Data."""
        if self._indexed:
            assert self.instance.pixel is not None
            head = self._head
            if head is None:
                head = self._blobs.read(self._bucket, self.instance.blob, 0, self.instance.pixel.value_offset)
            return dcmread(io.BytesIO(head), stop_before_pixels=True)
        return self.whole

    @cached_property
    def whole(self) -> Dataset:
        """The whole stored data set, its binary values little endian (big endian data swapped)."""
        ds = dcmread(io.BytesIO(self._blobs.read(self._bucket, self.instance.blob)))
        stored = UID(ds.file_meta.TransferSyntaxUID)
        if not stored.is_little_endian:
            swap_to_little_endian(ds)
        if not stored.is_encapsulated:
            ds.file_meta.TransferSyntaxUID = UID(EXPLICIT_VR_LITTLE_ENDIAN)  # native little endian, as decoded
        return ds

    @cached_property
    def number_of_frames(self) -> int:
        if self._indexed:
            assert self.instance.pixel is not None
            return self.instance.pixel.frame_count
        if "PixelData" not in self.whole:
            return 0
        try:
            return max(int(self.whole.get("NumberOfFrames") or 1), 1)
        except (TypeError, ValueError):
            return 1

    # -- frames ----------------------------------------------------------------------------------

    def check(self, numbers: Iterable[int]) -> None:
        """Raise :class:`FrameError` unless every frame number exists (1-based)."""
        count = self.number_of_frames
        if count == 0:
            raise NoPixelData("the instance has no Pixel Data, hence no frames")
        missing = [n for n in numbers if not 1 <= n <= count]
        if missing:
            plural = "frame" if count == 1 else "frames"
            raise FrameError(f"frame {missing[0]} does not exist: the instance has {count} {plural}")

    def frames(self, numbers: Iterable[int]) -> Iterator[Frame]:
        for number in numbers:
            yield self.frame(number)

    def frame(self, number: int) -> Frame:
        self.check([number])
        if self._indexed:
            assert self.instance.pixel is not None
            pixel = self.instance.pixel
            ranges = pixel.frame_ranges(number)
            start, end = ranges[0][0], ranges[-1][0] + ranges[-1][1]
            # The attributes too when they are just before (decoding or rendering reads them next).
            header_unread = self._head is None and "header" not in self.__dict__
            with_head = header_unread and start - pixel.value_offset <= HEADER_SPAN
            if with_head:
                start = 0
            span = self._blobs.read(self._bucket, self.instance.blob, start, end)
            if with_head:
                self._head = span[:pixel.value_offset]
            data = b"".join(span[offset - start:offset - start + length] for offset, length in ranges)
            return Frame(number, data, self.instance.pixel.encapsulated)
        return Frame(number, self._whole_frames()[number - 1], self.encapsulated)

    def _whole_frames(self) -> list[bytes]:
        if self._frames is None:
            ds = self.whole
            count = self.number_of_frames
            if self.encapsulated:
                self._frames = list(generate_frames(ds.PixelData, number_of_frames=count))
            elif int(ds.BitsAllocated) == 1 and count > 1:  # bit-packed across frames
                pixels = ds.pixel_array
                self._frames = [pack_bits(pixels[i]) for i in range(count)]
            else:
                length = get_expected_length(ds, "bytes") // count
                value = ds.PixelData
                self._frames = [value[i * length:(i + 1) * length] for i in range(count)]
        return self._frames

    # -- decoding ----------------------------------------------------------------------------------

    def decode(self, frame: Frame) -> np.ndarray:
        """The frame's pixels as pydicom decodes them (YCbCr converted to RGB)."""
        if not frame.encapsulated:
            pixels = native_pixels(frame.data, self.header)
            if pixels is not None:
                return pixels
        ds = copy.copy(self.header)
        ds.file_meta = FileMetaDataset()
        if frame.encapsulated:
            ds.file_meta.TransferSyntaxUID = UID(self.transfer_syntax)
            ds.PixelData = encapsulate([frame.data])
            ds["PixelData"].VR = "OB"
        else:
            ds.file_meta.TransferSyntaxUID = UID(EXPLICIT_VR_LITTLE_ENDIAN)
            ds.PixelData = frame.data
            ds["PixelData"].VR = "OW" if int(ds.BitsAllocated) > 8 else "OB"
        if "NumberOfFrames" in ds:
            ds.NumberOfFrames = 1
        try:
            return ds.pixel_array
        except Exception as exc:
            raise FrameDecodeError(f"frame {frame.number} could not be decoded: {type(exc).__name__}") from None

    def octets(self, frame: Frame) -> bytes:
        """The frame uncompressed, little endian (``application/octet-stream`` in Explicit VR
        Little Endian); bit-packed 1-bit frames stay packed."""
        if not frame.encapsulated:
            return frame.data
        pixels = self.decode(frame)
        return np.ascontiguousarray(pixels, dtype=pixels.dtype.newbyteorder("<")).tobytes()


def native_pixels(data: bytes, header: Dataset) -> np.ndarray | None:
    """A native single-sample frame (little endian) as the array pydicom's ``pixel_array`` gives:
    bits above Bits Stored masked off, or sign-extended from Bits Stored for signed data; read
    in place with numpy, without pydicom's per-frame data set. ``None`` for any other layout
    (several samples, bit-packed, short data), which pydicom decodes."""
    try:
        samples = int(header.get("SamplesPerPixel") or 1)
        allocated = int(header.BitsAllocated)
        stored = int(header.get("BitsStored") or allocated)
        signed = int(header.get("PixelRepresentation") or 0) == 1
        rows, columns = int(header.Rows), int(header.Columns)
    except (AttributeError, TypeError, ValueError):
        return None
    if samples != 1 or allocated not in (8, 16, 32) or not 0 < stored <= allocated:
        return None
    dtype = np.dtype(f"<{'i' if signed else 'u'}{allocated // 8}")
    if len(data) < rows * columns * dtype.itemsize:
        return None
    pixels = np.frombuffer(data, dtype=dtype, count=rows * columns).reshape(rows, columns)
    unused = allocated - stored
    if unused:
        pixels = (pixels << unused) >> unused if signed else pixels & dtype.type((1 << stored) - 1)
    return pixels
