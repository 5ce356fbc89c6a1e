"""QIDO-RS search levels, matching keys and default return attributes.

Sources (PS3.18 2024e numbering; the result tables were 6.7.1-2, -2a and -2b in editions
before the 2019 restructuring of Part 18):

* Table 10.6.1-5 "Required Matching Attributes" - the keys every origin server matches on.
* §10.6.1.2.1 "Attribute/Value Pair Requirements" - which information-entity levels a
  resource may match on: Study IE attributes only for All Studies, All Series and All
  Instances; Series IE attributes only for Study's Series, All Series, Study's Instances and
  All Instances; Instance attributes only for the instance resources.  Put simply: a search
  matches on its own level and on each parent level that the request path does *not* fix.
  ``/series`` may match study attributes, ``/instances`` study and series attributes, but
  ``/studies/{study}/series`` only series attributes.  Patient attributes are study
  attributes (Study Root information model, PS3.4 C.6.2; see also CP-2583).
* Tables 10.6.3-3, 10.6.3-4 and 10.6.3-5 - the attributes returned for every match, plus
  §10.6.3.3.2/3: All Series also returns the study attributes, All Instances the study and
  series attributes, Study's Instances the series attributes.

BeamIt additions (for the QIDO-RS section of the conformance statement):

* Specific Character Set (0008,0005) is returned at every level (it was in the pre-2019
  tables; BeamIt's JSON is always UTF-8, ``ISO_IR 192``).
* Series results always carry Study Instance UID, instance results Study and Series Instance
  UID, so that a client can build WADO-RS URLs from any result.
* Extra matching keys that BeamIt indexes: study - Study Description, SOP Classes in Study,
  Patient's Birth Date, Patient's Sex, Issuer of Patient ID; series - Series Description,
  Body Part Examined, Institution Name; instance - Acquisition DateTime.

Attribute names resolve through the PS3.6 data dictionary (:mod:`.dictionary`): a keyword (``PatientName``,
case as in PS3.6) or an 8-digit hex tag (``00100010``, hex digits in either case), joined by
``.`` for an attribute inside a sequence (PS3.18 §8.3.4.1).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from beamit.dicomweb.qido.dictionary import all_keywords, keyword_for_tag, tag_for_keyword, vr_for_tag
from beamit.dicomweb.qido.errors import QueryError, printable_name

__all__ = [
    "COMBINED_DATE_TIME_PAIRS",
    "DEFAULT_RETURN_TAGS",
    "MATCHING_KEYS",
    "AttributePath",
    "MatchingKey",
    "SearchLevel",
    "attribute_level",
    "default_return_tags",
    "matchable_levels",
    "resolve_attribute",
    "resolve_matching_key",
    "tag_key",
]


class SearchLevel(enum.Enum):
    """The information-entity level a QIDO-RS search returns (PS3.18 Table 10.6.1-4)."""

    STUDY = "study"
    SERIES = "series"
    INSTANCE = "instance"

    @property
    def depth(self) -> int:
        """0 for study, 1 for series, 2 for instance."""
        return _DEPTH[self]

    @property
    def parents(self) -> tuple[SearchLevel, ...]:
        """The levels above this one, outermost first."""
        return tuple(level for level in SearchLevel if level.depth < self.depth)


_DEPTH = {SearchLevel.STUDY: 0, SearchLevel.SERIES: 1, SearchLevel.INSTANCE: 2}


def tag_key(tag: int) -> str:
    """The DICOM JSON key of ``tag``: 8 upper-case hex digits (PS3.18 §F.2.1.1)."""
    return f"{tag:08X}"


@dataclass(frozen=True)
class AttributePath:
    """An attribute, or an attribute inside (nested) sequences: ``00400275.00400009``.

    ``tags`` runs from the outermost sequence to the attribute itself; ``vr`` is the leaf's
    VR from PS3.6 (``""`` for a private tag).
    """

    tags: tuple[int, ...]
    keywords: tuple[str, ...]
    vr: str

    @property
    def tag(self) -> int:
        """The leaf attribute's tag."""
        return self.tags[-1]

    @property
    def top_tag(self) -> int:
        """The tag of the top-level element (the sequence, for a nested path)."""
        return self.tags[0]

    @property
    def keyword(self) -> str:
        """Dotted PS3.6 keywords, e.g. ``RequestAttributesSequence.ScheduledProcedureStepID``."""
        return ".".join(self.keywords)

    @property
    def key(self) -> str:
        """Dotted DICOM JSON keys, e.g. ``00400275.00400009``."""
        return ".".join(tag_key(tag) for tag in self.tags)

    @property
    def is_nested(self) -> bool:
        return len(self.tags) > 1

    def __str__(self) -> str:
        return f"{self.keyword} ({self.key})" if self.keyword else self.key


@dataclass(frozen=True)
class MatchingKey:
    """An attribute BeamIt can match on, at one level.

    ``ignore_case`` is BeamIt's documented deviation from PS3.4 C.2.2.2.4 (which makes
    matching case-sensitive for everything but PN): free-text descriptions are matched
    case-insensitively, because people type "chest" for "CHEST PA".  Codes (CS) and
    identifiers (SH/LO IDs) stay case-sensitive.  PN is always case-insensitive.
    """

    path: AttributePath
    level: SearchLevel
    required: bool
    """True for PS3.18 Table 10.6.1-5 keys, False for BeamIt's additional keys."""
    ignore_case: bool = False


_HEX_TAG = re.compile(r"[0-9A-Fa-f]{8}")


def _element(part: str, *, parameter: str) -> tuple[int, str]:
    """One dotted component: (tag, keyword or "")."""
    if _HEX_TAG.fullmatch(part):
        tag = int(part, 16)
        return tag, keyword_for_tag(tag)
    tag_or_none = tag_for_keyword(part)
    if tag_or_none is not None:
        return tag_or_none, part
    hint = _keyword_hint(part)
    raise QueryError(
        f"Unknown attribute '{printable_name(part)}' in query parameter "
        f"'{printable_name(parameter)}': expected a PS3.6 keyword or an 8-digit hex tag"
        f"{hint}.",
        parameter=parameter,
    )


def _keyword_hint(part: str) -> str:
    candidates = _keywords_by_fold().get(part.casefold(), ())
    if candidates:
        return f" (keywords are case-sensitive: did you mean {candidates[0]!r}?)"
    return ""


_KEYWORDS_BY_FOLD: dict[str, tuple[str, ...]] = {}


def _keywords_by_fold() -> Mapping[str, tuple[str, ...]]:
    if not _KEYWORDS_BY_FOLD:
        grouped: dict[str, list[str]] = {}
        for keyword in all_keywords():
            grouped.setdefault(keyword.casefold(), []).append(keyword)
        _KEYWORDS_BY_FOLD.update({k: tuple(v) for k, v in grouped.items()})
    return _KEYWORDS_BY_FOLD


def _vr(tag: int) -> str:
    vr = vr_for_tag(tag)
    # Ambiguous dictionary VRs ("US or SS", "OB or OW") never occur among matching keys;
    # keep the first alternative so the path is still usable for includefield.
    return vr.split(" or ")[0]


def resolve_attribute(name: str, *, parameter: str | None = None) -> AttributePath:
    """Resolve a keyword / hex tag, dotted for sequences, to an :class:`AttributePath`.

    Raises :class:`QueryError` naming ``parameter`` (default: ``name``) for an unknown
    keyword, a malformed tag, or a dotted path whose non-last components are not sequences.
    """
    parameter = name if parameter is None else parameter
    parts = name.split(".")
    if not name or any(not part for part in parts):
        raise QueryError(
            f"Malformed attribute '{printable_name(name)}' in query parameter "
            f"'{printable_name(parameter)}': expected a keyword or an 8-digit hex tag, "
            f"dotted for attributes inside sequences.",
            parameter=parameter,
        )
    resolved = [_element(part, parameter=parameter) for part in parts]
    tags = tuple(tag for tag, _ in resolved)
    for tag in tags[:-1]:
        if _vr(tag) != "SQ":
            raise QueryError(
                f"Malformed attribute '{printable_name(name)}' in query parameter "
                f"'{printable_name(parameter)}': {tag_key(tag)} is not a sequence, so no "
                f"attribute can follow it.",
                parameter=parameter,
            )
    keywords = tuple(keyword for _, keyword in resolved)
    return AttributePath(tags=tags, keywords=keywords if all(keywords) else (), vr=_vr(tags[-1]))


# --- the tables -----------------------------------------------------------------------------


def _path(*keywords: str) -> AttributePath:
    tags = []
    for keyword in keywords:
        tag = tag_for_keyword(keyword)
        if tag is None:  # pragma: no cover - guards the literal tables below
            raise AssertionError(keyword)
        tags.append(tag)
    return AttributePath(tags=tuple(tags), keywords=keywords, vr=_vr(tags[-1]))


def _keys(
    level: SearchLevel, *, required: Iterable[str], extra: Iterable[str], ignore_case: Iterable[str]
) -> list[MatchingKey]:
    folded = set(ignore_case)
    keys = [MatchingKey(_path(*k.split(".")), level, True, k in folded) for k in required] + [
        MatchingKey(_path(*k.split(".")), level, False, k in folded) for k in extra
    ]
    return keys


_STUDY = SearchLevel.STUDY
_SERIES = SearchLevel.SERIES
_INSTANCE = SearchLevel.INSTANCE

MATCHING_KEYS: Mapping[tuple[int, ...], MatchingKey] = {
    key.path.tags: key
    for key in (
        _keys(
            _STUDY,
            required=(
                "StudyDate",
                "StudyTime",
                "AccessionNumber",
                "ModalitiesInStudy",
                "ReferringPhysicianName",
                "PatientName",
                "PatientID",
                "StudyInstanceUID",
                "StudyID",
            ),
            extra=(
                "StudyDescription",
                "SOPClassesInStudy",
                "PatientBirthDate",
                "PatientSex",
                "IssuerOfPatientID",
            ),
            ignore_case=("StudyDescription",),
        )
        + _keys(
            _SERIES,
            required=(
                "Modality",
                "SeriesInstanceUID",
                "SeriesNumber",
                "PerformedProcedureStepStartDate",
                "PerformedProcedureStepStartTime",
                "RequestAttributesSequence.ScheduledProcedureStepID",
                "RequestAttributesSequence.RequestedProcedureID",
            ),
            extra=("SeriesDescription", "BodyPartExamined", "InstitutionName"),
            ignore_case=("SeriesDescription", "InstitutionName"),
        )
        + _keys(
            _INSTANCE,
            required=("SOPClassUID", "SOPInstanceUID", "InstanceNumber"),
            extra=("AcquisitionDateTime",),
            ignore_case=(),
        )
    )
}
"""Every attribute path BeamIt matches on, by its tags."""

COMBINED_DATE_TIME_PAIRS: tuple[tuple[int, int], ...] = (
    (0x00080020, 0x00080030),  # StudyDate, StudyTime
    (0x00400244, 0x00400245),  # PerformedProcedureStepStartDate, ...StartTime
)
"""DA/TM key pairs matched as one date-time when both are ranges (PS3.4 C.2.2.2.5.1,
required for QIDO-RS by PS3.18 §8.3.4.1.1)."""

_STUDY_RESULT = (
    0x00080005,  # SpecificCharacterSet (BeamIt; pre-2019 Table 6.7.1-2)
    0x00080020,  # StudyDate
    0x00080030,  # StudyTime
    0x00080050,  # AccessionNumber
    0x00080056,  # InstanceAvailability
    0x00080061,  # ModalitiesInStudy
    0x00080090,  # ReferringPhysicianName
    0x00080201,  # TimezoneOffsetFromUTC
    0x00081190,  # RetrieveURL
    0x00100010,  # PatientName
    0x00100020,  # PatientID
    0x00100030,  # PatientBirthDate
    0x00100040,  # PatientSex
    0x0020000D,  # StudyInstanceUID
    0x00200010,  # StudyID
    0x00201206,  # NumberOfStudyRelatedSeries
    0x00201208,  # NumberOfStudyRelatedInstances
)
_SERIES_RESULT = (
    0x00080005,  # SpecificCharacterSet (BeamIt)
    0x00080060,  # Modality
    0x00080201,  # TimezoneOffsetFromUTC
    0x0008103E,  # SeriesDescription
    0x00081190,  # RetrieveURL
    0x0020000D,  # StudyInstanceUID (BeamIt: always, to address the series)
    0x0020000E,  # SeriesInstanceUID
    0x00200011,  # SeriesNumber
    0x00201209,  # NumberOfSeriesRelatedInstances
    0x00400244,  # PerformedProcedureStepStartDate
    0x00400245,  # PerformedProcedureStepStartTime
    0x00400275,  # RequestAttributesSequence (>ScheduledProcedureStepID, >RequestedProcedureID)
)
_INSTANCE_RESULT = (
    0x00080005,  # SpecificCharacterSet (BeamIt)
    0x00080016,  # SOPClassUID
    0x00080018,  # SOPInstanceUID
    0x00080056,  # InstanceAvailability
    0x00080201,  # TimezoneOffsetFromUTC
    0x00081190,  # RetrieveURL
    0x0020000D,  # StudyInstanceUID (BeamIt: always)
    0x0020000E,  # SeriesInstanceUID (BeamIt: always)
    0x00200013,  # InstanceNumber
    0x00280008,  # NumberOfFrames
    0x00280010,  # Rows
    0x00280011,  # Columns
    0x00280100,  # BitsAllocated
)

DEFAULT_RETURN_TAGS: Mapping[SearchLevel, frozenset[int]] = {
    _STUDY: frozenset(_STUDY_RESULT),
    _SERIES: frozenset(_SERIES_RESULT),
    _INSTANCE: frozenset(_INSTANCE_RESULT),
}
"""Each level's own default return attributes (Tables 10.6.3-3/-4/-5 plus BeamIt's)."""

_LEVEL_NEUTRAL = frozenset({0x00080005, 0x00080056, 0x00080201, 0x00081190})
"""Attributes every level has its own value of (character set, availability, time zone,
Retrieve URL): never filtered out as "belonging to a deeper level"."""

_OTHER_KNOWN_LEVELS: Mapping[SearchLevel, tuple[str, ...]] = {
    _STUDY: (
        "StudyDescription",
        "IssuerOfPatientID",
        "OtherPatientIDsSequence",
        "PatientAge",
        "PatientSize",
        "PatientWeight",
        "NameOfPhysiciansReadingStudy",
        "AdmittingDiagnosesDescription",
        "ProcedureCodeSequence",
        "ReferencedStudySequence",
    ),
    _SERIES: (
        "SeriesDate",
        "SeriesTime",
        "Manufacturer",
        "ManufacturerModelName",
        "StationName",
        "InstitutionName",
        "InstitutionalDepartmentName",
        "BodyPartExamined",
        "Laterality",
        "ProtocolName",
        "OperatorsName",
        "PerformingPhysicianName",
        "FrameOfReferenceUID",
    ),
    _INSTANCE: (
        "ImageType",
        "ContentDate",
        "ContentTime",
        "AcquisitionDate",
        "AcquisitionTime",
        "AcquisitionDateTime",
        "AcquisitionNumber",
        "ImagePositionPatient",
        "ImageOrientationPatient",
        "SliceLocation",
        "SliceThickness",
        "PhotometricInterpretation",
        "SamplesPerPixel",
        "BitsStored",
        "HighBit",
        "PixelRepresentation",
        "TransferSyntaxUID",
        "AvailableTransferSyntaxUID",
        "WindowCenter",
        "WindowWidth",
    ),
}
"""Common attributes outside the tables above whose level BeamIt knows (for result shaping)."""


def _build_known_levels() -> dict[int, SearchLevel]:
    levels: dict[int, SearchLevel] = {}
    for level in SearchLevel:
        for tag in DEFAULT_RETURN_TAGS[level]:
            # StudyInstanceUID is in the series and instance defaults too: first level wins.
            if tag not in _LEVEL_NEUTRAL and (tag not in levels or level.depth < levels[tag].depth):
                levels[tag] = level
        for keyword in _OTHER_KNOWN_LEVELS[level]:
            levels.setdefault(_path(keyword).tag, level)
    for key in MATCHING_KEYS.values():
        levels.setdefault(key.path.top_tag, key.level)
    return levels


_KNOWN_LEVELS = _build_known_levels()


def attribute_level(tag: int) -> SearchLevel | None:
    """The level an attribute belongs to, when BeamIt knows it, else ``None``.

    Used to leave out of a result the attributes of a *deeper* level asked for with
    includefield ("Series or Instance Level Attributes contained in includefield parameters
    shall not be returned" for a study search, PS3.18 §10.6.3.3.1).  Level-neutral elements
    (Specific Character Set, Instance Availability, Timezone Offset From UTC, Retrieve URL)
    and unknown ones give ``None``: they are returned whenever the record has them.
    """
    return _KNOWN_LEVELS.get(tag)


def matchable_levels(level: SearchLevel, *, study_in_path: bool, series_in_path: bool) -> tuple[SearchLevel, ...]:
    """The levels a search resource may match on (PS3.18 §10.6.1.2.1)."""
    levels = [level]
    if level is _INSTANCE and not series_in_path:
        levels.append(_SERIES)
    if level is not _STUDY and not study_in_path:
        levels.append(_STUDY)
    return tuple(levels)


def default_return_tags(level: SearchLevel, *, study_in_path: bool, series_in_path: bool) -> frozenset[int]:
    """The attributes returned for every match (PS3.18 §10.6.3.3).

    All Series adds the study defaults; Study's Instances the series defaults; All Instances
    both.
    """
    return frozenset().union(
        *(
            DEFAULT_RETURN_TAGS[parent]
            for parent in matchable_levels(level, study_in_path=study_in_path, series_in_path=series_in_path)
        )
    )


_RESOURCE_NAMES = {
    (_STUDY, False, False): "a study search (/studies)",
    (_SERIES, True, False): "a search for a study's series (/studies/{study}/series)",
    (_SERIES, False, False): "a series search (/series)",
    (_INSTANCE, True, True): ("a search for a series' instances (/studies/{study}/series/{series}/instances)"),
    (_INSTANCE, True, False): "a search for a study's instances (/studies/{study}/instances)",
    (_INSTANCE, False, False): "an instance search (/instances)",
}


def resolve_matching_key(
    path: AttributePath,
    level: SearchLevel,
    *,
    study_in_path: bool,
    series_in_path: bool,
    parameter: str,
) -> MatchingKey:
    """The :class:`MatchingKey` for ``path`` in this resource, or a :class:`QueryError`.

    The error says why: a private or unsupported attribute, or an attribute of a level the
    resource cannot match on (with ``ModalitiesInStudy`` suggested for ``Modality`` in a study
    search).
    """
    resource = _RESOURCE_NAMES[(level, study_in_path, series_in_path)]
    key = MATCHING_KEYS.get(path.tags)
    if key is None:
        if path.tag & 0x00010000:
            reason = "private attributes cannot be matched"
        elif path.vr == "SQ":
            reason = (
                "a sequence is matched through an attribute inside it, e.g. "
                "RequestAttributesSequence.ScheduledProcedureStepID"
            )
        else:
            reason = "BeamIt does not index it for matching"
        raise QueryError(
            f"Query parameter '{printable_name(parameter)}': {path} is not a matching key "
            f"({reason}); use includefield to have it returned. "
            f"Keys {resource} matches on: {_supported_list(level, study_in_path, series_in_path)}.",
            parameter=parameter,
        )
    allowed = matchable_levels(level, study_in_path=study_in_path, series_in_path=series_in_path)
    if key.level not in allowed:
        if key.level.depth > level.depth:
            why = f"{resource} matches only attributes of the {level.value} level and above"
        else:
            fixed = "study" if key.level is _STUDY else "series"
            why = f"the {fixed} is fixed by the request path of {resource}"
        hint = ""
        if path.tags == (0x00080060,) and level is _STUDY:
            hint = "; use ModalitiesInStudy (00080061) to match studies by modality"
        raise QueryError(
            f"Query parameter '{printable_name(parameter)}': {path} is "
            f"{'an' if key.level is _INSTANCE else 'a'} {key.level.value}-level "
            f"attribute and cannot be matched here: {why} (PS3.18 §10.6.1.2.1){hint}.",
            parameter=parameter,
        )
    return key


def _supported_list(level: SearchLevel, study_in_path: bool, series_in_path: bool) -> str:
    allowed = matchable_levels(level, study_in_path=study_in_path, series_in_path=series_in_path)
    return ", ".join(key.path.keyword for key in MATCHING_KEYS.values() if key.level in allowed)
