"""The benchmark's data, from the deterministic sandbox generator (:mod:`beamit.sandbox`).

Every data set handed to dicomweb-client gets a 128-byte preamble: ``store_instances``
writes each data set with ``pydicom.dcmwrite`` as is, and a data set without a preamble is
written without the PS3.10 preamble and ``DICM`` prefix, which BeamIt refuses (0xC000)
and Orthanc accepts. The sandbox's own files (:func:`beamit.sandbox.part10_bytes`) always
have it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pydicom.dataset import Dataset

from beamit.bench.budget import Deadline
from beamit.dicomweb.multipart import PartOut, encode_parts, multipart_content_type, new_boundary
from beamit.sandbox import (
    Kind,
    SandboxConfig,
    SyntheticStudy,
    build_dataset,
    generate_studies,
    generate_study,
    part10_bytes,
)

CT_SEED = 20260301
"""Seed of the CT studies; study indexes below say which is which."""
SERIES_STUDY = 0
WARM_UP_STUDY = 1
PROFILE_STUDY = 2
FIRST_FRAME_STUDIES = 10
BIG_STOW_STUDIES = 100
EVENT_STUDIES = 200
TINY_SEED = 20260302
"""Seed of the metadata-only studies of the QIDO tenant (index = load order)."""
COLD_START_TINY = 10_000_000
DICOM = "application/dicom"


def with_preamble(dataset: Dataset) -> Dataset:
    dataset.preamble = b"\0" * 128
    return dataset


def ct_study(index: int, slices: int) -> SyntheticStudy:
    """A 512x512 16-bit CT series of ``slices`` slices (one study, one series)."""
    return generate_study(CT_SEED, index, SandboxConfig(kinds=(Kind.CT,), ct_slices=slices))


def small_ct_study(index: int, slices: int) -> SyntheticStudy:
    """A CT series of ``slices`` 128x128 slices (a quarter of the full size in each direction)."""
    return generate_study(CT_SEED, index, SandboxConfig(kinds=(Kind.CT,), ct_slices=slices, scale=0.25))


def ct_datasets(index: int, slices: int) -> list[Dataset]:
    return [with_preamble(dataset) for dataset in ct_study(index, slices).datasets()]


def encoded_size(dataset: Dataset) -> int:
    return len(part10_bytes(dataset))


class StreamedStow:
    """A STOW-RS body made while it is sent (chunked): a study's instances, one part each.

    Once ``deadline`` has passed the body ends without its close delimiter (:attr:`cut`): the
    server sees a truncated request and stores nothing, and the client stops waiting.
    """

    def __init__(self, study: SyntheticStudy, deadline: Deadline | None = None) -> None:
        self.study = study
        self.deadline = deadline
        self.boundary = new_boundary()
        self.bytes_sent = 0
        self.instances = 0
        self.cut = False

    @property
    def content_type(self) -> str:
        return multipart_content_type(DICOM, self.boundary)

    def _parts(self) -> Iterator[PartOut]:
        for dataset in self.study.datasets():
            data = part10_bytes(dataset)
            self.instances += 1
            yield PartOut(DICOM, data)

    def body(self) -> Iterator[bytes]:
        for chunk in encode_parts(self._parts(), self.boundary):
            if self.deadline is not None and self.deadline.expired():
                self.cut = True
                return
            self.bytes_sent += len(chunk)
            yield chunk


@dataclass(frozen=True)
class TinyStudy:
    """What the QIDO query mix needs to know about one loaded study."""

    study_uid: str
    series_uid: str
    family_name: str
    study_date: str
    modality: str


TINY_CONFIG = SandboxConfig(metadata_only=True)


def tiny_studies(start: int, count: int) -> tuple[list[Dataset], list[TinyStudy]]:
    """One metadata-only instance (no Pixel Data) of the first series of each of ``count``
    studies from ``start``: the rows a large tenant's index holds, at the cost of a few KB each."""
    datasets, studies = [], []
    for study in generate_studies(TINY_SEED, count, TINY_CONFIG, start=start):
        plan = study.plan
        dataset = with_preamble(build_dataset(plan, plan.series[0], 0, bulk_data=False))
        datasets.append(dataset)
        name = dataset.PatientName
        studies.append(
            TinyStudy(
                study_uid=str(dataset.StudyInstanceUID),
                series_uid=str(dataset.SeriesInstanceUID),
                family_name=str(name.family_name),
                study_date=str(dataset.StudyDate),
                modality=str(dataset.Modality),
            )
        )
    return datasets, studies
