"""How many pixel samples an instance may declare, and one decode may produce.

A compressed frame is a few bytes that say how big it decodes: Rows and Columns (US, up to
65,535 each, PS3.3 §C.7.6.3), Samples per Pixel and Number of Frames (IS, up to 2³¹ - 1). A
decoder allocates what they say before it reads the bitstream, so 200 bytes of JPEG 2000 that
claim 65,535 x 65,535 x 3 samples ask for 24 GiB at 8 bits (a decompression bomb). BeamIt never
decodes at ingest, so it refuses such an instance there (STOW-RS failure reason 0xA700, "Out of
Resources", PS3.18 §10.5.3), and checks again before every decode of what is already stored.

- :attr:`PixelLimits.decode`: samples one decode may produce, a frame (rendered, thumbnails,
  uncompressed frames) or a whole instance (transcoding to Explicit VR Little Endian). Default
  2²⁷ = 134,217,728: at 16 bits 256 MiB, which the 1 GiB viewer and 2 GiB dicomweb functions
  survive with rendering's copies; 5.8 times the largest projection radiographs (mammography,
  4,096 x 5,625 = 23 M) and RGB photographs up to 44 megapixels. An instance whose frame is
  bigger is refused at ingest; a multi-frame instance whose frames fit but not all at once is
  stored, and retrieved as stored or frame by frame (transcoding it whole is a 406).
- :attr:`PixelLimits.instance`: samples an instance may declare over all its frames. Default
  2³⁵ (34 G samples): a whole-slide image of 170,000 RGB tiles of 256 x 256 fits.

``BEAMIT_MAX_DECODE_PIXELS`` and ``BEAMIT_MAX_INSTANCE_PIXELS`` set them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from beamit.dicomweb.dicom_json import ALWAYS_BULK_TAGS, element_value

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

DEFAULT_DECODE = 2**27
DEFAULT_INSTANCE = 2**35
ROWS, COLUMNS, SAMPLES_PER_PIXEL, NUMBER_OF_FRAMES = 0x00280010, 0x00280011, 0x00280002, 0x00280008


class TooManyPixels(ValueError):
    """Declared dimensions over a limit (the message says which, with numbers, no PHI)."""


@dataclass(frozen=True)
class PixelGeometry:
    """What a data set declares: samples per frame (Rows x Columns x Samples per Pixel) and frames."""

    rows: int
    columns: int
    samples: int
    frames: int

    @classmethod
    def of(cls, ds: Dataset) -> PixelGeometry | None:
        """The declared geometry, or ``None`` without pixel data."""
        if not any(tag in ds for tag in ALWAYS_BULK_TAGS):  # Pixel Data, Float or Double Float
            return None
        return cls.declared(ds)

    @classmethod
    def declared(cls, ds: Dataset) -> PixelGeometry:
        """What the Image Pixel attributes say (of a header read without its pixel data too)."""

        def number(tag: int, default: int) -> int:
            try:
                value = element_value(ds, tag)
                return default if value is None else max(0, int(value))
            except (TypeError, ValueError):
                return default

        return cls(number(ROWS, 0), number(COLUMNS, 0), number(SAMPLES_PER_PIXEL, 1),
                   max(1, number(NUMBER_OF_FRAMES, 1)))

    @property
    def frame_samples(self) -> int:
        return self.rows * self.columns * self.samples

    @property
    def total_samples(self) -> int:
        return self.frame_samples * self.frames

    def describe(self) -> str:
        return f"{self.rows} x {self.columns} x {self.samples} samples"


@dataclass(frozen=True)
class PixelLimits:
    decode: int = DEFAULT_DECODE
    instance: int = DEFAULT_INSTANCE

    def check_stored(self, ds: Dataset) -> None:
        """Raise :class:`TooManyPixels` unless an instance so declared may be stored."""
        geometry = PixelGeometry.of(ds)
        if geometry is None:
            return
        if geometry.frame_samples > self.decode:
            raise TooManyPixels(f"a frame of {geometry.describe()} is over the limit of {self.decode} "
                                "pixel samples per frame")
        if geometry.total_samples > self.instance:
            raise TooManyPixels(f"{geometry.frames} frames of {geometry.describe()} are over the limit of "
                                f"{self.instance} pixel samples per instance")

    def check_decode(self, ds: Dataset, frames: int = 1) -> None:
        """Raise :class:`TooManyPixels` unless decoding ``frames`` frames of ``ds`` at once fits."""
        geometry = PixelGeometry.declared(ds)
        wanted = geometry.frame_samples * frames
        if wanted > self.decode:
            many = f"{frames} frames of " if frames > 1 else "a frame of "
            raise TooManyPixels(f"decoding {many}{geometry.describe()} is over this server's limit of "
                                f"{self.decode} pixel samples")
