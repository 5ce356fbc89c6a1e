"""Reading a stored instance's frames from the DICOM bucket, by byte range.

Ingest recorded where each frame is in the stored object (:mod:`beamit.dicomweb.pixel_index`):
a frame is one range read, and the data set's attributes up to Pixel Data one more, or the
same read when the frame starts within :data:`HEADER_SPAN` bytes of the Pixel Data value (the
first frame, every single-frame image: a rendered image is then one read). When there is no
index (Deflated Explicit VR Little Endian compresses the whole data set, malformed or
bit-packed multi-frame native data) or the data are big endian (8-bit OW frames need not be
word aligned), the whole object is read and the frames cut from the decoded data set instead
(:mod:`beamit.dicomweb.wado.frames`).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cached_property

import numpy as np
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import UID

from beamit.catalog import StoredInstance
from beamit.dicomweb.pixel_limits import PixelLimits
from beamit.dicomweb.wado.frames import (
    Frame,
    check_frame_numbers,
    decode_frame,
    frame_count,
    frame_octets,
    read_whole,
    split_frames,
)
from beamit.storage import BlobStore, ObjectRange
from beamit.storage.trace import carried

HEADER_SPAN = 64 << 10
"""A frame starting at most this far into the Pixel Data value is read together with the data
set's attributes before it, in one range read."""

_EARLY_READS = ThreadPoolExecutor(max_workers=16, thread_name_prefix="frame-early")
"""Reads started before the instance's record is read or confirmed (:meth:`FrameSource.read_early`,
:class:`EarlyHead`)."""

EARLY_HEAD_BYTES = 1 << 20
"""How much of an instance's object :class:`EarlyHead` reads: a 512 x 512 CT slice at 16 bits
(512 KiB of Pixel Data and its attributes) and any smaller single-frame image fit."""


class EarlyHead:
    """The first :data:`EARLY_HEAD_BYTES` of an instance's object, read by its name (which
    ingest derives from the UIDs: :func:`beamit.ingest.layout.instance_object`) while the
    request reads the instance's record, so that the first frame of a single-frame image waits
    for one round trip, not for the record and then its byte range. The bytes are used only for
    the object the record names: the same name and the same MD5 (a deleted instance stored
    again under its UIDs is another object); otherwise the frame is read as before."""

    def __init__(self, blobs: BlobStore, bucket: str, name: str) -> None:
        self._name = name
        self._read: Future[ObjectRange] = _EARLY_READS.submit(carried(blobs.read_range), bucket, name, 0,
                                                              EARLY_HEAD_BYTES)

    def of(self, instance: StoredInstance, number: int) -> bytes | None:
        """The bytes read, when they are of ``instance``'s object and hold frame ``number``;
        else ``None`` (without waiting for the read when the record already says so)."""
        pixel = instance.pixel
        if instance.blob != self._name or not instance.md5 or pixel is None or not 1 <= number <= pixel.frame_count:
            return None
        ranges = pixel.frame_ranges(number)
        if ranges[-1][0] + ranges[-1][1] > EARLY_HEAD_BYTES:
            return None
        try:
            found = self._read.result()
        except Exception:  # not there (yet), or the read failed: read the frame as before
            return None
        return found.data if found.md5_hash == instance.md5 else None


class FrameSource:
    """Reads the frames of one stored instance from the DICOM bucket."""

    def __init__(self, blobs: BlobStore, bucket: str, instance: StoredInstance,
                 limits: PixelLimits = PixelLimits(), *, head: bytes | None = None) -> None:
        """``head``: the object's first bytes, already read (:class:`EarlyHead`)."""
        self._blobs = blobs
        self._bucket = bucket
        self.instance = instance
        self.limits = limits
        ts = UID(instance.transfer_syntax)
        self._indexed = instance.pixel is not None and ts.is_little_endian and not ts.is_deflated
        self._frames: list[bytes] | None = None
        self._head: bytes | None = None  # the object up to Pixel Data's value, once read
        self._prefix = head if self._indexed else None
        self._early: dict[int, Future[Frame]] = {}

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
            if head is None and self._prefix is not None and self.instance.pixel.value_offset <= len(self._prefix):
                head = self._prefix[:self.instance.pixel.value_offset]
            if head is None:
                head = self._blobs.read(self._bucket, self.instance.blob, 0, self.instance.pixel.value_offset)
            return dcmread(io.BytesIO(head), stop_before_pixels=True)
        return self.whole

    @cached_property
    def whole(self) -> Dataset:
        """The whole stored data set, its binary values little endian (big endian data swapped)."""
        return read_whole(self._blobs.read(self._bucket, self.instance.blob))

    @cached_property
    def number_of_frames(self) -> int:
        if self._indexed:
            assert self.instance.pixel is not None
            return self.instance.pixel.frame_count
        return frame_count(self.whole)

    # -- frames ----------------------------------------------------------------------------------

    def check(self, numbers: Iterable[int]) -> None:
        """Raise :class:`~beamit.dicomweb.wado.frames.FrameError` unless every frame number exists."""
        check_frame_numbers(numbers, self.number_of_frames)

    def frames(self, numbers: Iterable[int]) -> Iterator[Frame]:
        for number in numbers:
            yield self.frame(number)

    def read_early(self, number: int) -> None:
        """Start reading frame ``number`` now, in the background; :meth:`frame` takes it (or,
        if that read failed, reads it again)."""
        if self._indexed and number not in self._early:
            self._early[number] = _EARLY_READS.submit(carried(self._read_frame), number)

    def frame(self, number: int) -> Frame:
        early = self._early.pop(number, None)
        if early is not None:
            try:
                return early.result()
            except Exception:  # read again below: an error then is the answer's
                pass
        return self._read_frame(number)

    def _read_frame(self, number: int) -> Frame:
        self.check([number])
        if self._indexed:
            assert self.instance.pixel is not None
            pixel = self.instance.pixel
            ranges = pixel.frame_ranges(number)
            start, end = ranges[0][0], ranges[-1][0] + ranges[-1][1]
            # The attributes too when they are just before (decoding or rendering reads them next).
            header_unread = self._head is None and "header" not in self.__dict__
            if self._prefix is not None and end <= len(self._prefix):  # read already, with the attributes
                start, span = 0, self._prefix
                if header_unread:
                    self._head = span[:pixel.value_offset]
            else:
                with_head = header_unread and start - pixel.value_offset <= HEADER_SPAN
                if with_head:
                    start = 0
                span = self._blobs.read(self._bucket, self.instance.blob, start, end)
                if with_head:
                    self._head = span[:pixel.value_offset]
            data = b"".join(span[offset - start:offset - start + length] for offset, length in ranges)
            return Frame(number, data, pixel.encapsulated)
        if self._frames is None:
            self._frames = split_frames(self.whole, self.number_of_frames, self.encapsulated, self.limits)
        return Frame(number, self._frames[number - 1], self.encapsulated)

    # -- decoding ----------------------------------------------------------------------------------

    def decode(self, frame: Frame) -> np.ndarray:
        """The frame's pixels as pydicom decodes them (YCbCr converted to RGB)."""
        return decode_frame(frame, self.header, self.transfer_syntax, self.limits)

    def octets(self, frame: Frame) -> bytes:
        """The frame uncompressed, little endian; bit-packed 1-bit frames stay packed."""
        if not frame.encapsulated:  # as stored: no need to read the attributes
            return frame.data
        return frame_octets(frame, self.header, self.transfer_syntax, self.limits)
