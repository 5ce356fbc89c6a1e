"""Part 10 output: byte-identical for a seed, any transfer syntax the config allows."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pydicom

from beamit.sandbox import Kind, SandboxConfig, generate_studies, generate_study, part10_bytes, write_study
from beamit.sandbox.writer import write_studies

TINY = SandboxConfig(scale=0.125, ct_slices=3, mr_slices=2, us_frames=2, projection_shape=(320, 256))


def tree(directory: Path) -> dict[str, bytes]:
    return {str(path.relative_to(directory)): path.read_bytes() for path in sorted(directory.rglob("*.dcm"))}


def test_same_seed_byte_identical_files(tmp_path: Path) -> None:
    first = write_studies(generate_studies(7, 6, TINY), tmp_path / "a")
    second = write_studies(generate_studies(7, 6, TINY), tmp_path / "b")
    assert len(first) == len(second) > 6
    assert tree(tmp_path / "a") == tree(tmp_path / "b")


def test_layout_and_part10_structure(tmp_path: Path) -> None:
    study = generate_study(7, 0, TINY)
    paths = write_study(study, tmp_path)
    assert len(paths) == study.instance_count
    for path in paths:
        data = path.read_bytes()
        assert data[128:132] == b"DICM"
        ds = pydicom.dcmread(path)
        assert path == tmp_path / ds.StudyInstanceUID / ds.SeriesInstanceUID / f"{ds.SOPInstanceUID}.dcm"
        assert ds.file_meta.ImplementationVersionName == "BEAMIT_SBX_1"


_DIGEST = """
from hashlib import sha256
from beamit.sandbox import Kind, SandboxConfig, generate_study, part10_bytes
config = SandboxConfig(kinds=(Kind.US, Kind.SR, Kind.PDF), scale=0.125, us_frames=2)
digest = sha256()
for index in range(3):
    for ds in generate_study(5, index, config).datasets():
        digest.update(part10_bytes(ds))
print(digest.hexdigest())
"""


def test_output_does_not_depend_on_hash_randomisation() -> None:
    config = SandboxConfig(kinds=(Kind.US, Kind.SR, Kind.PDF), scale=0.125, us_frames=2)
    digest = hashlib.sha256()
    for index in range(3):
        for ds in generate_study(5, index, config).datasets():
            digest.update(part10_bytes(ds))
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    result = subprocess.run([sys.executable, "-c", _DIGEST], env=env, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == digest.hexdigest()
