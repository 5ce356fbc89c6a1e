"""Synthetic DICOM studies for the sandbox, the dev stack, tests and benchmarks (no PHI).

Deterministic: the same seed and :class:`SandboxConfig` give the same studies, UIDs and
byte-identical Part 10 files, on any machine; no global random state is used.

    from beamit.sandbox import SandboxConfig, generate_studies, write_study

    for study in generate_studies(seed=7, count=10, config=SandboxConfig(scale=0.125)):
        write_study(study, "out/")           # Part 10 files
        for dataset in study.datasets():     # or pydicom data sets, e.g. for STOW-RS
            ...

    for study in generate_study_metadata(seed=7, count=50_000):   # DICOM JSON, no pixels
        study.attributes, [series.attributes for series in study.series]

Modules: :mod:`~beamit.sandbox.patients` (names, character sets), :mod:`~beamit.sandbox.studies`
(study assembly), :mod:`~beamit.sandbox.imaging` and :mod:`~beamit.sandbox.projection`
(CT, MR, US, CR, DX series), :mod:`~beamit.sandbox.reports` (Basic Text SR, Encapsulated PDF),
:mod:`~beamit.sandbox.phantom`, :mod:`~beamit.sandbox.radiograph`,
:mod:`~beamit.sandbox.ultrasound` and :mod:`~beamit.sandbox.pdf` (pixels and documents),
:mod:`~beamit.sandbox.metadata` (DICOM JSON), :mod:`~beamit.sandbox.datasets` (pydicom data
sets) and :mod:`~beamit.sandbox.writer` (Part 10).
"""

from beamit.sandbox.config import IMAGING_KINDS, REPORT_KINDS, Kind, SandboxConfig
from beamit.sandbox.datasets import SyntheticStudy, build_dataset, generate_studies, generate_study, iter_datasets
from beamit.sandbox.metadata import (
    SERIES_AGGREGATES,
    STUDY_AGGREGATES,
    DicomJson,
    SeriesMetadata,
    StudyMetadata,
    generate_study_metadata,
)
from beamit.sandbox.patients import CharacterSet, Patient, synthetic_patient
from beamit.sandbox.writer import part10_bytes, write_dataset, write_studies, write_study

__all__ = [
    "IMAGING_KINDS",
    "REPORT_KINDS",
    "SERIES_AGGREGATES",
    "STUDY_AGGREGATES",
    "CharacterSet",
    "DicomJson",
    "Kind",
    "Patient",
    "SandboxConfig",
    "SeriesMetadata",
    "StudyMetadata",
    "SyntheticStudy",
    "build_dataset",
    "generate_studies",
    "generate_study",
    "generate_study_metadata",
    "iter_datasets",
    "part10_bytes",
    "synthetic_patient",
    "write_dataset",
    "write_studies",
    "write_study",
]
