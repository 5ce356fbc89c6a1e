"""The typed conditions of a QIDO-RS search (the matching types of PS3.4 C.2.2.2).

A :class:`~beamit.dicomweb.qido.query.SearchQuery` holds one condition per matched attribute,
and all of them must hold (AND).  Several values for one attribute make one
:class:`AnyOfCondition` (OR), except UIDs, which make a :class:`UidListCondition`.

Universal Matching (C.2.2.2.3, an empty value) is not a condition: it filters nothing and only
asks for the attribute to be returned, so the parser adds it to ``include_fields``.

Store translators turn these into store queries; :mod:`beamit.dicomweb.qido.reference`
defines their meaning on DICOM JSON records and is the oracle the translators are tested
against.  Common rules of that meaning: an attribute matches if *any* of its values matches;
an absent or empty attribute matches no condition; text values are compared without their
leading and trailing spaces (DICOM padding).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import TypeAlias

from beamit.dicomweb.qido.attributes import AttributePath

__all__ = [
    "AnyOfCondition",
    "CombinedDateTimeCondition",
    "Condition",
    "DateRangeCondition",
    "DateTimeRangeCondition",
    "PersonNameCondition",
    "PersonNameFuzzyCondition",
    "SingleValueCondition",
    "TimeRangeCondition",
    "UidListCondition",
    "WildcardCondition",
    "condition_paths",
]


@dataclass(frozen=True)
class SingleValueCondition:
    """Single Value Matching (C.2.2.2.1): the value equals ``value``.

    ``value`` is an ``int`` for IS attributes (compared as numbers), else a string.
    ``ignore_case``: compare after Unicode NFC and case folding (BeamIt's documented choice
    for free-text descriptions; see :class:`~beamit.dicomweb.qido.attributes.MatchingKey`).
    """

    path: AttributePath
    value: str | int
    ignore_case: bool = False


@dataclass(frozen=True)
class WildcardCondition:
    """Wild Card Matching (C.2.2.2.4): ``*`` matches any run of characters (also none) and
    ``?`` exactly one, in any position.  Case-sensitive unless ``ignore_case``."""

    path: AttributePath
    pattern: str
    ignore_case: bool = False


@dataclass(frozen=True)
class UidListCondition:
    """List of UID Matching (C.2.2.2.2): the UID is one of ``uids``."""

    path: AttributePath
    uids: tuple[str, ...]


@dataclass(frozen=True)
class DateRangeCondition:
    """Range Matching of a DA attribute (C.2.2.2.5), bounds inclusive, ``None`` = open.

    A single date ``D`` is the range ``D-D`` (exact match).
    """

    path: AttributePath
    start: date | None
    end: date | None


@dataclass(frozen=True)
class TimeRangeCondition:
    """Range Matching of a TM attribute, bounds inclusive, ``None`` = open.

    ``end`` is the last microsecond of the time written (``-1030`` ends at 10:30:59.999999); a
    single time ``T`` is the range ``T-T``.  A stored time is compared by its first instant.
    """

    path: AttributePath
    start: time | None
    end: time | None


@dataclass(frozen=True)
class DateTimeRangeCondition:
    """Range Matching of a DT attribute; bounds are timezone-aware UTC datetimes.

    A stored DT is compared by its first instant, converted to UTC by its own offset (or taken
    as UTC without one).
    """

    path: AttributePath
    start: datetime | None
    end: datetime | None


@dataclass(frozen=True)
class CombinedDateTimeCondition:
    """Combined date-time Range Matching of a DA/TM pair (PS3.4 C.2.2.2.5.1, required for
    QIDO-RS by PS3.18 §8.3.4.1.1).

    ``StudyDate=20200101-20200102&StudyTime=2300-0100`` means from 1 January 23:00 to
    2 January 01:00:59.999999.  The stored date and time are joined into one naive datetime
    (local time, as recorded) and compared with the inclusive bounds; a record without both a
    date and a time does not match.
    """

    date_path: AttributePath
    time_path: AttributePath
    start: datetime | None
    end: datetime | None


@dataclass(frozen=True)
class PersonNameCondition:
    """Literal PN matching (``fuzzymatching=false``): single value or wild card.

    BeamIt's PN semantics: the pattern and each stored component group are put in canonical
    form (:func:`~beamit.dicomweb.qido.person_name.normalize_pn_group`: padding and trailing
    empty components removed, NFC, case folded) and compared whole, ``*``/``?`` matching any
    characters including ``^``.  Without ``=`` the pattern may match any of the alphabetic,
    ideographic or phonetic groups; with ``=`` each non-empty pattern group must match the
    stored group in the same position.  ``DOE^J*`` matches ``Doe^John``; ``DOE`` alone matches
    only a name with no other component.
    """

    path: AttributePath
    pattern: str

    @property
    def has_wildcards(self) -> bool:
        return "*" in self.pattern or "?" in self.pattern


@dataclass(frozen=True)
class PersonNameFuzzyCondition:
    """Fuzzy PN matching (``fuzzymatching=true``, PS3.18 §8.3.4.2, BeamIt's definition).

    A stored group matches if any of:

    * the literal matching of :class:`PersonNameCondition` succeeds;
    * it succeeds after width and accent folding as well as case folding
      (:func:`~beamit.dicomweb.qido.person_name.normalize_pn_component` with ``fuzzy``);
    * every word of the query is the beginning of some word of that group (words are split at
      ``^``, spaces, punctuation and wildcards, in any order): ``joh`` matches ``DOE^JOHN``
      and ``Jöhn``, ``john doe`` matches ``DOE^JOHN``.

    So fuzzy matching finds everything literal matching finds, and more.  A query with no
    letter or digit (``?``, ``^``) stays a :class:`PersonNameCondition`.
    """

    path: AttributePath
    query: str


@dataclass(frozen=True)
class AnyOfCondition:
    """Several values for one attribute (repeated parameter, or ``\\``-separated): OR.

    A BeamIt extension to PS3.18 §8.3.4.1, which allows one value per attribute except UID
    lists; it is not PS3.4 C.2.2.2.8 Multiple Value Matching (an AND, which BeamIt does not
    support).  ``Modality=CT&Modality=MR`` and ``Modality=CT\\MR`` match CT or MR series.
    """

    path: AttributePath
    alternatives: tuple[Condition, ...]


Condition: TypeAlias = (
    SingleValueCondition
    | WildcardCondition
    | UidListCondition
    | DateRangeCondition
    | TimeRangeCondition
    | DateTimeRangeCondition
    | CombinedDateTimeCondition
    | PersonNameCondition
    | PersonNameFuzzyCondition
    | AnyOfCondition
)


def condition_paths(condition: Condition) -> tuple[AttributePath, ...]:
    """The attributes a condition reads (two for a combined date-time)."""
    if isinstance(condition, CombinedDateTimeCondition):
        return (condition.date_path, condition.time_path)
    return (condition.path,)
