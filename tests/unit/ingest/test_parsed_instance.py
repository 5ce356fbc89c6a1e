"""A parsed instance parked while a large request streams gives back exactly its DICOM JSON."""

from __future__ import annotations

import io

from beamit.ingest.instance import parse_instance
from beamit.sandbox import SandboxConfig, generate_studies, part10_bytes


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
