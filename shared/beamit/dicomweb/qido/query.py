"""QIDO-RS query parameters (PS3.18 §8.3.4, §10.6) -> a typed :class:`SearchQuery`.

The web layer calls :func:`parse_search` with the search level, the request's query
parameters and the UIDs of the request path; a store translator (Firestore) turns the
resulting :class:`SearchQuery` into store queries.  This module never touches a store.

Input
-----
``params`` is a multidict: a mapping from name to *all* values of that name, e.g.
``request.args.to_dict(flat=False)``, or a Werkzeug ``MultiDict`` itself (its ``getlist`` is
used).  A plain string value is one value.  Values arrive **already percent-decoded** by the
web layer; this module never decodes again (decoding twice would let ``%2525`` smuggle in a
``%25``), so a value still containing ``%5E`` is matched literally.  It does tolerate what
clients actually send: padding spaces around values, a pair of double quotes around a value
(the qp-value form of §8.3.1), non-string scalars, and both ``,`` and ``\\`` as value
separators.

Parameters
----------
* ``limit`` (uint, default :data:`DEFAULT_LIMIT`): above :data:`MAX_LIMIT` it is clamped,
  ``limit_clamped`` is set and a warning text is added, so the web layer can answer with a
  ``Warning: 299`` header (§8.3.4.4 lets the origin server cap results).  Negative, non-integer
  or repeated -> :class:`QueryError`.  ``limit=0`` is valid (no results).
* ``offset`` (uint, default 0, at most :data:`MAX_OFFSET`): Firestore reads, and bills, every
  document an offset skips, so a deeper page is refused with a hint to narrow the search.
* ``fuzzymatching`` (``true``/``false``, any case - ABNF literals are case-insensitive).
* ``includefield``: repeated and/or comma-separated keywords or tags, or ``all`` (which wins
  over any others).  Any PS3.6 attribute (or private tag) may be named, whatever the level;
  attributes of a deeper level are simply not returned (§10.6.3.3.1).
* ``emptyvaluematching`` / ``multiplevaluematching`` (§8.3.4.5/6): not supported; ``true``
  adds the standard "not supported" warning text, ``false`` is accepted.
* ``accept`` and ``charset`` (§8.3.3) belong to content negotiation in the web layer and are
  ignored here, as is every parameter whose name starts with ``_`` (cache busters such as
  jQuery's ``_=1699999999``).
* Anything else is an attribute - PS3.6 keyword, 8-hex-digit tag, dotted for sequences - and
  must be a matching key of this resource (:mod:`beamit.dicomweb.qido.attributes`).  An
  unknown name is a :class:`QueryError` rather than ignored as §8.3 suggests: a typo such as
  ``PatientNmae=DOE`` must not silently widen a search over patient data.  Parameter names
  are case-sensitive (§8.3.1); a near miss gets a "did you mean" hint.

Matching (PS3.4 C.2.2.2) - the semantics :mod:`beamit.dicomweb.qido.reference` implements
-------------------------------------------------------------------------------------------
* Universal matching: an empty value (or ``*`` alone) filters nothing and adds the attribute to
  ``include_fields``.  Any attribute may be given so, like an includefield.
* UI: single UID or UID list, ``,`` or ``\\`` separated (OHIF sends ``\\``); UIDs must be
  digits and dots, at most 64 characters; no wildcards.
* DA: ``D``, ``A-B``, ``A-``, ``-B`` with real calendar dates (``YYYYMMDD``); a start after the
  end is an error.  TM: ``HH[MM[SS[.F{1,6}]]]`` in the same forms, a reduced-precision end
  covering its whole hour/minute/second.  DT: ``YYYY[MM[DD[HH[MM[SS[.F]]]]]][&ZZXX]``; a
  value that reads as one DT with an offset (``20200101120000-0500``) is one value, otherwise
  the ``-`` that splits it into two valid DTs is the range separator.  Values of reduced
  precision are the interval they denote (``StudyTime=10`` is 10:00-10:59:59.999999).
* Combined date-time (§8.3.4.1.1): when StudyDate (or Performed Procedure Step Start Date) is
  one date or range and the matching time is written as a range, the two are matched as one
  date-time range, so ``StudyDate=20200101-20200102&StudyTime=2300-0100`` spans midnight.
  A reversed time range on its own is an error.
* IS: an integer, compared as a number.
* CS, SH, LO, AE, UC: single value or wildcard (``*``, ``?`` anywhere); case-sensitive as the
  standard says, except the descriptions BeamIt marks ``ignore_case`` (StudyDescription,
  SeriesDescription, InstitutionName).
* PN, ``fuzzymatching=false``: case-insensitive (NFC + case folding) single value or
  wildcard over the canonical name; matches any of the alphabetic, ideographic and phonetic
  groups; ``^`` separates components and trailing empty components do not count, so
  ``DOE^J*`` matches family DOE with a given name starting with J.  No accent folding.
* PN, ``fuzzymatching=true``: additionally accent- and width-insensitive, and a name also
  matches when every query word begins a word of the name (``joh`` matches ``DOE^JOHN`` and
  ``Jöhn``).  See :class:`~beamit.dicomweb.qido.conditions.PersonNameFuzzyCondition`.
* Several values for one attribute - repeated (``Modality=CT&Modality=MR``), ``\\``-separated
  (any VR but free text), or ``,``-separated (for VRs whose values cannot contain a comma:
  UI, CS, DA, TM, DT, IS) - match if any of them matches (OR).  This is a BeamIt extension:
  §8.3.4.1 allows multiple values only for UID lists, and PS3.4 C.2.2.2.8 Multiple Value
  Matching (an AND) is not supported.  ``ModalitiesInStudy`` matches when any of the study's
  modalities matches any value.
* A study search matches study (and patient) attributes only: ``Modality`` there is an error
  that suggests ``ModalitiesInStudy``.

Error messages name the parameter and what was expected, never the value (it may be PHI).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Final, Literal, Protocol, TypeAlias, TypeVar, runtime_checkable

from beamit.dicomweb.qido.attributes import (
    COMBINED_DATE_TIME_PAIRS,
    AttributePath,
    MatchingKey,
    SearchLevel,
    default_return_tags,
    resolve_attribute,
    resolve_matching_key,
)
from beamit.dicomweb.qido.conditions import (
    AnyOfCondition,
    CombinedDateTimeCondition,
    Condition,
    DateRangeCondition,
    DateTimeRangeCondition,
    PersonNameCondition,
    PersonNameFuzzyCondition,
    SingleValueCondition,
    TimeRangeCondition,
    UidListCondition,
    WildcardCondition,
    condition_paths,
)
from beamit.dicomweb.qido.errors import QueryError, printable_name
from beamit.dicomweb.qido.person_name import canonical_pn_group, is_word_char
from beamit.dicomweb.qido.temporal import TemporalError, parse_da, parse_dt, parse_tm

__all__ = [
    "ALL",
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "MAX_OFFSET",
    "IncludeAll",
    "IncludeFields",
    "QueryParams",
    "SearchQuery",
    "parse_search",
]

DEFAULT_LIMIT: Final = 50
"""Results per response when the request has no ``limit``."""

MAX_LIMIT: Final = 200
"""The most results BeamIt returns in one response (PS3.18 §10.6.5: the conformance statement declares it)."""

MAX_OFFSET: Final = 10_000
"""The largest ``offset`` accepted: a Firestore query reads (and bills) every document it skips,
so ``offset=N`` costs N reads; 10,000 is 50 pages of the largest ``limit``, beyond which a
search should be narrowed (a date range, a modality), not paged."""

MAX_VALUE_LENGTH: Final = 1024
"""Longest single matching value accepted (after splitting lists)."""

MAX_VALUES: Final = 1000
"""Most values (OR alternatives, UIDs) accepted for one attribute."""


class IncludeAll(enum.Enum):
    """``includefield=all``."""

    ALL = "all"


ALL: Final = IncludeAll.ALL

IncludeFields: TypeAlias = frozenset[int] | Literal[IncludeAll.ALL]
"""Top-level tags to return in addition to the defaults, or :data:`ALL`."""


@runtime_checkable
class _MultiDict(Protocol):
    def getlist(self, key: str) -> list[str]: ...


QueryParams: TypeAlias = Mapping[str, Sequence[str] | str]
"""Query parameters as a multidict (see the module docstring)."""


@dataclass(frozen=True)
class SearchQuery:
    """A parsed QIDO-RS search: what to match, what to return, which page.

    ``conditions`` must all hold.  ``study_uid``/``series_uid`` are the scope fixed by the
    request path (``/studies/{study}/series``...).  ``warnings`` are texts for
    ``Warning: 299 <service>: <text>`` response headers (§8.3.4).
    """

    level: SearchLevel
    conditions: tuple[Condition, ...] = ()
    include_fields: IncludeFields = frozenset()
    fuzzy: bool = False
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    limit_clamped: bool = False
    study_uid: str | None = None
    series_uid: str | None = None
    warnings: tuple[str, ...] = ()

    def default_tags(self) -> frozenset[int]:
        """The attributes returned for every match of this resource (PS3.18 §10.6.3.3)."""
        return default_return_tags(
            self.level,
            study_in_path=self.study_uid is not None,
            series_in_path=self.series_uid is not None,
        )

    def result_tags(self) -> IncludeFields:
        """Defaults, includefields and matched attributes (top-level tags), or :data:`ALL`."""
        if self.include_fields is ALL:
            return ALL
        tags = set(self.default_tags()) | self.include_fields
        for condition in self.conditions:
            tags.update(path.top_tag for path in condition_paths(condition))
        return frozenset(tags)


_RESERVED = ("limit", "offset", "fuzzymatching", "includefield")
_IGNORED = frozenset({"accept", "charset"})
_UNSUPPORTED_FLAGS = {
    "emptyvaluematching": (
        "The emptyvaluematching parameter is not supported. Empty Value Matching has not been performed."
    ),
    "multiplevaluematching": (
        "The multiplevaluematching parameter is not supported. Multiple Value Matching has not been performed."
    ),
}
_COMMA_SEPARATED_VRS = frozenset({"UI", "CS", "DA", "TM", "DT", "IS", "DS", "AS"})
_UNSPLIT_VRS = frozenset({"LT", "ST", "UT", "UR"})
_TEXT_VRS = frozenset({"CS", "SH", "LO", "AE", "UC", "LT", "ST", "UT"})
_T = TypeVar("_T")
_UID = re.compile(r"[0-9]+(?:\.[0-9]+)*")
_UINT = re.compile(r"[0-9]+")
_INTEGER = re.compile(r"[+-]?[0-9]{1,12}")


@dataclass
class _Pending:
    """One attribute's values collected over all parameters naming it."""

    path: AttributePath
    pieces: list[tuple[str, str]]  # (value, parameter name)


def _values_of(params: QueryParams) -> list[tuple[str, list[str]]]:
    items: list[tuple[str, list[str]]] = []
    for name in params:
        if isinstance(params, _MultiDict):
            raw: object = params.getlist(name)
        else:
            raw = params[name]
        if isinstance(raw, str):
            values = [raw]
        elif isinstance(raw, Sequence):
            values = [value if isinstance(value, str) else str(value) for value in raw]
        else:
            values = [str(raw)]
        if values:  # a name with no values at all (only possible from a dict) is absent
            items.append((str(name), values))
    return items


def parse_search(
    level: SearchLevel,
    params: QueryParams,
    *,
    study_uid: str | None = None,
    series_uid: str | None = None,
) -> SearchQuery:
    """Parse the query parameters of a QIDO-RS search (PS3.18 §10.6.1.2).

    ``level`` and the path UIDs identify the resource: ``(STUDY)`` is ``/studies``,
    ``(SERIES, study_uid=...)`` is ``/studies/{study}/series``, ``(INSTANCE)`` is
    ``/instances``, and so on.  Raises :class:`QueryError` for anything the client got wrong;
    :class:`ValueError` for a path scope that no route produces (a programming error).
    """
    _check_scope(level, study_uid, series_uid)
    study_in_path = study_uid is not None
    series_in_path = series_uid is not None

    limit, limit_clamped, offset, fuzzy = DEFAULT_LIMIT, False, 0, False
    include: set[int] = set()
    include_all = False
    warnings: list[str] = []
    pending: dict[tuple[int, ...], _Pending] = {}

    for name, values in _values_of(params):
        if name == "limit":
            limit = _uint(name, values)
            if limit > MAX_LIMIT:
                limit, limit_clamped = MAX_LIMIT, True
                warnings.append(
                    f"The limit parameter exceeds the maximum of {MAX_LIMIT} results per "
                    f"response; at most {MAX_LIMIT} results are returned."
                )
        elif name == "offset":
            offset = _uint(name, values)
            if offset > MAX_OFFSET:
                raise QueryError(
                    f"Query parameter 'offset' must be at most {MAX_OFFSET}: narrow the search (for example "
                    "by StudyDate or ModalitiesInStudy) rather than paging this deep.", parameter=name)
        elif name == "fuzzymatching":
            fuzzy = _boolean(name, values)
        elif name == "includefield":
            include_all |= _include_fields(values, include)
        elif name in _UNSUPPORTED_FLAGS:
            if _boolean(name, values):
                warnings.append(_UNSUPPORTED_FLAGS[name])
        elif name in _IGNORED or name.startswith("_"):
            continue
        else:
            _collect_attribute(name, values, pending)

    conditions: dict[tuple[int, ...], Condition] = {}
    time_ranges: set[tuple[int, ...]] = set()
    for tags, item in pending.items():
        if any(_is_universal(piece) for piece, _ in item.pieces):
            include.add(item.path.top_tag)
            continue
        key = resolve_matching_key(
            item.path,
            level,
            study_in_path=study_in_path,
            series_in_path=series_in_path,
            parameter=item.pieces[0][1],
        )
        condition = _condition(key, item.pieces, fuzzy=fuzzy)
        if condition is None:
            include.add(item.path.top_tag)
            continue
        conditions[tags] = condition
        if key.path.vr == "TM" and len(item.pieces) == 1 and "-" in item.pieces[0][0]:
            time_ranges.add(tags)
    _combine_date_times(conditions, time_ranges, pending)
    _check_time_ranges(conditions.values(), pending)

    return SearchQuery(
        level=level,
        conditions=tuple(conditions.values()),
        include_fields=ALL if include_all else frozenset(include),
        fuzzy=fuzzy,
        limit=limit,
        offset=offset,
        limit_clamped=limit_clamped,
        study_uid=study_uid,
        series_uid=series_uid,
        warnings=tuple(warnings),
    )


# --- scope and reserved parameters ----------------------------------------------------------


def _check_scope(level: SearchLevel, study_uid: str | None, series_uid: str | None) -> None:
    if level is SearchLevel.STUDY and (study_uid is not None or series_uid is not None):
        raise ValueError("a study search has no UIDs in its path")
    if series_uid is not None and (level is not SearchLevel.INSTANCE or study_uid is None):
        raise ValueError("a series UID in the path needs an instance search under a study")
    for what, uid in (("Study", study_uid), ("Series", series_uid)):
        if uid is not None and not _is_uid(uid):
            raise QueryError(
                f"The {what} Instance UID in the request path is not a valid UID (digits and "
                f"dots, at most 64 characters)."
            )


def _is_uid(text: str) -> bool:
    return len(text) <= 64 and _UID.fullmatch(text) is not None


def _single(name: str, values: list[str]) -> str:
    if len(values) != 1:
        raise QueryError(f"Query parameter {name!r} may be given only once.", parameter=name)
    return values[0].strip()


def _uint(name: str, values: list[str]) -> int:
    text = _single(name, values)
    if not _UINT.fullmatch(text):
        raise QueryError(
            f"Query parameter {name!r} must be a non-negative integer, got '{printable_name(text)}'.",
            parameter=name,
        )
    return int(text) if len(text) <= 18 else 10**18


def _boolean(name: str, values: list[str]) -> bool:
    text = _single(name, values).casefold()
    if text not in ("true", "false"):
        raise QueryError(
            f"Query parameter {name!r} must be 'true' or 'false', got '{printable_name(text)}'.",
            parameter=name,
        )
    return text == "true"


def _include_fields(values: list[str], include: set[int]) -> bool:
    include_all = False
    for value in values:
        for piece in value.split(","):
            piece = piece.strip()
            if not piece:
                continue
            if piece.casefold() == "all":
                include_all = True
            else:
                include.add(resolve_attribute(piece, parameter="includefield").top_tag)
    return include_all


# --- attribute parameters -------------------------------------------------------------------


def _collect_attribute(name: str, values: list[str], pending: dict[tuple[int, ...], _Pending]) -> None:
    if name.casefold() in _RESERVED or name.casefold() in _UNSUPPORTED_FLAGS:
        canonical = name.casefold()
        raise QueryError(
            f"Unknown query parameter '{printable_name(name)}' (parameter names are "
            f"case-sensitive: did you mean {canonical!r}?).",
            parameter=name,
        )
    path = resolve_attribute(name)
    item = pending.setdefault(path.tags, _Pending(path, []))
    for value in values:
        if not value.strip():
            # Universal matching: no filter, but return the attribute.  It decides for every
            # other value of the attribute too (OR with "anything").
            item.pieces.append(("", name))
            continue
        for piece in _split(value, path.vr, name):
            item.pieces.append((piece, name))
    if len(item.pieces) > MAX_VALUES:
        raise QueryError(
            f"Query parameter '{printable_name(name)}': more than {MAX_VALUES} values.",
            parameter=name,
        )


def _split(value: str, vr: str, name: str) -> list[str]:
    if vr in _UNSPLIT_VRS:
        raw = [value]
    else:
        raw = re.split(r"[\\,]" if vr in _COMMA_SEPARATED_VRS else r"\\", value)
    pieces = []
    for piece in raw:
        piece = piece.strip()
        if len(piece) >= 2 and piece[0] == piece[-1] == '"':
            piece = piece[1:-1].strip()
            if not piece:
                raise QueryError(
                    f"Query parameter '{printable_name(name)}': empty value matching (\"\") is not supported.",
                    parameter=name,
                )
        if piece:
            pieces.append(piece)
    if not pieces:
        raise QueryError(
            f"Query parameter '{printable_name(name)}' has separators but no value.",
            parameter=name,
        )
    for piece in pieces:
        if len(piece) > MAX_VALUE_LENGTH:
            raise QueryError(
                f"Query parameter '{printable_name(name)}': a value is longer than {MAX_VALUE_LENGTH} characters.",
                parameter=name,
            )
        if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in piece):
            raise QueryError(
                f"Query parameter '{printable_name(name)}': control characters are not allowed in values.",
                parameter=name,
            )
    return pieces


def _is_universal(piece: str) -> bool:
    return piece == "" or set(piece) == {"*"}


def _condition(key: MatchingKey, pieces: list[tuple[str, str]], *, fuzzy: bool) -> Condition | None:
    """One attribute's condition, or ``None`` for universal matching."""
    if any(_is_universal(piece) for piece, _ in pieces):
        return None
    path = key.path
    if path.vr == "UI":
        uids = _unique(_uid(piece, name, path) for piece, name in pieces)
        if len(uids) == 1:
            return SingleValueCondition(path, uids[0])
        return UidListCondition(path, tuple(uids))
    alternatives: list[Condition] = []
    for piece, name in pieces:
        condition = _piece_condition(key, piece, name, fuzzy=fuzzy)
        if condition is None:
            return None
        alternatives.append(condition)
    unique = _unique(alternatives)
    if len(unique) == 1:
        return unique[0]
    return AnyOfCondition(path, tuple(unique))


def _unique(items: Iterable[_T]) -> list[_T]:
    return list(dict.fromkeys(items))


def _problem(name: str, path: AttributePath, expected: str, reason: str | None = None) -> QueryError:
    detail = f": {reason}" if reason else ""
    return QueryError(
        f"Query parameter '{printable_name(name)}': {path} needs {expected}{detail}.",
        parameter=name,
    )


def _uid(piece: str, name: str, path: AttributePath) -> str:
    if not _is_uid(piece):
        raise _problem(
            name,
            path,
            "a UID or a list of UIDs separated by ',' or '\\' (digits and dots, at most 64 characters, no wildcards)",
        )
    return piece


def _piece_condition(key: MatchingKey, piece: str, name: str, *, fuzzy: bool) -> Condition | None:
    path = key.path
    vr = path.vr
    if vr == "DA":
        return _date_range(piece, name, path)
    if vr == "TM":
        return _time_range(piece, name, path)
    if vr == "DT":
        return _date_time_range(piece, name, path)
    if vr == "IS":
        if not _INTEGER.fullmatch(piece):
            raise _problem(name, path, "an integer (no wildcards)")
        return SingleValueCondition(path, int(piece))
    if vr == "PN":
        return _person_name(piece, name, path, fuzzy=fuzzy)
    if vr in _TEXT_VRS:
        if "*" in piece or "?" in piece:
            return WildcardCondition(path, piece, key.ignore_case)
        return SingleValueCondition(path, piece, key.ignore_case)
    raise AssertionError(f"no matching rule for VR {vr}")  # pragma: no cover - tables are fixed


def _person_name(piece: str, name: str, path: AttributePath, *, fuzzy: bool) -> Condition | None:
    groups = piece.split("=")
    if len(groups) > 3:
        raise _problem(
            name,
            path,
            "a name with at most three component groups (alphabetic=ideographic=phonetic)",
        )
    if any(len(group.split("^")) > 5 for group in groups):
        raise _problem(name, path, "a name with at most five components separated by '^'")
    canonical = [canonical_pn_group(group) for group in groups]
    if all(_is_universal(group) for group in canonical):
        return None
    if fuzzy and any(is_word_char(ch) for ch in piece):
        return PersonNameFuzzyCondition(path, piece)
    return PersonNameCondition(path, piece)


_DA_FORM = "a date YYYYMMDD or a date range A-B, A- or -B"
_TM_FORM = "a time HH[MM[SS[.FFFFFF]]] or a time range A-B, A- or -B"
_DT_FORM = "a date-time YYYY[MM[DD[HH[MM[SS[.FFFFFF]]]]]][+/-HHMM] or a range A-B, A- or -B"


def _range_bounds(piece: str, name: str, path: AttributePath, form: str) -> tuple[str | None, str | None]:
    if "*" in piece or "?" in piece:
        raise _problem(name, path, form, "wildcards are not allowed for dates and times")
    if piece.count("-") > 1:
        raise _problem(name, path, form, "a range has exactly one '-'")
    if "-" not in piece:
        return piece, piece
    low, high = piece.split("-")
    if not low and not high:
        raise _problem(name, path, form, "a range needs at least one bound")
    return (low or None), (high or None)


def _date_range(piece: str, name: str, path: AttributePath) -> DateRangeCondition:
    low, high = _range_bounds(piece, name, path, _DA_FORM)
    try:
        start = parse_da(low) if low else None
    except TemporalError as exc:
        where = "the date" if "-" not in piece else "the start of the range"
        raise _problem(name, path, _DA_FORM, f"{where} is invalid: {exc}") from None
    try:
        end = parse_da(high) if high else None
    except TemporalError as exc:
        raise _problem(name, path, _DA_FORM, f"the end of the range is invalid: {exc}") from None
    if start is not None and end is not None and start > end:
        raise _problem(name, path, _DA_FORM, "the start of the range is after its end")
    return DateRangeCondition(path, start, end)


def _time_range(piece: str, name: str, path: AttributePath) -> TimeRangeCondition:
    low, high = _range_bounds(piece, name, path, _TM_FORM)
    try:
        start = parse_tm(low)[0] if low else None
    except TemporalError as exc:
        where = "the time" if "-" not in piece else "the start of the range"
        raise _problem(name, path, _TM_FORM, f"{where} is invalid: {exc}") from None
    try:
        end = parse_tm(high)[1] if high else None
    except TemporalError as exc:
        raise _problem(name, path, _TM_FORM, f"the end of the range is invalid: {exc}") from None
    return TimeRangeCondition(path, start, end)


def _date_time_range(piece: str, name: str, path: AttributePath) -> DateTimeRangeCondition:
    if "*" in piece or "?" in piece:
        raise _problem(name, path, _DT_FORM, "wildcards are not allowed for dates and times")
    try:
        first, last = parse_dt(piece)
        return DateTimeRangeCondition(path, first, last)
    except TemporalError as exc:
        single_error = exc
    readings: list[tuple[datetime | None, datetime | None]] = []
    last_error: TemporalError = single_error
    for index, ch in enumerate(piece):
        if ch != "-":
            continue
        low, high = piece[:index], piece[index + 1 :]
        if not low and not high:
            continue
        try:
            start = parse_dt(low)[0] if low else None
            end = parse_dt(high)[1] if high else None
        except TemporalError as exc:
            last_error = exc
            continue
        readings.append((start, end))
    if not readings:
        raise _problem(name, path, _DT_FORM, str(last_error))
    if len(readings) > 1:
        raise _problem(name, path, _DT_FORM, "the value can be split into a range in more than one way")
    start, end = readings[0]
    if start is not None and end is not None and start > end:
        raise _problem(name, path, _DT_FORM, "the start of the range is after its end")
    return DateTimeRangeCondition(path, start, end)


def _combine_date_times(
    conditions: dict[tuple[int, ...], Condition],
    time_ranges: set[tuple[int, ...]],
    pending: Mapping[tuple[int, ...], _Pending],
) -> None:
    """Replace a DA condition and a TM range of one pair by a combined date-time range."""
    for date_tag, time_tag in COMBINED_DATE_TIME_PAIRS:
        date_cond = conditions.get((date_tag,))
        time_cond = conditions.get((time_tag,))
        if not (
            isinstance(date_cond, DateRangeCondition)
            and isinstance(time_cond, TimeRangeCondition)
            and (time_tag,) in time_ranges
        ):
            continue
        if (time_cond.start is not None and date_cond.start is None) or (
            time_cond.end is not None and date_cond.end is None
        ):
            continue  # a time bound with no date bound on its side: match each on its own
        start = datetime.combine(date_cond.start, time_cond.start or time.min) if date_cond.start is not None else None
        end = datetime.combine(date_cond.end, time_cond.end or time.max) if date_cond.end is not None else None
        if start is not None and end is not None and start > end:
            date_name = pending[(date_tag,)].pieces[0][1]
            time_name = pending[(time_tag,)].pieces[0][1]
            raise QueryError(
                f"Query parameters '{printable_name(date_name)}' and "
                f"'{printable_name(time_name)}': the combined date-time range starts after it "
                f"ends.",
                parameter=time_name,
            )
        combined = CombinedDateTimeCondition(date_cond.path, time_cond.path, start, end)
        # Keep the position of the date condition; drop the time condition.
        conditions[(date_tag,)] = combined
        del conditions[(time_tag,)]


def _check_time_ranges(conditions: Iterable[Condition], pending: Mapping[tuple[int, ...], _Pending]) -> None:
    for condition in conditions:
        parts = condition.alternatives if isinstance(condition, AnyOfCondition) else (condition,)
        for part in parts:
            if (
                isinstance(part, TimeRangeCondition)
                and part.start is not None
                and part.end is not None
                and part.start > part.end
            ):
                name = pending[part.path.tags].pieces[0][1]
                raise _problem(
                    name,
                    part.path,
                    _TM_FORM,
                    "the start of the range is after its end (to match across midnight, give "
                    "the date as a range too: dates and times are then matched together)",
                )
