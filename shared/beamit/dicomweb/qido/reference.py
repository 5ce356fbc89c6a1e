"""The reference QIDO-RS search: brute force over DICOM JSON records.

This is the definition of what a :class:`~beamit.dicomweb.qido.query.SearchQuery` means.
The Firestore-backed search is tested against it (same query, same records, same answer),
and may call :func:`matches` to post-filter candidates it fetched through an index.  It is
written to be obviously right, not fast.

Records
-------
A record is one study, series or instance as a DICOM JSON data set (PS3.18 Annex F): a
mapping from 8-hex-digit tag to ``{"vr": ..., "Value": [...]}``.  A series record also carries
its study's attributes, an instance record its study's and series' (the index stores them so,
denormalised), and each record carries the UIDs of its parents.  Aggregates such as
NumberOfStudyRelatedInstances or ModalitiesInStudy and the Retrieve URL are in the record if
they are to be returned; this module computes nothing.

Ordering (PS3.18 §8.3.4.4.1 requires a stable order for paging)
---------------------------------------------------------------
Results are ordered by the UIDs of the entity's path, compared as a tuple of strings:
studies by StudyInstanceUID; series by (StudyInstanceUID, SeriesInstanceUID); instances by
(StudyInstanceUID, SeriesInstanceUID, SOPInstanceUID); ascending, code-point order (UIDs are
ASCII, so this is byte order).  A missing UID sorts as ``""``.  It is the order of Firestore
document names when studies/series/instances are stored at
``.../studies/{study}/series/{series}/instances/{sop}`` (names compare segment by segment),
which Firestore returns for any combination of equality filters without a composite index,
and which does not change when a study gains series.  Note that this is *not* the order of
the concatenated string ("1.2.3" sorts before "1.2/...", but the tuple ("1.2", ...) sorts
first).  A client wanting newest-first sorts the page itself (OHIF does).

Then ``offset`` matches are skipped and at most ``limit`` returned, and each is shaped by
:func:`shape_result`.
"""

from __future__ import annotations

import copy
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

from beamit.dicomweb.qido import conditions as c
from beamit.dicomweb.qido.attributes import AttributePath, SearchLevel, attribute_level, tag_key
from beamit.dicomweb.qido.person_name import normalize_pn_group, pn_groups, pn_words
from beamit.dicomweb.qido.query import ALL, SearchQuery
from beamit.dicomweb.qido.temporal import stored_da, stored_dt, stored_tm

__all__ = [
    "Record",
    "SearchPage",
    "attribute_values",
    "condition_matches",
    "matches",
    "search",
    "search_page",
    "shape_result",
    "sort_key",
    "wildcard_match",
]

Record: TypeAlias = Mapping[str, Mapping[str, Any]]
"""A DICOM JSON data set keyed by 8-hex-digit tags."""

_STUDY_UID = "0020000D"
_SERIES_UID = "0020000E"
_SOP_UID = "00080018"
_SORT_KEYS = {
    SearchLevel.STUDY: (_STUDY_UID,),
    SearchLevel.SERIES: (_SERIES_UID,),
    SearchLevel.INSTANCE: (_SOP_UID,),
}


# --- values ---------------------------------------------------------------------------------


def attribute_values(record: Record, path: AttributePath) -> list[Any]:
    """All non-empty values at ``path``; through a sequence, the values of every item."""
    datasets: list[Mapping[str, Any]] = [record]
    for tag in path.tags[:-1]:
        items: list[Mapping[str, Any]] = []
        for dataset in datasets:
            element = dataset.get(tag_key(tag))
            value = element.get("Value") if isinstance(element, Mapping) else None
            if isinstance(value, list):
                items.extend(item for item in value if isinstance(item, Mapping))
        datasets = items
    values: list[Any] = []
    for dataset in datasets:
        element = dataset.get(tag_key(path.tag))
        value = element.get("Value") if isinstance(element, Mapping) else None
        if isinstance(value, list):
            values.extend(v for v in value if v is not None and v != "")
    return values


def _first_string(record: Record, key: str) -> str:
    element = record.get(key)
    value = element.get("Value") if isinstance(element, Mapping) else None
    if isinstance(value, list) and value and isinstance(value[0], str):
        return value[0].strip()
    return ""


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


# --- wild cards -----------------------------------------------------------------------------


def wildcard_match(pattern: str, text: str) -> bool:
    """PS3.4 C.2.2.2.4: ``*`` matches any run of characters (also none), ``?`` exactly one.

    Linear-time greedy matching with backtracking to the last ``*`` only, so a hostile pattern
    cannot make it slow (unlike a translated regular expression).
    """
    p = t = 0
    star, resume = -1, 0
    while t < len(text):
        if p < len(pattern) and pattern[p] == "*":
            star, resume = p, t
            p += 1
        elif p < len(pattern) and (pattern[p] == "?" or pattern[p] == text[t]):
            p += 1
            t += 1
        elif star >= 0:
            resume += 1
            p, t = star + 1, resume
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


# --- person names ---------------------------------------------------------------------------


def _pn_literal(pattern: str, pn: object, *, fuzzy: bool) -> bool:
    groups = pn_groups(pn)
    wanted = [normalize_pn_group(group, fuzzy=fuzzy) for group in pattern.split("=")]
    stored = [normalize_pn_group(group, fuzzy=fuzzy) for group in groups]
    if len(wanted) == 1:
        return any(group and wildcard_match(wanted[0], group) for group in stored)
    constrained = [(want, have) for want, have in zip(wanted, stored, strict=False) if want]
    return bool(constrained) and all(wildcard_match(want, have) for want, have in constrained)


def _pn_word_prefixes(query: str, pn: object) -> bool:
    words = pn_words(query, fuzzy=True)
    if not words:
        return False
    for group in pn_groups(pn):
        name_words = pn_words(group, fuzzy=True)
        if all(any(name_word.startswith(word) for name_word in name_words) for word in words):
            return True
    return False


# --- conditions -----------------------------------------------------------------------------


def _single(condition: c.SingleValueCondition, value: Any) -> bool:
    if isinstance(condition.value, int):
        try:
            return int(str(value).strip()) == condition.value
        except ValueError:
            return False
    if not isinstance(value, str):
        return False
    if condition.ignore_case:
        return _fold(value.strip()) == _fold(condition.value)
    return value.strip() == condition.value


def _wildcard(condition: c.WildcardCondition, value: Any) -> bool:
    if not isinstance(value, str):
        return False
    if condition.ignore_case:
        return wildcard_match(_fold(condition.pattern), _fold(value.strip()))
    return wildcard_match(condition.pattern, value.strip())


def _in_range(value: Any, start: Any, end: Any) -> bool:
    return value is not None and (start is None or start <= value) and (end is None or value <= end)


def _value_matches(condition: c.Condition, value: Any) -> bool:
    """Whether one stored value satisfies a single-attribute condition."""
    if isinstance(condition, c.SingleValueCondition):
        return _single(condition, value)
    if isinstance(condition, c.WildcardCondition):
        return _wildcard(condition, value)
    if isinstance(condition, c.UidListCondition):
        return isinstance(value, str) and value.strip() in condition.uids
    if isinstance(condition, c.DateRangeCondition):
        return _in_range(stored_da(value), condition.start, condition.end)
    if isinstance(condition, c.TimeRangeCondition):
        return _in_range(stored_tm(value), condition.start, condition.end)
    if isinstance(condition, c.DateTimeRangeCondition):
        return _in_range(stored_dt(value), condition.start, condition.end)
    if isinstance(condition, c.PersonNameCondition):
        return _pn_literal(condition.pattern, value, fuzzy=False)
    if isinstance(condition, c.PersonNameFuzzyCondition):
        return (
            _pn_literal(condition.query, value, fuzzy=False)
            or _pn_literal(condition.query, value, fuzzy=True)
            or _pn_word_prefixes(condition.query, value)
        )
    if isinstance(condition, c.AnyOfCondition):
        return any(_value_matches(alternative, value) for alternative in condition.alternatives)
    raise TypeError(f"not a single-attribute condition: {condition!r}")


def _combined(condition: c.CombinedDateTimeCondition, record: Record) -> bool:
    for date_value in attribute_values(record, condition.date_path):
        day = stored_da(date_value)
        if day is None:
            continue
        for time_value in attribute_values(record, condition.time_path):
            moment = stored_tm(time_value)
            if moment is not None and _in_range(datetime.combine(day, moment), condition.start, condition.end):
                return True
    return False


def condition_matches(condition: c.Condition, record: Record) -> bool:
    """Whether ``record`` satisfies one condition: any stored value matching is enough."""
    if isinstance(condition, c.CombinedDateTimeCondition):
        return _combined(condition, record)
    return any(_value_matches(condition, value) for value in attribute_values(record, condition.path))


def matches(query: SearchQuery, record: Record) -> bool:
    """Whether ``record`` is in the path scope of ``query`` and satisfies all its conditions."""
    if query.study_uid is not None and _first_string(record, _STUDY_UID) != query.study_uid:
        return False
    if query.series_uid is not None and _first_string(record, _SERIES_UID) != query.series_uid:
        return False
    return all(condition_matches(condition, record) for condition in query.conditions)


# --- ordering, paging, shaping --------------------------------------------------------------


def sort_key(level: SearchLevel, record: Record) -> tuple[str, ...]:
    """The documented result order: by the result's own UID (Study, Series or SOP Instance
    UID), the catalog document's id, so that Firestore returns documents in this order."""
    return tuple(_first_string(record, key) for key in _SORT_KEYS[level])


def shape_result(query: SearchQuery, record: Record) -> dict[str, Any]:
    """The DICOM JSON returned for one match (PS3.18 §10.6.3.3).

    The default attributes of the resource, the includefield and universal-matching
    attributes, and the matched attributes, as far as the record has them; with
    ``includefield=all``, everything the record has.  Attributes of a level deeper than the
    search are never returned; a private element comes with its Private Creator.  Elements are
    deep copies, in tag order.
    """
    wanted = query.result_tags()
    if wanted is not ALL:
        wanted = wanted | {_private_creator(tag) for tag in wanted if _is_private_data(tag)}
    shaped: dict[str, Any] = {}
    for key in sorted(record):
        try:
            tag = int(key, 16)
        except ValueError:
            continue
        level = attribute_level(tag)
        if level is not None and level.depth > query.level.depth:
            continue
        if wanted is ALL or tag in wanted:
            shaped[key] = copy.deepcopy(dict(record[key]))
    return shaped


def _is_private_data(tag: int) -> bool:
    """A private data element (gggg,xxyy) with odd gggg and xx >= 0x10 (PS3.5 §7.8.1)."""
    return bool(tag & 0x00010000) and (tag & 0xFFFF) >= 0x1000


def _private_creator(tag: int) -> int:
    """The Private Creator (gggg,00xx) reserving the block of (gggg,xxyy)."""
    return (tag & 0xFFFF0000) | ((tag & 0xFF00) >> 8)


@dataclass(frozen=True)
class SearchPage:
    """One response's worth of results and what the paging Warning header needs."""

    results: list[dict[str, Any]]
    matches: int
    """All matches, before offset and limit."""
    remaining: int
    """Matches after this page (PS3.18 §8.3.4.4.1 "remaining")."""


def search_page(query: SearchQuery, records: Iterable[Record]) -> SearchPage:
    """Filter, order, page and shape: the whole search, with the match count."""
    found = sorted(
        (record for record in records if matches(query, record)),
        key=lambda record: sort_key(query.level, record),
    )
    end = query.offset + query.limit
    page = [shape_result(query, record) for record in found[query.offset : end]]
    return SearchPage(results=page, matches=len(found), remaining=max(0, len(found) - end))


def search(query: SearchQuery, records: Iterable[Record]) -> list[dict[str, Any]]:
    """The results of ``query`` over ``records``: ordered, paged and shaped."""
    return search_page(query, records).results
