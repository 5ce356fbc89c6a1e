"""The plan of a synthetic study: its attributes by information entity, before any encoding.

The plan follows the composite information model of PS3.3 §A.1.2: a study (Patient and Study
IEs) holds series (Series, Equipment and Frame of Reference IEs), a series holds instances
(Image or Document IE).  Both outputs of the generator are rendered from the same plan, so
they agree by construction: :mod:`beamit.sandbox.datasets` builds pydicom data sets (adding
the bulk data), :mod:`beamit.sandbox.metadata` DICOM JSON (without it).

Attribute values are plain Python values keyed by PS3.6 keyword (:data:`Attributes`):

* ``str`` for the string VRs (a PN value with its component groups joined by ``=``);
* ``int`` for IS, US, UL, SS, SL and AT (the tag as an integer), ``float`` for DS, FD, FL;
* a ``list`` of those for a multi-valued attribute, ``""`` for an empty value inside one;
* a ``list`` of :data:`Attributes` for a sequence (SQ), one per item;
* ``None``, ``""`` or ``[]`` for an attribute that is present but empty (Type 2).
"""

from __future__ import annotations

import datetime
import functools
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeAlias

from pydicom.datadict import dictionary_VR, tag_for_keyword

from beamit.sandbox.config import Kind, SandboxConfig
from beamit.sandbox.patients import Patient
from beamit.sandbox.uids import derived_uid

__all__ = [
    "Attributes",
    "BulkData",
    "Protocol",
    "SeriesPlan",
    "StudyContext",
    "StudyPlan",
    "Value",
    "element_spec",
    "format_time",
]

Value: TypeAlias = "str | int | float | None | Sequence[str | int | float] | Sequence[Attributes]"
Attributes: TypeAlias = "Mapping[str, Value]"
BulkData: TypeAlias = "dict[str, tuple[str, bytes]]"
"""Bulk data elements of one instance: keyword -> (VR, value)."""


@functools.cache
def element_spec(keyword: str) -> tuple[int, str, str]:
    """``(tag, VR, DICOM JSON key)`` of a PS3.6 keyword."""
    tag = tag_for_keyword(keyword)
    if tag is None:
        raise KeyError(f"{keyword!r} is not a PS3.6 keyword")
    return tag, dictionary_VR(tag), f"{tag:08X}"


def format_time(seconds: float) -> str:
    """A TM value ``HHMMSS`` (``HHMMSS.FFF`` with a fraction) for ``seconds`` after midnight."""
    millis = round(seconds * 1000) % 86_400_000
    whole, fraction = divmod(millis, 1000)
    hours, rest = divmod(whole, 3600)
    text = f"{hours:02d}{rest // 60:02d}{rest % 60:02d}"
    return f"{text}.{fraction:03d}" if fraction else text


@dataclass(frozen=True)
class Protocol:
    """The procedure a study records: Study Description (LO) and what the planner makes of it."""

    kind: Kind | None
    description: str
    body_part: str | None
    variant: str
    contrast: bool = False


@dataclass(frozen=True)
class SeriesPlan:
    """One series: its own attributes and how to make each of its instances.

    ``attributes`` are the Series, Equipment and Frame of Reference IE attributes.
    :attr:`instance_common` are the instance-level attributes every instance of the series
    shares (SOP Class UID and what ``make_common()`` returns, made on first use, so that
    study- and series-level metadata cost nothing of them); ``instance_attributes(i)`` the
    ones that vary (SOP Instance UID, Instance Number, position ...) for the ``i``-th
    instance (0-based); ``bulk_data(i)`` its Pixel Data or Encapsulated Document.

    Planners draw every random value before they return, never inside these callables, so
    that what a plan gives does not depend on what was asked of it first.
    """

    kind: Kind
    sop_class_uid: str
    attributes: Attributes
    instance_count: int
    make_common: Callable[[], Attributes]
    instance_attributes: Callable[[int], Attributes]
    bulk_data: Callable[[int], BulkData]

    @functools.cached_property
    def instance_common(self) -> Attributes:
        return {"SOPClassUID": self.sop_class_uid, **self.make_common()}

    @property
    def series_uid(self) -> str:
        return str(self.attributes["SeriesInstanceUID"])

    @property
    def modality(self) -> str:
        return str(self.attributes["Modality"])


@dataclass(frozen=True)
class StudyPlan:
    """Study ``index`` of generator ``seed``: Patient and Study IE attributes, and the series."""

    seed: int
    index: int
    patient: Patient
    protocol: Protocol
    attributes: Attributes
    series: tuple[SeriesPlan, ...]

    @property
    def study_uid(self) -> str:
        return str(self.attributes["StudyInstanceUID"])

    @property
    def instance_count(self) -> int:
        return sum(series.instance_count for series in self.series)

    @property
    def modalities(self) -> list[str]:
        """Modalities in Study (0008,0061): each modality once, sorted."""
        return sorted({series.modality for series in self.series})

    @property
    def sop_classes(self) -> list[str]:
        """SOP Classes in Study (0008,0062): each SOP class once, in series order."""
        return list(dict.fromkeys(series.sop_class_uid for series in self.series))


@dataclass(frozen=True)
class StudyContext:
    """What a series planner knows of its study."""

    seed: int
    index: int
    config: SandboxConfig
    patient: Patient
    protocol: Protocol
    study_uid: str
    study_date: datetime.date
    study_seconds: int
    """Study Time as seconds after midnight."""

    @staticmethod
    def study_uid_of(seed: int, index: int) -> str:
        """Study Instance UID of study ``index`` of generator ``seed``."""
        return derived_uid(seed, index, "study")

    @functools.cached_property
    def date(self) -> str:
        """Study Date as a DA value."""
        return self.study_date.strftime("%Y%m%d")

    def time(self, offset_seconds: float = 0.0) -> str:
        """A TM value ``offset_seconds`` after the start of the study."""
        return format_time(self.study_seconds + offset_seconds)

    def uid(self, *parts: object) -> str:
        """The UID of the object at ``parts`` in this study (see :mod:`beamit.sandbox.uids`)."""
        return derived_uid(self.seed, self.index, *parts)

    def rng(self, *parts: object) -> random.Random:
        """A random generator of its own for ``parts`` of this study."""
        name = "/".join(str(part) for part in (self.seed, self.index, *parts))
        return random.Random(f"beamit-sandbox/{name}")

    def pixel_seed(self, series_number: int) -> list[int]:
        """A :class:`numpy.random.SeedSequence` entropy for the pixels of a series."""
        return [self.seed, self.index, series_number]

    def equipment(self, model: str, station: str) -> dict[str, Value]:
        """General Equipment module (PS3.3 §C.7.5.1) of the study's institution."""
        return {
            "Manufacturer": "BeamIt Sandbox",
            "InstitutionName": self.patient.institution,
            "StationName": station,
            "ManufacturerModelName": model,
            "SoftwareVersions": "synthetic-1",
        }


class OfStudyPlan:
    """What a generated study (data sets or DICOM JSON) tells of its plan."""

    plan: StudyPlan

    @property
    def index(self) -> int:
        return self.plan.index

    @property
    def study_uid(self) -> str:
        return self.plan.study_uid

    @property
    def patient(self) -> Patient:
        return self.plan.patient

    @property
    def instance_count(self) -> int:
        return self.plan.instance_count
