"""QIDO-RS searches answered from the Firestore catalog: the store-specific translator.

A :class:`~beamit.dicomweb.qido.query.SearchQuery` (the parser never touches the store) becomes
a :class:`SearchPlan`: which documents to read, through which index, in which order.  The
translator never parses HTTP; :func:`search_catalog` runs a plan and returns the page.

Plans (:func:`plan_search`)
---------------------------
1. A condition on the level's own UID (``StudyInstanceUID`` in a study search, ...): the
   documents are read by id (``get_all``; at most 1000 UIDs, the parser's limit).
2. The series of the request path's study, the instances of its series (or of its study):
   the documents are read by id from the UIDs the parents list (:mod:`beamit.catalog`'s child
   lists), in result order, a window at a time: a handful of reads whatever the size of the
   tenant. The query of plan 3 is kept for parents that do not list all their children.
3. Otherwise one Firestore query over the level's collection, in document name order (the
   result order: the level's own UID), with

   * the UID scope: the study and series of the request path, else a
     ``StudyInstanceUID``/``SeriesInstanceUID`` condition of a series or instance search:
     ``studyUID``/``seriesUID`` equality, or ``in`` for a list of at most 30 UIDs;
   * and the index clauses (:func:`~beamit.dicomweb.qido.index.condition_clause`) of up to
     :data:`MAX_TERM_FILTERS` conditions, most selective first: each the equality of one term
     key of ``q.keys`` or ``q.words`` to true, or a disjunction of them, as long as the query's
     disjunctive normal form stays within Firestore's 30 disjunctions (a UID ``in`` list counts).
     Selectivity is a fixed estimate (:func:`clause_rank`): identifiers (PatientID,
     AccessionNumber) over single dates over long name prefixes over descriptions over short
     tokens over modalities, sex and wide date ranges.  A one-character token
     (``PatientName=*x*``) does not drive: it would select about as much as a scan.

   With neither, the query scans the collection in result order.  Every plan is made of
   equalities ordered by document name only, which Firestore serves by merging single-field
   indexes: no search needs a composite index (``tests/unit/qido`` holds every plan to that).

Execution (:func:`search_catalog`)
----------------------------------
Candidates are read page by page in result order; each becomes the record of
:mod:`beamit.catalog.search_results` (the parents' documents are read with ``get_all`` and
cached) and is post-filtered with :func:`beamit.dicomweb.qido.reference.matches`, which
checks *every* condition and the scope.  Reading stops after ``offset + limit`` matches plus
one more (so the response can say that more exist).  When every condition is enforced
exactly by the query's filters (``SearchPlan.exact``, e.g. no condition at all, or
``ModalitiesInStudy=CT``), ``offset`` is handed to Firestore instead of being counted here.

At most :data:`SCAN_CAP` candidate documents are read per request.  When the cap stops a search
before it has found its page, the outcome is ``truncated``: the response holds the matches
found so far and a Warning says the query was too broad (narrow it with a more selective
key: PatientID, AccessionNumber, a name, a date).

Documents written before the ``q`` term maps existed are found only by scans and UID
filters; a term filter needs them written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from beamit.catalog import fields as f
from beamit.catalog.search_results import DOCUMENT_FIELDS, instance_record, series_record, study_record
from beamit.dicomweb.qido.attributes import SearchLevel
from beamit.dicomweb.qido.conditions import Condition, SingleValueCondition, UidListCondition
from beamit.dicomweb.qido.index import (
    MAX_CLAUSE_TERMS,
    IndexClause,
    condition_clause,
)
from beamit.dicomweb.qido.query import SearchQuery
from beamit.dicomweb.qido.reference import matches, shape_result, sort_key
from beamit.dicomweb.uri import DicomwebRoot
from beamit.storage import DOCUMENT_NAME, AnyOf, Filter, MetadataStore, Query, field_path
from beamit.tenancy import TenantScope

__all__ = [
    "SCAN_CAP",
    "SearchOutcome",
    "SearchPlan",
    "clause_rank",
    "plan_search",
    "search_catalog",
]

SCAN_CAP = 5000
"""Most candidate documents one search request reads."""

MAX_TERM_FILTERS = 3
"""Most term filters in one query: each narrows the candidates (Firestore intersects the
single-field indexes of equalities), within its cap of 30 disjunctions per query."""

FIRST_PAGE_MIN = 20
PAGE_MAX = 1000

COLLECTIONS = {
    SearchLevel.STUDY: f.STUDIES,
    SearchLevel.SERIES: f.SERIES,
    SearchLevel.INSTANCE: f.INSTANCES,
}
STUDY_FIELD = f.STUDY_UID
SERIES_FIELD = f.SERIES_UID

_STUDY_UID, _SERIES_UID, _SOP_UID = 0x0020000D, 0x0020000E, 0x00080018
_OWN_UID = {SearchLevel.STUDY: _STUDY_UID, SearchLevel.SERIES: _SERIES_UID, SearchLevel.INSTANCE: _SOP_UID}


@dataclass(frozen=True)
class SearchPlan:
    """How one search reads the catalog (see the module docstring)."""

    level: SearchLevel
    documents: tuple[str, ...] | None = None
    """Own-level UIDs to read by id; ``None`` for a query."""
    filters: tuple[Filter | AnyOf, ...] = ()
    """UID filters (``studyUID``, then ``seriesUID``), then the term filters (each one equality
    on a key of ``q.keys``/``q.words``, or a disjunction of them)."""
    drivers: tuple[Condition, ...] = ()
    """The conditions whose index clauses are the term filters, most selective first."""
    exact: bool = False
    """The filters select exactly the matches: ``offset`` can be left to Firestore."""
    children_of: SearchLevel | None = None
    """Plan 2: read the children the request path's study (``STUDY``) or series (``SERIES``)
    lists; ``filters`` are the query to fall back on."""

    def store_query(
        self, scope: TenantScope, *, limit: int | None = None, offset: int = 0, after: str | None = None
    ) -> Query:
        """The Firestore query of this plan (a query plan only), one page of it, after the
        document ``after`` (a path): only the fields the result records read, not the (long)
        term maps."""
        return Query(
            collection=scope.collection(COLLECTIONS[self.level]),
            filters=self.filters,
            order_by=((DOCUMENT_NAME, "asc"),),
            limit=limit,
            offset=offset,
            start_after=None if after is None else (after,),
            select=DOCUMENT_FIELDS[self.level],
        )


# --- planning -------------------------------------------------------------------------------


def _uids(condition: Condition | None) -> tuple[str, ...] | None:
    if isinstance(condition, SingleValueCondition) and isinstance(condition.value, str):
        return (condition.value,)
    if isinstance(condition, UidListCondition):
        return condition.uids
    return None


def _condition_on(query: SearchQuery, tag: int) -> Condition | None:
    for condition in query.conditions:
        if not isinstance(condition, SingleValueCondition | UidListCondition):
            continue
        if condition.path.tags == (tag,):
            return condition
    return None


def _uid_filter(name: str, uids: Sequence[str]) -> Filter:
    return Filter(name, "==", uids[0]) if len(uids) == 1 else Filter(name, "in", list(uids))


def _scope_filters(query: SearchQuery) -> tuple[list[Filter], set[Condition]]:
    """UID filters of the path scope or of parent-UID conditions, and the conditions they enforce."""
    enforced: set[Condition] = set()
    study: Filter | None = None
    series: Filter | None = None
    if query.study_uid is not None:
        study = Filter(STUDY_FIELD, "==", query.study_uid)
    elif query.level is not SearchLevel.STUDY:
        condition = _condition_on(query, _STUDY_UID)
        uids = _uids(condition)
        if condition is not None and uids and len(uids) <= MAX_CLAUSE_TERMS:
            study = _uid_filter(STUDY_FIELD, uids)
            enforced.add(condition)
    if query.series_uid is not None:
        series = Filter(SERIES_FIELD, "==", query.series_uid)
    elif query.level is SearchLevel.INSTANCE:
        condition = _condition_on(query, _SERIES_UID)
        uids = _uids(condition)
        if condition is not None and uids and len(uids) <= MAX_CLAUSE_TERMS:
            series = _uid_filter(SERIES_FIELD, uids)
            enforced.add(condition)
    if study is not None and series is not None and study.op == "in" and series.op == "in":
        # One "in" per query: keep the series list, post-filter the study list.
        enforced.discard(_condition_on(query, _STUDY_UID))
        study = None
    return [f for f in (study, series) if f is not None], enforced


_EXACT_RANK = {
    "PatientID": 100,
    "AccessionNumber": 100,
    "StudyID": 90,
    "RequestAttributesSequence.RequestedProcedureID": 90,
    "RequestAttributesSequence.ScheduledProcedureStepID": 90,
    "SOPClassUID": 30,
    "SOPClassesInStudy": 30,
    "IssuerOfPatientID": 20,
    "SeriesNumber": 20,
    "InstanceNumber": 20,
    "Modality": 15,
    "ModalitiesInStudy": 15,
    "BodyPartExamined": 15,
    "PatientSex": 5,
}
_DEFAULT_EXACT_RANK = 60  # descriptions, institution
MIN_INEXACT_RANK = 30
"""An inexact clause weaker than this (a one-character token such as ``*x*`` gives) finds about
as many candidates as a scan, which reads no index: such a search scans."""
_DATE_RANK = {8: 80, 6: 50, 4: 30, 3: 12, 2: 4, 1: 1}


def _term_rank(term: str) -> int:
    cut = next(i for i, ch in enumerate(term) if ch in "=:~")
    name, kind, rest = term[:cut], term[cut], term[cut + 1 :]
    if kind == "=":
        return _EXACT_RANK.get(name, _DEFAULT_EXACT_RANK)
    if kind == "~":
        return _DATE_RANK[len(rest)]
    token_kind, _, text = rest.partition(":")
    return min(90, 10 + 15 * len(text)) + (5 if token_kind.endswith("p") else 0)


def clause_rank(clause: IndexClause) -> int:
    """Estimated selectivity of a clause (higher: fewer candidates): its weakest term, less a
    little per alternative."""
    return min(_term_rank(term) for term in clause.terms) - 2 * (len(clause.terms) - 1)


def _usable_clauses(query: SearchQuery) -> list[tuple[Condition, IndexClause]]:
    """The conditions' index clauses that narrow a search, most selective first."""
    ranked: list[tuple[int, int, Condition, IndexClause]] = []
    for position, condition in enumerate(query.conditions):
        clause = condition_clause(condition, query.level)
        if clause is None or (not clause.exact and clause_rank(clause) < MIN_INEXACT_RANK):
            continue
        ranked.append((-clause_rank(clause), position, condition, clause))
    return [(condition, clause) for _, _, condition, clause in sorted(ranked, key=lambda item: item[:2])]


def term_field(field: str, term: str) -> str:
    """The field path of ``term`` in the term map ``field`` (``q.words.`PatientName:p:doe```)."""
    return field_path(*field.split("."), term)


def _terms_filter(clause: IndexClause) -> Filter | AnyOf:
    filters = tuple(Filter(term_field(clause.field, term), "==", True) for term in sorted(clause.terms))
    return filters[0] if len(filters) == 1 else AnyOf(filters)


def plan_search(query: SearchQuery) -> SearchPlan:
    """Choose how to read the catalog for ``query`` (see the module docstring)."""
    own = _uids(_condition_on(query, _OWN_UID[query.level]))
    if own is not None:
        return SearchPlan(query.level, documents=tuple(own))
    scope_filters, enforced = _scope_filters(query)
    filters: list[Filter | AnyOf] = list(scope_filters)
    disjunctions = max((len(f.value) for f in scope_filters if f.op == "in"), default=1)
    drivers: list[Condition] = []
    for condition, clause in _usable_clauses(query):
        if len(drivers) == MAX_TERM_FILTERS:
            break
        term_filter = _terms_filter(clause)
        if disjunctions * len(clause.terms) > MAX_CLAUSE_TERMS or term_filter in filters:
            continue
        filters.append(term_filter)
        disjunctions *= len(clause.terms)
        drivers.append(condition)
        if clause.exact:
            enforced.add(condition)
    exact = all(condition in enforced for condition in query.conditions)
    children_of = None
    if query.level is SearchLevel.INSTANCE and query.series_uid is not None:
        children_of = SearchLevel.SERIES
    elif query.level is not SearchLevel.STUDY and query.study_uid is not None:
        children_of = SearchLevel.STUDY
    return SearchPlan(query.level, filters=tuple(filters), drivers=tuple(drivers), exact=exact,
                      children_of=children_of)


# --- execution ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchOutcome:
    """One response's worth of a search."""

    results: list[dict[str, Any]]
    """Shaped results (PS3.18 §10.6.3.3), in result order."""
    more: bool
    """Matches exist after this page."""
    truncated: bool
    """:data:`SCAN_CAP` stopped the search: there may be matches it did not reach."""
    scanned: int
    """Candidate documents read."""
    studies: list[str] = field(default_factory=list)
    """Study Instance UIDs of the results (for the audit record)."""


@dataclass
class _Parents:
    """Study and series documents of candidates, read in batches and kept for the request."""

    store: MetadataStore
    scope: TenantScope
    studies: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    series: dict[str, Mapping[str, Any]] = field(default_factory=dict)

    def load(self, docs: Sequence[Mapping[str, Any]], level: SearchLevel) -> None:
        if level is SearchLevel.STUDY:
            return
        self._fill(self.studies, {str(d.get(STUDY_FIELD)) for d in docs}, SearchLevel.STUDY)
        if level is SearchLevel.INSTANCE:
            self._fill(self.series, {str(d.get(SERIES_FIELD)) for d in docs}, SearchLevel.SERIES)

    def _fill(self, cache: dict[str, Mapping[str, Any]], uids: set[str], level: SearchLevel) -> None:
        missing = sorted(uid for uid in uids if uid not in cache)
        if missing:
            for uid, doc in zip(missing, _by_id(self.store, self.scope, level, missing)):
                cache[uid] = doc or {}

    def record(self, doc: Mapping[str, Any], level: SearchLevel, root: DicomwebRoot) -> dict[str, Any]:
        if level is SearchLevel.STUDY:
            return study_record(doc, root)
        study = self.studies.get(str(doc.get(STUDY_FIELD)), {})
        if level is SearchLevel.SERIES:
            return series_record(study, doc, root)
        return instance_record(study, self.series.get(str(doc.get(SERIES_FIELD)), {}), doc, root)


@dataclass
class _Reader:
    """Candidates of a query plan in result order, page by page, under the scan cap."""

    store: MetadataStore
    scope: TenantScope
    plan: SearchPlan
    budget: int
    page_size: int
    offset: int = 0
    truncated: bool = False

    def pages(self) -> Iterator[list[dict[str, Any]]]:
        after: str | None = None
        offset = self.offset
        while True:
            size = min(self.page_size, self.budget)
            if size <= 0:
                self.truncated = True
                return
            docs = self.store.query(self.plan.store_query(self.scope, limit=size, offset=offset, after=after))
            offset = 0
            self.budget -= len(docs)
            if docs:
                yield [doc.data for doc in docs]
            if len(docs) < size:
                return
            after = docs[-1].path
            self.page_size = min(self.page_size * 2, PAGE_MAX)


_PATHS: dict[SearchLevel, Callable[[TenantScope, str], str]] = {
    SearchLevel.STUDY: f.study_path,
    SearchLevel.SERIES: f.series_path,
    SearchLevel.INSTANCE: f.instance_path,
}


def _by_id(
    store: MetadataStore, scope: TenantScope, level: SearchLevel, uids: Sequence[str]
) -> list[dict[str, Any] | None]:
    """The documents of ``uids`` at ``level`` (``None`` for those that do not exist), only the
    fields records read."""
    return store.get_many([_PATHS[level](scope, uid) for uid in uids], DOCUMENT_FIELDS[level])


def _existing(
    store: MetadataStore, scope: TenantScope, level: SearchLevel, uids: Sequence[str]
) -> list[dict[str, Any]]:
    """The documents of those of ``uids`` (distinct) that exist."""
    return [doc for doc in _by_id(store, scope, level, list(dict.fromkeys(uids))) if doc is not None]


CHILD_WINDOW = 200
"""Child documents read by id per round (plan 2) when conditions must be checked on them."""


def _listed_children(store: MetadataStore, scope: TenantScope, query: SearchQuery) -> list[str] | None:
    """The UIDs of the children plan 2 reads, sorted (result order), or ``None`` when a parent
    does not list them all (the query plan then runs)."""
    if query.level is SearchLevel.INSTANCE and query.series_uid is not None:
        uids = f.listed_instances(store.get(f.series_members_path(scope, query.series_uid)))
        return None if uids is None else sorted(set(uids))
    assert query.study_uid is not None
    study = store.get(f.study_path(scope, query.study_uid))
    if study is None:
        return []
    series = f.listed_series(study)
    if series is None or query.level is SearchLevel.SERIES:
        return None if series is None else sorted(set(series))
    members = store.get_many([f.series_members_path(scope, uid) for uid in series])
    instances: set[str] = set()
    for doc in members:
        listed = f.listed_instances(doc)
        if listed is None:
            return None
        instances.update(listed)
    return sorted(instances)


@dataclass
class _ChildReader:
    """Plan 2's documents: the listed children read by id, a window at a time, in result order."""

    store: MetadataStore
    scope: TenantScope
    level: SearchLevel
    uids: list[str]
    budget: int
    truncated: bool = False

    def pages(self) -> Iterator[list[dict[str, Any]]]:
        for start in range(0, len(self.uids), CHILD_WINDOW):
            window = self.uids[start : start + CHILD_WINDOW][: self.budget]
            if not window:
                self.truncated = True
                return
            self.budget -= len(window)
            docs = _existing(self.store, self.scope, self.level, window)
            if docs:
                yield docs


def search_catalog(
    store: MetadataStore,
    scope: TenantScope,
    query: SearchQuery,
    root: DicomwebRoot,
    *,
    scan_cap: int = SCAN_CAP,
) -> SearchOutcome:
    """Run ``query`` over the tenant's catalog: the page ``offset``..``offset + limit``."""
    plan = plan_search(query)
    level = query.level
    parents = _Parents(store, scope)
    reader: _Reader | None = None
    skip = query.offset
    children = None
    if plan.documents is None and plan.children_of is not None:
        children = _listed_children(store, scope, query)
    child_reader: _ChildReader | None = None
    if plan.documents is not None:
        docs = _existing(store, scope, level, plan.documents)
        parents.load(docs, level)
        records = sorted((parents.record(doc, level, root) for doc in docs), key=lambda r: sort_key(level, r))
        batches: Iterator[list[dict[str, Any]]] = iter([records])
        scanned = len(docs)
    elif children is not None:
        if not query.conditions:  # every listed child matches: read only the page's window
            children = children[skip : skip + query.limit + 1]
            skip = 0
        child_reader = _ChildReader(store, scope, level, children, budget=scan_cap)
        batches = _records(child_reader, parents, level, root)
        scanned = 0
    else:
        pushed = query.offset if plan.exact else 0
        skip -= pushed
        first = min(max(skip + query.limit + 1, FIRST_PAGE_MIN), PAGE_MAX)
        reader = _Reader(store, scope, plan, budget=scan_cap, page_size=first, offset=pushed)
        batches = _records(reader, parents, level, root)
        scanned = 0
    page: list[dict[str, Any]] = []
    more = False
    for batch in batches:
        for record in batch:
            if not matches(query, record):
                continue
            if skip > 0:
                skip -= 1
            elif len(page) < query.limit:
                page.append(record)
            else:
                more = True
                break
        if more:
            break
    paged = reader or child_reader
    if paged is not None:
        scanned = scan_cap - paged.budget
    truncated = paged is not None and paged.truncated and not more
    studies = sorted({sort_key(SearchLevel.STUDY, record)[0] for record in page})
    return SearchOutcome([shape_result(query, record) for record in page], more, truncated, scanned, studies)


def _records(
    reader: _Reader | _ChildReader, parents: _Parents, level: SearchLevel, root: DicomwebRoot
) -> Iterator[list[dict[str, Any]]]:
    for docs in reader.pages():
        parents.load(docs, level)
        # Already in result order: query pages by document name, child windows by sorted UID.
        yield [parents.record(doc, level, root) for doc in docs]
