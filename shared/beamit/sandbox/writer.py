"""Part 10 files (PS3.10 §7) of synthetic instances: bytes, files, directory trees.

Files are written with ``dcmwrite(..., enforce_file_format=True)``: 128-byte preamble,
``DICM`` prefix, File Meta Information group with its group length and version, then the
data set in the transfer syntax the File Meta Information names.  Nothing depends on the
clock or the machine, so the same seed gives byte-identical files.

:func:`write_study` lays a study out as ``<directory>/<Study Instance UID>/<Series Instance
UID>/<SOP Instance UID>.dcm``, so any number of studies can share a directory.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from pathlib import Path

from pydicom import dcmwrite
from pydicom.dataset import Dataset

from beamit.sandbox.datasets import SyntheticStudy

__all__ = ["instance_path", "part10_bytes", "write_dataset", "write_studies", "write_study"]


def part10_bytes(dataset: Dataset) -> bytes:
    """``dataset`` as a Part 10 file, in memory."""
    buffer = io.BytesIO()
    dcmwrite(buffer, dataset, enforce_file_format=True)
    return buffer.getvalue()


def instance_path(directory: str | os.PathLike[str], dataset: Dataset) -> Path:
    """Where :func:`write_study` puts ``dataset`` under ``directory``."""
    series = Path(directory) / str(dataset.StudyInstanceUID) / str(dataset.SeriesInstanceUID)
    return series / f"{dataset.SOPInstanceUID}.dcm"


def write_dataset(dataset: Dataset, path: str | os.PathLike[str]) -> Path:
    """Write ``dataset`` as a Part 10 file at ``path`` (parent directories made)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    dcmwrite(target, dataset, enforce_file_format=True)
    return target


def write_study(study: SyntheticStudy, directory: str | os.PathLike[str]) -> list[Path]:
    """Write every instance of ``study`` under ``directory``; return the paths, in order."""
    return [write_dataset(dataset, instance_path(directory, dataset)) for dataset in study.datasets()]


def write_studies(studies: Iterable[SyntheticStudy], directory: str | os.PathLike[str]) -> list[Path]:
    """:func:`write_study` for each study."""
    return [path for study in studies for path in write_study(study, directory)]
