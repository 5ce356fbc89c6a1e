"""Generator settings and their validation."""

from __future__ import annotations

import pytest
from pydicom.uid import JPEGBaseline8Bit

from beamit.sandbox import CharacterSet, Kind, SandboxConfig


def test_defaults() -> None:
    config = SandboxConfig()
    assert config.kinds == tuple(Kind) and config.character_sets == tuple(CharacterSet)
    assert config.imaging_kinds == (Kind.CT, Kind.MR, Kind.US, Kind.CR, Kind.DX)
    assert config.report_kinds == (Kind.SR, Kind.PDF)
    assert config.scaled(512) == 512 and SandboxConfig(scale=0.125).scaled(512) == 64
    assert SandboxConfig(scale=0.001).scaled(512) == 8


def test_kinds_from_strings() -> None:
    assert SandboxConfig(kinds=("CT", "SR")).kinds == (Kind.CT, Kind.SR)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "arguments",
    [
        {"kinds": ()},
        {"kinds": (Kind.CT, Kind.CT)},
        {"kinds": ("XA",)},
        {"character_sets": ()},
        {"ct_slices": 0},
        {"us_frames": 0},
        {"scale": 0},
        {"projection_shape": (4, 4)},
        {"study_years": (2020, 2010)},
        {"transfer_syntax": JPEGBaseline8Bit},
    ],
)
def test_invalid_settings(arguments: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        SandboxConfig(**arguments)  # type: ignore[arg-type]
