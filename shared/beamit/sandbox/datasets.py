"""Synthetic studies as pydicom data sets: composite SOP instances of the IODs of PS3.3 Annex A.

A :class:`SyntheticStudy` is a planned study (:func:`~beamit.sandbox.studies.plan_study`);
:meth:`SyntheticStudy.datasets` builds its instances one at a time, each with the File Meta
Information of PS3.10 §7.1 (Media Storage SOP Class/Instance UID, Transfer Syntax UID,
Implementation Class UID and Version Name of the sandbox), ready for ``dcmwrite(...,
enforce_file_format=True)`` or a STOW-RS request.  Pixel Data is made when the instance is
built, so iterating over a large study holds one instance in memory at a time.

With ``config.metadata_only`` the data sets have no bulk data (no Pixel Data, no Encapsulated
Document): every other attribute is there, but they are not valid image or document
instances.  With ``config.transfer_syntax`` RLE Lossless, Pixel Data is compressed by
pydicom's own RLE encoder; SR and PDF instances stay in Explicit VR Little Endian.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import UID, ExplicitVRLittleEndian

from beamit.sandbox.config import SandboxConfig
from beamit.sandbox.metadata import StudyMetadata, study_metadata
from beamit.sandbox.plan import Attributes, OfStudyPlan, SeriesPlan, StudyPlan, element_spec
from beamit.sandbox.studies import plan_study
from beamit.sandbox.uids import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME

__all__ = ["SyntheticStudy", "build_dataset", "generate_studies", "generate_study", "iter_datasets"]


def _assign(dataset: Dataset, attributes: Attributes) -> None:
    for keyword, value in attributes.items():
        tag, vr, _ = element_spec(keyword)
        if vr == "SQ":
            items = value if isinstance(value, list | tuple) else []
            dataset.add_new(tag, vr, DicomSequence([_item(item) for item in items if isinstance(item, dict)]))
        else:
            dataset.add_new(tag, vr, list(value) if isinstance(value, tuple) else value)


def _item(attributes: Attributes) -> Dataset:
    item = Dataset()
    _assign(item, attributes)
    return item


def build_dataset(study: StudyPlan, series: SeriesPlan, index: int, *, bulk_data: bool = True,
                  transfer_syntax: str = ExplicitVRLittleEndian) -> Dataset:
    """Instance ``index`` (0-based) of ``series`` of ``study``, with File Meta Information."""
    if not 0 <= index < series.instance_count:
        raise IndexError(f"series has {series.instance_count} instances, not {index + 1}")
    dataset = Dataset()
    for attributes in (study.attributes, series.attributes, series.instance_common,
                       series.instance_attributes(index)):
        _assign(dataset, attributes)
    bulk = series.bulk_data(index) if bulk_data else {}
    for keyword, (vr, value) in bulk.items():
        dataset.add_new(element_spec(keyword)[0], vr, value)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(series.sop_class_uid)
    meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = UID(IMPLEMENTATION_CLASS_UID)
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME
    dataset.file_meta = meta
    syntax = UID(transfer_syntax)
    if syntax != ExplicitVRLittleEndian and "PixelData" in dataset:
        if syntax.is_compressed:
            dataset.compress(syntax, encoding_plugin="pydicom", generate_instance_uid=False)
        else:
            meta.TransferSyntaxUID = syntax
    return dataset


@dataclass(frozen=True)
class SyntheticStudy(OfStudyPlan):
    """One generated study: its plan, and the data sets and metadata made from it."""

    plan: StudyPlan
    config: SandboxConfig

    def datasets(self) -> Iterator[Dataset]:
        """Every instance, series by series, in Instance Number order; built as iterated."""
        for series in self.plan.series:
            for index in range(series.instance_count):
                yield build_dataset(self.plan, series, index, bulk_data=not self.config.metadata_only,
                                    transfer_syntax=self.config.transfer_syntax)

    def metadata(self) -> StudyMetadata:
        """The study in DICOM JSON (see :mod:`beamit.sandbox.metadata`)."""
        return study_metadata(self.plan)


def generate_study(seed: int, index: int, config: SandboxConfig | None = None) -> SyntheticStudy:
    """Study ``index`` (0-based) of generator ``seed``; the same arguments, the same study."""
    config = config or SandboxConfig()
    return SyntheticStudy(plan_study(seed, index, config), config)


def generate_studies(seed: int, count: int, config: SandboxConfig | None = None, *,
                     start: int = 0) -> Iterator[SyntheticStudy]:
    """Studies ``start`` .. ``start + count - 1`` of generator ``seed`` (planned lazily)."""
    config = config or SandboxConfig()
    for index in range(start, start + count):
        yield SyntheticStudy(plan_study(seed, index, config), config)


def iter_datasets(studies: Iterable[SyntheticStudy]) -> Iterator[Dataset]:
    """Every instance of every study, one at a time (e.g. for a STOW-RS client)."""
    for study in studies:
        yield from study.datasets()
