"""Frames of a stored instance (PS3.18 §10.4.1.1.4), as bytes: cutting, decoding, checking.

Pure functions over a frame's bytes and the data set's attributes; where the bytes come from
(byte ranges of the stored object) is :mod:`beamit.retrieve.frame_source`.

A :class:`Frame` holds the frame as stored: the compressed bitstream of an encapsulated
frame (its fragments joined), or native pixel bytes, always little endian. :func:`frame_octets`
gives the frame uncompressed in Explicit VR Little Endian (PS3.18 Table 8.7.3-4): native
bytes as they are, compressed frames decoded by pydicom (YCbCr converted to RGB, as
:mod:`~beamit.dicomweb.wado.transcode` does for whole instances). Every decode is checked
against :class:`~beamit.dicomweb.pixel_limits.PixelLimits` first.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate, generate_frames
from pydicom.pixels.utils import get_expected_length, pack_bits
from pydicom.uid import UID

from beamit.dicomweb.pixel_limits import PixelLimits, TooManyPixels
from beamit.dicomweb.wado.transcode import EXPLICIT_VR_LITTLE_ENDIAN, swap_to_little_endian


class FrameError(LookupError):
    """A requested frame does not exist (respond 404)."""


class NoPixelData(FrameError):
    """The instance has no Pixel Data, hence no frames."""


class FrameDecodeError(Exception):
    """A stored frame could not be decoded."""


class FrameTooLarge(FrameDecodeError):
    """A frame (or the frames) declared too many pixel samples to decode (:mod:`~beamit.dicomweb.pixel_limits`)."""


@dataclass(frozen=True)
class Frame:
    number: int
    data: bytes
    encapsulated: bool


def check_frame_numbers(numbers: Iterable[int], count: int) -> None:
    """Raise :class:`FrameError` unless every frame number exists among ``count`` (1-based)."""
    if count == 0:
        raise NoPixelData("the instance has no Pixel Data, hence no frames")
    missing = [n for n in numbers if not 1 <= n <= count]
    if missing:
        plural = "frame" if count == 1 else "frames"
        raise FrameError(f"frame {missing[0]} does not exist: the instance has {count} {plural}")


def read_whole(data: bytes) -> Dataset:
    """A stored data set, its binary values little endian (big endian data swapped)."""
    ds = dcmread(io.BytesIO(data))
    stored = UID(ds.file_meta.TransferSyntaxUID)
    if not stored.is_little_endian:
        swap_to_little_endian(ds)
    if not stored.is_encapsulated:
        ds.file_meta.TransferSyntaxUID = UID(EXPLICIT_VR_LITTLE_ENDIAN)  # native little endian, as decoded
    return ds


def frame_count(ds: Dataset) -> int:
    """Number of frames of a whole data set (0 without Pixel Data)."""
    if "PixelData" not in ds:
        return 0
    try:
        return max(int(ds.get("NumberOfFrames") or 1), 1)
    except (TypeError, ValueError):
        return 1


def split_frames(ds: Dataset, count: int, encapsulated: bool, limits: PixelLimits) -> list[bytes]:
    """The frames of a whole data set (from :func:`read_whole`), each as stored."""
    if encapsulated:
        return list(generate_frames(ds.PixelData, number_of_frames=count))
    if int(ds.BitsAllocated) == 1 and count > 1:  # bit-packed across frames: decoded whole
        _check_decode(limits, ds, count)
        pixels = ds.pixel_array
        return [pack_bits(pixels[i]) for i in range(count)]
    length = get_expected_length(ds, "bytes") // count
    value = ds.PixelData
    if length < 1 or length * count > len(value):  # Number of Frames claims frames that are not there
        raise FrameDecodeError(f"the Pixel Data holds fewer than the {count} frames the instance declares")
    return [value[i * length:(i + 1) * length] for i in range(count)]


def _check_decode(limits: PixelLimits, header: Dataset, frames: int = 1) -> None:
    try:
        limits.check_decode(header, frames)
    except TooManyPixels as exc:
        raise FrameTooLarge(str(exc)) from None


def decode_frame(frame: Frame, header: Dataset, transfer_syntax: str, limits: PixelLimits) -> np.ndarray:
    """The frame's pixels as pydicom decodes them (YCbCr converted to RGB); ``header``: the data
    set's attributes without Pixel Data. :class:`FrameTooLarge` (nothing decoded) when the
    header declares more samples than ``limits`` allow a decode."""
    _check_decode(limits, header)
    if not frame.encapsulated:
        pixels = native_pixels(frame.data, header)
        if pixels is not None:
            return pixels
    ds = copy.copy(header)
    ds.file_meta = FileMetaDataset()
    if frame.encapsulated:
        ds.file_meta.TransferSyntaxUID = UID(transfer_syntax)
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


def frame_octets(frame: Frame, header: Dataset, transfer_syntax: str, limits: PixelLimits) -> bytes:
    """The frame uncompressed, little endian (``application/octet-stream`` in Explicit VR
    Little Endian); bit-packed 1-bit frames stay packed."""
    if not frame.encapsulated:
        return frame.data
    pixels = decode_frame(frame, header, transfer_syntax, limits)
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
