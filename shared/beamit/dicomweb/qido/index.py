"""The QIDO-RS index of catalog documents, and the index clause of each search condition.

Firestore answers equality, ``in`` and ranges, nothing like PS3.4 wild cards or Person Name
matching; so ingest writes, beside each catalog document's DICOM JSON, a map ``q`` that turns
every matching key into things Firestore can look up (:func:`index_fields`), and a search asks
for one of them (:func:`condition_clause`) and post-filters the candidates with
:func:`beamit.dicomweb.qido.reference.matches`.  Pure functions: no store, no HTTP.

The ``q`` map
-------------
``q.keys`` and ``q.words``
    Maps whose keys are *terms* (each set to ``true``): strings, one per value a query may ask
    for, of the document's own attributes and of its parents' (a series document carries its
    study's terms, an instance document its study's and series'), so that ``/series`` and
    ``/instances`` filter one collection.  ``<Keyword>`` is the PS3.6 keyword, dotted for an
    attribute inside a sequence.  ``q.keys`` (a few dozen per document):

    * ``<Keyword>=<value>`` - the exact value: text (CS, SH, LO, AE, UC) without padding, case
      folded (Unicode NFC + case folding) for the keys matched without case; IS as an integer;
      UI.
    * ``<Keyword>~<prefix>`` - DA: the prefixes of ``YYYYMMDD`` of 1, 2, 3, 4, 6 and 8
      characters (millennium, century, decade, year, month, day), so a date range is a union of
      at most :data:`MAX_CLAUSE_TERMS` aligned blocks (:func:`date_cover`).

    ``q.words`` (hundreds per document):

    * ``<Keyword>:<token>`` - word tokens (:mod:`beamit.dicomweb.qido.person_name`): for PN all
      of :func:`~beamit.dicomweb.qido.person_name.pn_index_tokens` (literal ``p:``/``g:`` and
      fuzzy ``fp:``/``fg:``); for the texts of :data:`WORD_INDEXED_TEXT` (those viewers search
      with ``*value*``) the literal ``p:`` prefixes and ``g:`` n-grams of the words of the
      case-folded value, so wild cards in any position find candidates.  Wild cards in other
      text keys (Modality, PatientSex, ...) are matched by post-filter only.

    A term is looked up by equality on its own field (``q.words.`PatientName:p:doe` == true``),
    which Firestore serves from the automatic single-field index of that map key, merged with
    the indexes of the other equality filters (``studyUID``, ``seriesUID``): no composite index,
    and no array scan (the emulator evaluates ``array-contains`` by reading every element of
    every document; an equality on one key is immediate).

    Not indexed: TM and DT attributes (matched after another condition or a scan), and the
    UIDs of the hierarchy, which are document ids and the ``studyUID``/``seriesUID`` fields.

Aggregates
    ModalitiesInStudy and SOPClassesInStudy grow as series arrive: a study document gets
    :func:`aggregate_terms` in ``q.keys`` at creation, and later stores merge theirs in.
    They are not copied into series and instance documents, where they would go stale; a
    series or instance search matches them by post-filter only.

Clauses
-------
:func:`condition_clause` gives, for one condition, one term field and at most
:data:`MAX_CLAUSE_TERMS` terms of it such that every record satisfying the condition has at
least one of them (a disjunction of equalities, or one equality for one term), and says
whether having one is also *sufficient* (``exact``: single values, UID lists, date ranges
covered without coarsening).  ``None``: the condition cannot drive a search.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from beamit.dicomweb.qido.attributes import MATCHING_KEYS, MatchingKey, SearchLevel
from beamit.dicomweb.qido.conditions import (
    AnyOfCondition,
    CombinedDateTimeCondition,
    Condition,
    DateRangeCondition,
    PersonNameCondition,
    PersonNameFuzzyCondition,
    SingleValueCondition,
    UidListCondition,
    WildcardCondition,
)
from beamit.dicomweb.qido.person_name import best_query_clause, pn_index_tokens, split_words
from beamit.dicomweb.qido.reference import Record, attribute_values
from beamit.dicomweb.qido.temporal import stored_da

__all__ = [
    "DATE_PREFIX_LENGTHS",
    "HIERARCHY_UID_TAGS",
    "MAX_CLAUSE_TERMS",
    "KEYS_FIELD",
    "WORDS_FIELD",
    "WORD_INDEXED_TEXT",
    "IndexClause",
    "InstanceTerms",
    "aggregate_terms",
    "condition_clause",
    "date_cover",
    "document_terms",
    "index_fields",
    "merge_levels",
    "term_maps",
    "text_tokens",
]

KEYS_FIELD = "q.keys"
"""Exact values and date prefixes."""

WORDS_FIELD = "q.words"
"""Word tokens of names and texts."""


MAX_CLAUSE_TERMS = 30
"""Firestore's limit of disjunctions in one query (an ``in`` filter, or the terms of one clause)."""

DATE_PREFIX_LENGTHS = (1, 2, 3, 4, 6, 8)
"""Prefixes of ``YYYYMMDD`` stored for a date: millennium, century, decade, year, month, day."""

WORD_INDEXED_TEXT = frozenset(
    {"PatientID", "AccessionNumber", "StudyID", "StudyDescription", "SeriesDescription", "InstitutionName"}
)
"""Text matching keys with word tokens in ``q.words`` (PN keys always have them)."""

HIERARCHY_UID_TAGS = frozenset({0x0020000D, 0x0020000E, 0x00080018})
"""Study, Series and SOP Instance UID: found by document id or parent field, never by terms."""

_AGGREGATE_TAGS = frozenset({0x00080061, 0x00080062})  # ModalitiesInStudy, SOPClassesInStudy
_TEXT_VRS = frozenset({"CS", "SH", "LO", "AE", "UC"})


@dataclass(frozen=True)
class IndexClause:
    """Terms of ``field`` of which every matching document has at least one.

    ``exact``: a document with one of them matches the condition (no post-filter needed for it).
    """

    field: str
    terms: frozenset[str]
    exact: bool


_TERM_MARK = re.compile(r"[=:~]")


def _field_of(term: str) -> str:
    """``q.words`` for a word token (``<Keyword>:...``), else ``q.keys``."""
    mark = _TERM_MARK.search(term)
    assert mark is not None, term
    return WORDS_FIELD if mark.group() == ":" else KEYS_FIELD


# --- documents ------------------------------------------------------------------------------


def merge_levels(*datasets: Mapping[str, Any] | None) -> dict[str, Any]:
    """Study, series and instance DICOM JSON as one record; a deeper level's element wins."""
    merged: dict[str, Any] = {}
    for dataset in datasets:
        if dataset:
            merged.update(dataset)
    return merged


def index_fields(
    level: SearchLevel,
    study: Mapping[str, Any],
    series: Mapping[str, Any] | None = None,
    instance: Mapping[str, Any] | None = None,
    *,
    modalities: Iterable[str] = (),
    sop_classes: Iterable[str] = (),
) -> dict[str, Any]:
    """The ``q`` map of a catalog document at ``level``, from the DICOM JSON of its levels.

    Pass the parents' DICOM JSON exactly as their catalog documents hold it, so the terms
    agree with the records a search builds from those documents.  A new study document also
    passes its ``modalities`` and ``sop_classes`` (:func:`aggregate_terms`).
    """
    record = merge_levels(study, series, instance)
    return term_maps(document_terms(level, record).union(aggregate_terms(modalities, sop_classes)))


def term_maps(terms: Iterable[str]) -> dict[str, Any]:
    """The ``q`` map of a set of terms: each term a key of ``keys`` or ``words``, set to true."""
    maps: dict[str, dict[str, bool]] = {"keys": {}, "words": {}}
    fields = {KEYS_FIELD: maps["keys"], WORDS_FIELD: maps["words"]}
    for term in sorted(terms):  # each term classified once: ingest makes hundreds per instance
        fields[_field_of(term)][term] = True
    return maps


def document_terms(level: SearchLevel, record: Record, *, only: SearchLevel | None = None) -> set[str]:
    """The terms of every matching key of ``level`` and its parents present in ``record``
    (of the keys of level ``only``, when given)."""
    terms: set[str] = set()
    for key in MATCHING_KEYS.values():
        if key.level.depth > level.depth or not _has_document_terms(key):
            continue
        if only is not None and key.level is not only:
            continue
        terms |= _stored_terms(key, attribute_values(record, key.path))
    return terms


class InstanceTerms:
    """``q`` maps of many instance documents of the same few series (one ingest batch): the
    study and series terms are computed once per series, not once per instance. Gives exactly
    what :func:`index_fields` gives at the instance level (an instance data set holding a study
    or series key's attribute, which would shadow the parents' value, falls back to it)."""

    _PARENT_TAGS = frozenset(
        f"{key.path.tags[0]:08X}" for key in MATCHING_KEYS.values() if key.level is not SearchLevel.INSTANCE
    )

    def __init__(self) -> None:
        self._parents: dict[tuple[int, int], tuple[set[str], dict[str, Any]]] = {}

    def index_fields(
        self, study: Mapping[str, Any], series: Mapping[str, Any], instance: Mapping[str, Any]
    ) -> dict[str, Any]:
        if not self._PARENT_TAGS.isdisjoint(instance):
            return index_fields(SearchLevel.INSTANCE, study, series, instance)
        record = merge_levels(study, series, instance)
        key = (id(study), id(series))
        found = self._parents.get(key)
        if found is None:
            terms = document_terms(SearchLevel.SERIES, merge_levels(study, series))
            found = self._parents[key] = (terms, term_maps(terms))
        parents, parent_maps = found
        own = term_maps(document_terms(SearchLevel.INSTANCE, record, only=SearchLevel.INSTANCE) - parents)
        # The parents' hundreds of terms are classified and sorted once per series; each field
        # stays in sorted order, as term_maps gives it.
        return {name: dict.fromkeys(sorted(parent_maps[name].keys() | own[name].keys()), True)
                if own[name] else dict(parent_maps[name]) for name in ("keys", "words")}


def aggregate_terms(modalities: Iterable[str], sop_classes: Iterable[str]) -> list[str]:
    """ModalitiesInStudy / SOPClassesInStudy terms of a study document (``q.keys``)."""
    terms = {f"ModalitiesInStudy={m.strip()}" for m in modalities if m and m.strip()}
    terms |= {f"SOPClassesInStudy={uid.strip()}" for uid in sop_classes if uid and uid.strip()}
    return sorted(terms)


def _has_document_terms(key: MatchingKey) -> bool:
    tags = key.path.tags
    return not (len(tags) == 1 and (tags[0] in HIERARCHY_UID_TAGS or tags[0] in _AGGREGATE_TAGS))


def _fold(text: str) -> str:
    """The case-insensitive form :mod:`~beamit.dicomweb.qido.reference` compares."""
    return unicodedata.normalize("NFC", text).casefold()


def _date_digits(day: date) -> str:
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"


def text_tokens(text: str) -> set[str]:
    """Literal word tokens (``p:``, ``g:``) of a text value, case folded."""
    tokens: set[str] = set()
    for word in split_words(_fold(text.strip())):
        tokens |= {token for token in pn_index_tokens(word) if token.startswith(("p:", "g:"))}
    return tokens


def _stored_terms(key: MatchingKey, values: list[Any]) -> set[str]:
    name, vr = key.path.keyword, key.path.vr
    terms: set[str] = set()
    for value in values:
        if vr == "PN":
            terms |= {f"{name}:{token}" for token in pn_index_tokens(value)}
        elif vr == "DA":
            day = stored_da(value)
            if day is not None:
                digits = _date_digits(day)
                terms |= {f"{name}~{digits[:length]}" for length in DATE_PREFIX_LENGTHS}
        elif vr == "IS":
            try:
                terms.add(f"{name}={int(str(value).strip())}")
            except ValueError:
                continue
        elif vr == "UI" and isinstance(value, str):
            terms.add(f"{name}={value.strip()}")
        elif vr in _TEXT_VRS and isinstance(value, str):
            exact = _fold(value.strip()) if key.ignore_case else value.strip()
            terms.add(f"{name}={exact}")
            if name in WORD_INDEXED_TEXT:
                terms |= {f"{name}:{token}" for token in text_tokens(value)}
    return terms


# --- conditions -----------------------------------------------------------------------------


def condition_clause(condition: Condition, level: SearchLevel) -> IndexClause | None:
    """The index clause of ``condition`` in a search at ``level`` (see the module docstring)."""
    if isinstance(condition, CombinedDateTimeCondition):
        key = MATCHING_KEYS.get(condition.date_path.tags)
        if key is None or not _indexed(key, level):
            return None
        start = condition.start.date() if condition.start is not None else None
        end = condition.end.date() if condition.end is not None else None
        prefixes, _ = date_cover([(start, end)])
        return IndexClause(KEYS_FIELD, frozenset(f"{key.path.keyword}~{p}" for p in prefixes), exact=False)
    key = MATCHING_KEYS.get(condition.path.tags)
    if key is None or not _indexed(key, level):
        return None
    alternatives = condition.alternatives if isinstance(condition, AnyOfCondition) else (condition,)
    if key.path.vr == "DA":
        ranges = [(c.start, c.end) for c in alternatives if isinstance(c, DateRangeCondition)]
        if len(ranges) != len(alternatives):
            return None
        prefixes, exact = date_cover(ranges)
        return IndexClause(KEYS_FIELD, frozenset(f"{key.path.keyword}~{p}" for p in prefixes), exact)
    clauses = [_single_clause(key, part) for part in alternatives]
    if len({clause.field for clause in clauses if clause is not None}) > 1:
        # Exact text values and wild cards of one attribute (DOE\SM*): all through word tokens.
        clauses = [_single_clause(key, part, words=True) for part in alternatives]
    found = [clause for clause in clauses if clause is not None]
    if len(found) != len(clauses):
        return None
    terms = frozenset().union(*(clause.terms for clause in found))
    if not terms or len(terms) > MAX_CLAUSE_TERMS:
        return None
    return IndexClause(found[0].field, terms, all(clause.exact for clause in found))


def _indexed(key: MatchingKey, level: SearchLevel) -> bool:
    tags = key.path.tags
    if len(tags) == 1 and tags[0] in HIERARCHY_UID_TAGS:
        return False
    if len(tags) == 1 and tags[0] in _AGGREGATE_TAGS:
        return level is SearchLevel.STUDY
    return key.path.vr in _TEXT_VRS | {"PN", "DA", "IS", "UI"}


def _single_clause(key: MatchingKey, condition: Condition, *, words: bool = False) -> IndexClause | None:
    name = key.path.keyword
    tokens = name in WORD_INDEXED_TEXT
    if isinstance(condition, SingleValueCondition):
        value = condition.value
        if words and isinstance(value, str) and tokens:
            return _token_clause(name, best_query_clause(value))
        if isinstance(value, str) and condition.ignore_case:
            value = _fold(value)
        return IndexClause(KEYS_FIELD, frozenset({f"{name}={value}"}), exact=True)
    if isinstance(condition, UidListCondition):
        return IndexClause(KEYS_FIELD, frozenset(f"{name}={uid}" for uid in condition.uids), exact=True)
    if isinstance(condition, WildcardCondition) and tokens:
        return _token_clause(name, best_query_clause(condition.pattern))
    if isinstance(condition, PersonNameCondition):
        return _token_clause(name, best_query_clause(condition.pattern))
    if isinstance(condition, PersonNameFuzzyCondition):
        return _token_clause(name, best_query_clause(condition.query, fuzzy=True))
    return None


def _token_clause(name: str, tokens: frozenset[str] | None) -> IndexClause | None:
    if not tokens:
        return None
    return IndexClause(WORDS_FIELD, frozenset(f"{name}:{token}" for token in tokens), exact=False)


# --- date ranges ----------------------------------------------------------------------------

_FIRST_DAY = date(1, 1, 1)
_LAST_DAY = date(9999, 12, 31)
_YEAR_SPANS = {1: 1000, 2: 100, 3: 10, 4: 1}


def _block(day: date, length: int) -> tuple[date, date]:
    """First and last day of the aligned block ``_date_digits(day)[:length]`` names."""
    if length == 8:
        return day, day
    if length == 6:
        first = day.replace(day=1)
        if (first.year, first.month) == (9999, 12):
            return first, _LAST_DAY
        return first, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    span = _YEAR_SPANS[length]
    start_year = day.year - day.year % span
    return date(max(start_year, 1), 1, 1), date(min(start_year + span - 1, 9999), 12, 31)


def _blocks(start: date, end: date) -> set[str]:
    """The fewest aligned blocks exactly covering ``start``..``end``."""
    prefixes: set[str] = set()
    day = start
    while True:
        # The coarsest block starting on ``day`` that ends by ``end`` (a day always does).
        length, last = next(
            (length, last)
            for length in DATE_PREFIX_LENGTHS
            for first, last in (_block(day, length),)
            if first == day and last <= end
        )
        prefixes.add(_date_digits(day)[:length])
        if last >= end:
            return prefixes
        day = last + timedelta(days=1)


def _without_covered(prefixes: set[str]) -> set[str]:
    return {p for p in prefixes if not any(p[:n] in prefixes for n in range(1, len(p)))}


def date_cover(
    ranges: Iterable[tuple[date | None, date | None]], limit: int = MAX_CLAUSE_TERMS
) -> tuple[set[str], bool]:
    """Date prefixes covering the union of inclusive ``ranges`` (``None``: open), at most ``limit``.

    Returns ``(prefixes, exact)``: when the exact cover has more than ``limit`` blocks, the
    finest blocks are widened to their enclosing month, then year, decade, century (a superset:
    the post-filter removes the extra candidates) and ``exact`` is false.
    """
    prefixes: set[str] = set()
    for start, end in ranges:
        low, high = start or _FIRST_DAY, end or _LAST_DAY
        if low <= high:
            prefixes |= _blocks(low, high)
    prefixes = _without_covered(prefixes)
    exact = True
    finest_first = sorted(DATE_PREFIX_LENGTHS, reverse=True)
    for finer, coarser in zip(finest_first, finest_first[1:]):
        if len(prefixes) <= limit:
            break
        prefixes = _without_covered({p[:coarser] if len(p) == finer else p for p in prefixes})
        exact = False
    return prefixes, exact
