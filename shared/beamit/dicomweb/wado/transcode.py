"""Transfer Syntax conversion of stored instances, with pydicom (PS3.18 §8.7.3.5).

Instances are stored as received; a request may ask for them in another Transfer Syntax.
BeamIt converts to Explicit VR Little Endian (the default of ``application/dicom`` and
``application/octet-stream``, PS3.18 Tables 8.7.3-2 and 8.7.3-4) from any syntax it can
decode: Implicit VR Little Endian, Deflated, Explicit VR Big Endian (values of OW, OF, OL,
OD and OV elements byte-swapped, as pydicom's writer leaves that to the caller) and every
compressed syntax a pydicom decoding plugin is installed for (pylibjpeg: JPEG, JPEG-LS,
JPEG 2000, HTJ2K; pydicom itself: RLE Lossless). Decompression converts YCbCr to RGB
(Photometric Interpretation updated) and keeps the SOP Instance UID: the pixel values are
those the stored data decode to, so no new instance is created (PS3.5 §8.2 concerns lossy
*compression*, which BeamIt never does); data once lossy compressed stays flagged
(Lossy Image Compression "01", PS3.3 §C.7.6.1.1.5).
"""

from __future__ import annotations

import io

import numpy as np
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.filewriter import dcmwrite
from pydicom.pixels.decoders.base import get_decoder
from pydicom.uid import UID, ExplicitVRLittleEndian

from beamit.dicomweb.pixel_limits import PixelGeometry, PixelLimits

EXPLICIT_VR_LITTLE_ENDIAN = str(ExplicitVRLittleEndian)
PIXEL_DATA = 0x7FE00010

# Byte width of the values of each binary VR whose byte order follows the Transfer Syntax.
_VALUE_WIDTH = {"OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8}
# Transfer Syntaxes that are lossy only: decompressed data must stay flagged as lossy.
_LOSSY_ONLY = {"1.2.840.10008.1.2.4.50": "ISO_10918_1", "1.2.840.10008.1.2.4.51": "ISO_10918_1"}


class TranscodeError(Exception):
    """The instance cannot be converted (no decoder, or its data do not decode)."""


def can_decode(transfer_syntax: str) -> bool:
    """Whether pixel data in ``transfer_syntax`` can be decoded here (a plugin is installed)."""
    uid = UID(transfer_syntax)
    if not uid.is_compressed:
        return True
    try:
        return bool(get_decoder(uid).is_available)
    except NotImplementedError:  # e.g. MPEG-2/4, HEVC: pydicom has no decoder at all
        return False


def to_explicit_vr_little_endian(data: bytes, limits: PixelLimits = PixelLimits()) -> bytes:
    """The Part 10 file ``data`` re-encoded in Explicit VR Little Endian (unchanged if it is).

    Raises :class:`TranscodeError` if it cannot be, before decoding anything when its frames
    together declare more pixel samples than ``limits`` allow one decode.
    """
    try:
        ds = dcmread(io.BytesIO(data))
        stored = UID(ds.file_meta.TransferSyntaxUID)
        if stored == ExplicitVRLittleEndian:
            return data
        if stored.is_compressed:
            if "PixelData" in ds:
                geometry = PixelGeometry.declared(ds)
                limits.check_decode(ds, geometry.frames)
                ds.decompress(generate_instance_uid=False)
            if stored in _LOSSY_ONLY and "LossyImageCompression" not in ds:
                ds.LossyImageCompression = "01"
                ds.LossyImageCompressionMethod = _LOSSY_ONLY[stored]
        elif not stored.is_little_endian:
            swap_to_little_endian(ds)
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        out = io.BytesIO()
        dcmwrite(out, ds, enforce_file_format=True)
        return out.getvalue()
    except Exception as exc:
        raise TranscodeError(f"{type(exc).__name__}: {str(exc)[:200]}") from None


def swap_bytes(value: bytes, width: int) -> bytes:
    """``value`` with each ``width``-byte unit reversed (a trailing partial unit is kept)."""
    if width < 2 or len(value) < width:
        return value
    whole = len(value) // width * width
    swapped = np.frombuffer(value, dtype=f">u{width}", count=whole // width).byteswap().tobytes()
    return swapped + value[whole:]


def pixel_unit(ds: Dataset, vr: str) -> int:
    """Byte width of the units native Pixel Data is byte-swapped in (as pydicom reads it):
    the pixel cell for Bits Allocated > 8, else 16-bit words when the VR is OW."""
    bits = int(ds.BitsAllocated)
    if bits > 8:
        return bits // 8
    return 2 if vr == "OW" else 1


def swap_to_little_endian(ds: Dataset) -> None:
    """Byte-swap, in place, the binary values of a data set read as Explicit VR Big Endian
    (items of sequences too: an Icon Image Sequence item has its own Pixel Data)."""
    for element in ds:
        if element.VR == "SQ":
            for item in element.value:
                swap_to_little_endian(item)
        elif isinstance(element.value, bytes | bytearray):
            if element.tag == PIXEL_DATA and "BitsAllocated" in ds:
                element.value = swap_bytes(bytes(element.value), pixel_unit(ds, element.VR))
            elif element.VR in _VALUE_WIDTH:
                element.value = swap_bytes(bytes(element.value), _VALUE_WIDTH[element.VR])
