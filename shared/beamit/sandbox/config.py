"""What the sandbox generator makes: the kinds of study, their sizes, the encoding.

A :class:`SandboxConfig` is part of the generator's input together with the seed: the same
seed and configuration give byte-identical output; change either and the studies change.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass, field

from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    RLELossless,
)

from beamit.sandbox.patients import CharacterSet

__all__ = [
    "IMAGING_KINDS",
    "REPORT_KINDS",
    "SUPPORTED_TRANSFER_SYNTAXES",
    "Kind",
    "SandboxConfig",
]


class Kind(enum.StrEnum):
    """A kind of synthetic series, named by its modality (PS3.3 §C.7.3.1.1.1)."""

    CT = "CT"
    """CT Image Storage (PS3.3 §A.3): one axial series."""
    MR = "MR"
    """MR Image Storage (PS3.3 §A.4): T1 and T2 (and T1 post-contrast) axial series."""
    US = "US"
    """Ultrasound Multi-frame Image Storage (PS3.3 §A.7): one RGB cine loop."""
    CR = "CR"
    """Computed Radiography Image Storage (PS3.3 §A.2): MONOCHROME1 chest views."""
    DX = "DX"
    """Digital X-Ray Image Storage - For Presentation (PS3.3 §A.26): MONOCHROME2 chest views."""
    SR = "SR"
    """Basic Text SR Storage (PS3.3 §A.35.1): the report, added to every study."""
    PDF = "PDF"
    """Encapsulated PDF Storage (PS3.3 §A.45.1): the report as a PDF, added to every study."""

    @property
    def is_report(self) -> bool:
        return self in REPORT_KINDS


REPORT_KINDS = frozenset({Kind.SR, Kind.PDF})
IMAGING_KINDS = tuple(kind for kind in Kind if kind not in REPORT_KINDS)

SUPPORTED_TRANSFER_SYNTAXES = frozenset(
    {ExplicitVRLittleEndian, ImplicitVRLittleEndian, DeflatedExplicitVRLittleEndian, RLELossless}
)
"""Transfer syntaxes pydicom can write without optional encoders.  SR and PDF instances (no
Pixel Data) are always written in Explicit VR Little Endian when RLE Lossless is asked for."""


@dataclass(frozen=True)
class SandboxConfig:
    """Generator settings.

    Each study has one imaging kind (the imaging kinds of ``kinds``, in turn by study index)
    and one report series per report kind of ``kinds``; with no imaging kind a study is only
    its reports.  Image sizes are the full-size matrices (CT 512x512, MR 256x256, US 480x640,
    CR/DX ``projection_shape``) multiplied by ``scale`` (at least 8 pixels a side), so
    ``scale=0.125`` gives 64x64 CT slices for tests.
    """

    kinds: tuple[Kind, ...] = tuple(Kind)
    character_sets: tuple[CharacterSet, ...] = tuple(CharacterSet)
    ct_slices: int = 40
    """Slices of the CT series."""
    mr_slices: int = 16
    """Slices of each MR series."""
    us_frames: int = 30
    """Frames of the ultrasound cine loop."""
    scale: float = 1.0
    projection_shape: tuple[int, int] = (2500, 2048)
    """Rows and columns of a CR/DX image at ``scale`` 1."""
    study_years: tuple[int, int] = (2012, 2025)
    """First and last year of Study Date."""
    metadata_only: bool = False
    """Build data sets without bulk data (no Pixel Data, no Encapsulated Document)."""
    transfer_syntax: str = field(default=ExplicitVRLittleEndian)

    def __post_init__(self) -> None:
        kinds = tuple(Kind(kind) for kind in self.kinds)
        if not kinds or len(set(kinds)) != len(kinds):
            raise ValueError("kinds must name each kind at most once, and at least one")
        object.__setattr__(self, "kinds", kinds)
        sets = tuple(CharacterSet(charset) for charset in self.character_sets)
        if not sets or len(set(sets)) != len(sets):
            raise ValueError("character_sets must name each set at most once, and at least one")
        object.__setattr__(self, "character_sets", sets)
        for name in ("ct_slices", "mr_slices", "us_frames"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if not 0 < self.scale <= 4:
            raise ValueError("scale must be in (0, 4]")
        if len(self.projection_shape) != 2 or min(self.projection_shape) < 8:
            raise ValueError("projection_shape must be (rows, columns), each at least 8")
        first, last = self.study_years
        if not 1950 <= first <= last <= 9999:
            raise ValueError("study_years must be (first, last) with 1950 <= first <= last")
        if UID(self.transfer_syntax) not in SUPPORTED_TRANSFER_SYNTAXES:
            raise ValueError(f"unsupported transfer syntax {self.transfer_syntax}")
        object.__setattr__(self, "transfer_syntax", UID(self.transfer_syntax))

    @functools.cached_property
    def imaging_kinds(self) -> tuple[Kind, ...]:
        return tuple(kind for kind in self.kinds if not kind.is_report)

    @functools.cached_property
    def report_kinds(self) -> tuple[Kind, ...]:
        return tuple(kind for kind in Kind if kind in self.kinds and kind.is_report)

    def scaled(self, pixels: int) -> int:
        """``pixels`` at this configuration's scale, at least 8."""
        return max(8, round(pixels * self.scale))
