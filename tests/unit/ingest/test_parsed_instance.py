"""A parsed instance parked while a large request streams gives back exactly its DICOM JSON."""

from __future__ import annotations

import io
import warnings

import pydicom
import pytest

from beamit.ingest.instance import parse_instance
from beamit.sandbox import SandboxConfig, generate_studies, part10_bytes
from tests.dicom_samples import pixel_sample_paths, reference_level_json


def test_parking_keeps_the_instance_json_and_drops_the_metadata() -> None:
    study = next(iter(generate_studies(9, 1, SandboxConfig(kinds=("MR",), scale=0.0625))))
    parsed = parse_instance(io.BytesIO(part10_bytes(next(iter(study.datasets())))))
    original = parsed.instance_json()
    assert original and parsed.metadata
    expected = dict(original)
    parsed.park()
    assert parsed.metadata == {} and parsed.instance == {}
    assert parsed.instance_json() == expected
    parsed.park()  # idempotent
    assert parsed.instance_json() == expected
    assert parsed.instance_json() is not parsed.instance_json()  # callers may keep or change their copy


def test_the_last_instances_keep_their_json_and_drop_the_metadata() -> None:
    study = next(iter(generate_studies(9, 1, SandboxConfig(kinds=("MR",), scale=0.0625))))
    parsed = parse_instance(io.BytesIO(part10_bytes(next(iter(study.datasets())))))
    expected = dict(parsed.instance_json())
    parsed.park(keep_instance=True)
    assert parsed.metadata == {}
    assert parsed.instance == expected and parsed.instance_json() == expected


@pytest.mark.parametrize("path", pixel_sample_paths(), ids=lambda p: p.name)
def test_level_json_is_what_pydicom_converts(path) -> None:
    """The study/series/instance DICOM JSON ingest takes from the instance metadata equals
    pydicom's own conversion of those attributes, for every sample (character sets, VRs,
    sequences, malformed values)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = path.read_bytes()
        ds = pydicom.dcmread(io.BytesIO(data))
        parsed = parse_instance(io.BytesIO(data))
        for level, got in (("study", parsed.study), ("series", parsed.series), ("instance", parsed.instance_json())):
            assert got == reference_level_json(ds, level), level
