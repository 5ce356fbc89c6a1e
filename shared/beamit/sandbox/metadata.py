"""Study metadata in the DICOM JSON Model (PS3.18 Annex F), without making any bulk data.

:func:`generate_study_metadata` renders the same plans as the data-set generator
(:mod:`beamit.sandbox.datasets`), straight to DICOM JSON: an object keyed by the 8 upper-case
hex digits of each tag, each value ``{"vr": ..., "Value": [...]}`` (PS3.18 §F.2.2), sorted by
tag.  Person names are ``{"Alphabetic", "Ideographic", "Phonetic"}`` objects (§F.2.2), AT
values hex strings, IS/DS/binary-integer values JSON numbers.  Following §F.2.5, an empty
attribute has no ``"Value"`` (also an empty sequence) and an empty value inside a multi-valued
attribute is ``null`` (``\\ISO 2022 IR 87`` -> ``[null, "ISO 2022 IR 87"]``).  pydicom's own
``to_json_dict`` differs on those two points only: it writes ``"Value": []`` and ``""``.

Attributes are split by level, as a QIDO-RS answer or a search index wants them:

* :attr:`StudyMetadata.attributes` - Patient and Study IE attributes plus the study
  aggregates of PS3.18 Table 10.6.3-3 (:data:`STUDY_AGGREGATES`);
* :attr:`SeriesMetadata.attributes` - Series, Equipment and Frame of Reference IE attributes
  plus Number of Series Related Instances;
* :attr:`SeriesMetadata.instances` - the instance-level attributes of each instance, made on
  first access (for 50,000 studies, most of the time is spent there).

:meth:`StudyMetadata.instance_metadata` merges the three levels (without the aggregates): the
WADO-RS metadata of each instance, i.e. its data set minus Pixel Data / Encapsulated Document.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from beamit.sandbox.config import SandboxConfig
from beamit.sandbox.plan import Attributes, OfStudyPlan, SeriesPlan, StudyPlan, Value, element_spec
from beamit.sandbox.studies import plan_study

__all__ = [
    "SERIES_AGGREGATES",
    "STUDY_AGGREGATES",
    "DicomJson",
    "SeriesMetadata",
    "StudyMetadata",
    "generate_study_metadata",
    "render_json",
    "study_metadata",
]

DicomJson: TypeAlias = dict[str, dict[str, Any]]

STUDY_AGGREGATES = ("00080061", "00080062", "00201206", "00201208")
"""Modalities in Study, SOP Classes in Study, Number of Study Related Series and Instances."""
SERIES_AGGREGATES = ("00201209",)
"""Number of Series Related Instances."""

_INTEGER_VRS = frozenset({"IS", "SL", "SS", "SV", "UL", "US", "UV"})
_FLOAT_VRS = frozenset({"DS", "FD", "FL"})
_PN_GROUPS = ("Alphabetic", "Ideographic", "Phonetic")


def _person_name(value: str) -> dict[str, str]:
    groups = value.split("=")
    while len(groups) > 1 and not groups[-1]:
        groups.pop()
    return dict(zip(_PN_GROUPS, groups, strict=False))


def _element(vr: str, value: Value) -> dict[str, Any]:
    if isinstance(value, str):
        if not value:
            return {"vr": vr}
        return {"vr": vr, "Value": [_person_name(value) if vr == "PN" else value]}
    if isinstance(value, int | float):
        if vr == "AT":
            return {"vr": vr, "Value": [f"{value:08X}"]}
        return {"vr": vr, "Value": [float(value) if vr in _FLOAT_VRS else int(value)]}
    if not isinstance(value, list | tuple) or not value:
        return {"vr": vr}
    if vr == "SQ":
        return {"vr": vr, "Value": [render_json(item) for item in value]}
    if vr == "PN":
        return {"vr": vr, "Value": [_person_name(str(v)) for v in value]}
    if vr == "AT":
        return {"vr": vr, "Value": [f"{v:08X}" for v in value]}
    if vr in _INTEGER_VRS:
        return {"vr": vr, "Value": [int(v) for v in value]}
    if vr in _FLOAT_VRS:
        return {"vr": vr, "Value": [float(v) for v in value]}
    return {"vr": vr, "Value": [None if v == "" else v for v in value]}


_SPECS: dict[str, tuple[str, str]] = {}


def _render(attributes: Attributes) -> DicomJson:
    rendered = {}
    specs = _SPECS
    for keyword, value in attributes.items():
        spec = specs.get(keyword)
        if spec is None:
            _, vr, key = element_spec(keyword)
            spec = specs[keyword] = (vr, key)
        vr, key = spec
        if type(value) is str and value and vr != "PN":  # most values: inline, for speed
            rendered[key] = {"vr": vr, "Value": [value]}
        else:
            rendered[key] = _element(vr, value)
    return rendered


def render_json(attributes: Attributes) -> DicomJson:
    """``attributes`` (keyword -> value, see :mod:`beamit.sandbox.plan`) as DICOM JSON."""
    return dict(sorted(_render(attributes).items()))


def _count(keyword: str, value: int | Sequence[str]) -> tuple[str, dict[str, Any]]:
    _, vr, key = element_spec(keyword)
    return key, _element(vr, value if isinstance(value, int) else list(value))


@dataclass(frozen=True)
class SeriesMetadata:
    """One series: its attributes and, made on first access, its instances'."""

    plan: SeriesPlan
    attributes: DicomJson

    @property
    def instance_count(self) -> int:
        return self.plan.instance_count

    @property
    def series_uid(self) -> str:
        return self.plan.series_uid

    @functools.cached_property
    def instances(self) -> tuple[DicomJson, ...]:
        """Instance-level attributes of each instance, in Instance Number order."""
        common = render_json(self.plan.instance_common)
        made = []
        order: list[str] | None = None
        for index in range(self.plan.instance_count):
            merged = {**common, **_render(self.plan.instance_attributes(index))}
            if order is None:
                order = sorted(merged)
            made.append({key: merged[key] for key in order})
        return tuple(made)


@dataclass(frozen=True)
class StudyMetadata(OfStudyPlan):
    """One study in DICOM JSON: study attributes (with aggregates) and its series."""

    plan: StudyPlan
    attributes: DicomJson
    series: tuple[SeriesMetadata, ...]

    def instance_metadata(self) -> Iterator[DicomJson]:
        """Each instance's whole data set (no bulk data, no aggregates), series by series."""
        study = {k: v for k, v in self.attributes.items() if k not in STUDY_AGGREGATES}
        for series in self.series:
            own = {k: v for k, v in series.attributes.items() if k not in SERIES_AGGREGATES}
            for instance in series.instances:
                yield dict(sorted({**study, **own, **instance}.items()))


def study_metadata(plan: StudyPlan) -> StudyMetadata:
    """The DICOM JSON of a planned study (instances rendered lazily)."""
    series = tuple(
        SeriesMetadata(s, dict(sorted([*render_json(s.attributes).items(),
                                       _count("NumberOfSeriesRelatedInstances", s.instance_count)])))
        for s in plan.series
    )
    aggregates = [
        _count("ModalitiesInStudy", plan.modalities),
        _count("SOPClassesInStudy", plan.sop_classes),
        _count("NumberOfStudyRelatedSeries", len(plan.series)),
        _count("NumberOfStudyRelatedInstances", plan.instance_count),
    ]
    return StudyMetadata(plan, dict(sorted([*render_json(plan.attributes).items(), *aggregates])), series)


def generate_study_metadata(
    seed: int, count: int, config: SandboxConfig | None = None, *, start: int = 0
) -> Iterator[StudyMetadata]:
    """Metadata of studies ``start`` .. ``start + count - 1`` of generator ``seed``.

    The same seed and configuration give the same UIDs and attributes as
    :func:`beamit.sandbox.generate_studies`; no pixel data is made.
    """
    config = config or SandboxConfig()
    for index in range(start, start + count):
        yield study_metadata(plan_study(seed, index, config))
