"""Where each frame's bytes sit inside a stored Part 10 file, recorded once at ingest.

WADO-RS frame retrieval then reads just those byte ranges from Cloud Storage. Native
(uncompressed) Pixel Data frames are fixed-size slices of the value (PS3.5 §8.1.1);
encapsulated frames are one or more fragments (PS3.5 §A.4), grouped into frames with the
Basic Offset Table, the one-fragment-per-frame rule, or JPEG start-of-image markers.
Deflated transfer syntaxes compress the whole data set, so they get no index: their
frames are decoded from the whole object instead.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO

from beamit.dicomweb.dicom_json import element_value
from beamit.dicomweb.pixel_limits import COLUMNS, NUMBER_OF_FRAMES, ROWS, SAMPLES_PER_PIXEL

if TYPE_CHECKING:  # pydicom only when indexing at ingest: reading a stored index needs none of it
    from pydicom.dataset import Dataset
    from pydicom.uid import UID

PIXEL_DATA = 0x7FE00010
BITS_ALLOCATED = 0x00280100
ITEM = 0xFFFEE000
SEQUENCE_DELIMITER = 0xFFFEE0DD
UNDEFINED_LENGTH = 0xFFFFFFFF
_JPEG_SOI = b"\xff\xd8"


@dataclass(frozen=True)
class PixelIndex:
    """Byte ranges of frames within the stored object.

    ``fragments`` is a flat list [offset0, length0, offset1, length1, ...] and
    ``frame_starts[i]`` the index of frame i's first fragment (Firestore cannot store
    nested arrays). Native data has one fragment per frame.
    """

    encapsulated: bool
    value_offset: int
    fragments: list[int] = field(default_factory=list)
    frame_starts: list[int] = field(default_factory=list)

    @property
    def frame_count(self) -> int:
        return len(self.frame_starts)

    def frame_ranges(self, frame_number: int) -> list[tuple[int, int]]:
        """(offset, length) of each fragment of 1-based ``frame_number``."""
        if not 1 <= frame_number <= self.frame_count:
            raise IndexError(frame_number)
        first = self.frame_starts[frame_number - 1]
        last = self.frame_starts[frame_number] if frame_number < self.frame_count else len(self.fragments) // 2
        return [(self.fragments[2 * i], self.fragments[2 * i + 1]) for i in range(first, last)]

    def to_record(self) -> dict[str, Any]:
        return {
            "encapsulated": self.encapsulated,
            "valueOffset": self.value_offset,
            "fragments": self.fragments,
            "frameStarts": self.frame_starts,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> PixelIndex:
        return cls(
            bool(record["encapsulated"]),
            int(record["valueOffset"]),
            list(record["fragments"]),
            list(record["frameStarts"]),
        )


def native_frame_length(ds: Dataset) -> int:
    """Bytes per frame of native Pixel Data (PS3.5 §8.1.1); BitsAllocated 1 is bit-packed."""
    rows, columns = int(element_value(ds, ROWS)), int(element_value(ds, COLUMNS))
    samples = int(element_value(ds, SAMPLES_PER_PIXEL) or 1)
    bits = int(element_value(ds, BITS_ALLOCATED))
    if bits == 1:
        return (rows * columns * samples + 7) // 8
    return rows * columns * samples * (bits // 8)


def build_pixel_index(ds: Dataset, fp: BinaryIO) -> PixelIndex | None:
    """Index the Pixel Data of ``ds`` read (with deferred values) from ``fp``."""
    from pydicom.uid import UID

    transfer_syntax = UID(ds.file_meta.get("TransferSyntaxUID", ""))
    if PIXEL_DATA not in ds or transfer_syntax.is_deflated:
        return None
    raw = ds.get_item(PIXEL_DATA, keep_deferred=True)
    value_tell = getattr(raw, "value_tell", None)
    length = getattr(raw, "length", None)  # a RawDataElement: the value was not read
    if value_tell is None or length is None:
        return None
    frames = int(element_value(ds, NUMBER_OF_FRAMES) or 1)
    if length != UNDEFINED_LENGTH:
        frame_length = native_frame_length(ds)
        if frame_length * frames > length or int(element_value(ds, BITS_ALLOCATED)) == 1 and frames > 1:
            return None  # malformed or bit-packed across frames: decode from the whole object
        fragments: list[int] = []
        for i in range(frames):
            fragments += [value_tell + i * frame_length, frame_length]
        return PixelIndex(False, value_tell, fragments, list(range(frames)))
    return _encapsulated_index(fp, value_tell, frames, transfer_syntax)


def _read_items(fp: BinaryIO, start: int) -> list[tuple[int, int]]:
    """(value offset, length) of each item of an encapsulated Pixel Data value."""
    items: list[tuple[int, int]] = []
    fp.seek(start)
    while True:
        header = fp.read(8)
        if len(header) < 8:
            raise ValueError("encapsulated Pixel Data ends without a Sequence Delimitation Item")
        group, element, length = struct.unpack("<HHI", header)
        tag = (group << 16) | element
        if tag == SEQUENCE_DELIMITER:
            return items
        if tag != ITEM or length == UNDEFINED_LENGTH:
            raise ValueError("malformed item in encapsulated Pixel Data")
        items.append((fp.tell(), length))
        fp.seek(length, 1)


def _encapsulated_index(fp: BinaryIO, value_tell: int, frames: int, ts: UID) -> PixelIndex | None:
    items = _read_items(fp, value_tell)
    if not items:
        raise ValueError("encapsulated Pixel Data has no Basic Offset Table item")
    (bot_offset, bot_length), fragments = items[0], items[1:]
    if not fragments:
        raise ValueError("encapsulated Pixel Data has no fragments")
    flat = [v for offset, length in fragments for v in (offset, length)]
    if frames == 1:
        return PixelIndex(True, value_tell, flat, [0])
    if len(fragments) == frames:
        return PixelIndex(True, value_tell, flat, list(range(frames)))
    if bot_length >= 4 * frames:
        fp.seek(bot_offset)
        offsets = struct.unpack(f"<{frames}I", fp.read(4 * frames))
        # BOT offsets count from the first fragment's item tag (PS3.5 §A.4).
        first_item = fragments[0][0] - 8
        starts = {offset - 8 - first_item: i for i, (offset, _) in enumerate(fragments)}
        if all(o in starts for o in offsets):
            return PixelIndex(True, value_tell, flat, [starts[o] for o in offsets])
    if ts.startswith("1.2.840.10008.1.2.4."):  # JPEG family: each frame begins with SOI
        starts_list = []
        for i, (offset, _) in enumerate(fragments):
            fp.seek(offset)
            if fp.read(2) == _JPEG_SOI:
                starts_list.append(i)
        if len(starts_list) == frames and starts_list[0] == 0:
            return PixelIndex(True, value_tell, flat, starts_list)
    return None
