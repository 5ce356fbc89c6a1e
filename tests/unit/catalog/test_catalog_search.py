"""The Firestore translator: driver choice, searches served without composite indexes, paging and
the scan cap (against an in-memory catalog that answers queries the way Firestore does)."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest
from google.cloud.firestore_v1.field_path import FieldPath
from hypothesis import given, settings
from hypothesis import strategies as st

from beamit.catalog import fields as catalog
from beamit.catalog.search import (
    COLLECTIONS,
    SearchPlan,
    plan_search,
    search_catalog,
)
from beamit.catalog.search_results import instance_record, series_record, study_record
from beamit.dicomweb.qido.attributes import SearchLevel
from beamit.dicomweb.qido.index import KEYS_FIELD, WORDS_FIELD, index_fields
from beamit.dicomweb.qido.query import parse_search
from beamit.dicomweb.qido.reference import search
from beamit.dicomweb.uri import DicomwebRoot
from beamit.storage import DOCUMENT_NAME as NAME
from beamit.storage import AnyOf, Document, Filter, Query
from beamit.storage.firestore import index_shape
from beamit.tenancy import TenantScope
from tests.infra.indexes import declared_indexes, uncovered
from tests.unit.qido.test_reference import record

STUDY, SERIES, INSTANCE = SearchLevel.STUDY, SearchLevel.SERIES, SearchLevel.INSTANCE
SCOPE = TenantScope("t-unit")
ROOT = DicomwebRoot("https://api.example.org/v1/dicomweb")


def plan(level: SearchLevel, params: dict[str, str], **scope: str) -> SearchPlan:
    return plan_search(parse_search(level, params, **scope))


def _term(flt: Filter) -> tuple[str, str]:
    """(term map, term) of a term filter ``q.words.`<term>` == true``."""
    *parent, term = FieldPath.from_api_repr(flt.field).parts
    assert flt.op == "==" and flt.value is True
    return ".".join(parent), term


def filters(p: SearchPlan) -> list[tuple[str, str, Any]]:
    """Each filter as (field, op, value); a term filter as (term map, "==", term), a disjunction
    of term filters as (term map, "any", [terms])."""
    out: list[tuple[str, str, Any]] = []
    for f in p.filters:
        if isinstance(f, AnyOf):
            terms = [_term(part) for part in f.filters]
            assert len({field for field, _ in terms}) == 1
            out.append((terms[0][0], "any", [term for _, term in terms]))
        elif f.field.startswith("q."):
            field, term = _term(f)
            out.append((field, "==", term))
        else:
            out.append((f.field, f.op, f.value))
    return out


# --- driver choice ----------------------------------------------------------------------------


def test_own_uids_are_read_by_id() -> None:
    p = plan(STUDY, {"StudyInstanceUID": "1.2\\1.3", "PatientName": "DOE*"})
    assert p.documents == ("1.2", "1.3") and p.filters == ()
    p = plan(INSTANCE, {"SOPInstanceUID": "1.2.3.4"}, study_uid="1.2", series_uid="1.2.3")
    assert p.documents == ("1.2.3.4",)


def test_path_scope_filters_and_combines_with_a_clause() -> None:
    assert filters(plan(SERIES, {}, study_uid="1.2")) == [("studyUID", "==", "1.2")]
    p = plan(INSTANCE, {"SOPClassUID": "1.2.840.10008.5.1.4.1.1.2"}, study_uid="1.2", series_uid="1.2.3")
    assert filters(p) == [("studyUID", "==", "1.2"), ("seriesUID", "==", "1.2.3"),
                          (KEYS_FIELD, "==", "SOPClassUID=1.2.840.10008.5.1.4.1.1.2")]
    assert p.exact


def test_parent_uid_conditions_filter_by_field() -> None:
    assert filters(plan(SERIES, {"StudyInstanceUID": "1.2"})) == [("studyUID", "==", "1.2")]
    p = plan(INSTANCE, {"StudyInstanceUID": "1.2\\1.3", "SeriesInstanceUID": "1.2.3,1.2.4", "Modality": "CT"})
    assert filters(p) == [("seriesUID", "in", ["1.2.3", "1.2.4"]), (KEYS_FIELD, "==", "Modality=CT")]
    assert not p.exact  # the study list is checked on the candidates (one "in" per query)
    many = "\\".join(f"1.2.{n}" for n in range(31))
    assert filters(plan(SERIES, {"StudyInstanceUID": many})) == []  # more than 30: post-filter


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"PatientID": "ID1", "PatientName": "DOE^JOHN"}, (KEYS_FIELD, "==", "PatientID=ID1")),
        ({"PatientName": "DOE^JOHN", "ModalitiesInStudy": "CT"}, (WORDS_FIELD, "==", "PatientName:p:john")),
        ({"StudyDate": "20200115", "PatientName": "D*"}, (KEYS_FIELD, "==", "StudyDate~20200115")),
        ({"StudyDate": "20200101-", "PatientName": "DOE*"}, (WORDS_FIELD, "==", "PatientName:p:doe")),
        ({"PatientSex": "F", "StudyDescription": "*brain*"}, (WORDS_FIELD, "==", None)),
        ({"PatientName": "joh", "fuzzymatching": "true"}, (WORDS_FIELD, "any", None)),
        ({"ModalitiesInStudy": "CT\\MR"}, (KEYS_FIELD, "any", ["ModalitiesInStudy=CT",
                                                                          "ModalitiesInStudy=MR"])),
    ],
)
def test_the_most_selective_clause_drives(params: dict[str, str], expected: tuple[str, str, Any]) -> None:
    name, op, value = filters(plan(STUDY, params))[0]
    assert (name, op) == expected[:2]
    if expected[2] is not None:
        assert value == expected[2]


def test_several_conditions_narrow_one_query_within_thirty_disjunctions() -> None:
    p = plan(STUDY, {"StudyDate": "20250101-20251231", "ModalitiesInStudy": "US", "PatientName": "DOE*"})
    assert filters(p) == [(WORDS_FIELD, "==", "PatientName:p:doe"), (KEYS_FIELD, "==", "StudyDate~2025"),
                          (KEYS_FIELD, "==", "ModalitiesInStudy=US")]
    assert not p.exact  # PatientName is checked on the candidates
    wide = plan(STUDY, {"ModalitiesInStudy": "CT\\MR\\US\\CR", "StudyDate": "20190315-20230611"})
    terms = [len(value) if op == "any" else 1 for _, op, value in filters(wide)]
    assert terms == [4]  # the 4 modalities; the date range's cover with them would pass 30 disjunctions
    listed = plan(INSTANCE, {"SeriesInstanceUID": "\\".join(f"1.2.{n}" for n in range(16)),
                             "SOPClassUID": "1.2\\1.3"})
    assert [op for _, op, _ in filters(listed)] == ["in"]  # 16 x 2 disjunctions would pass 30
    crowded = plan(STUDY, {"PatientID": "P1", "AccessionNumber": "A1", "StudyID": "S1", "PatientSex": "F"})
    assert len(crowded.filters) == 3 and not crowded.exact


def test_a_series_search_never_drives_by_study_aggregates() -> None:
    assert filters(plan(SERIES, {"ModalitiesInStudy": "CT"})) == []
    assert filters(plan(SERIES, {"ModalitiesInStudy": "CT", "Modality": "MR"})) == [
        (KEYS_FIELD, "==", "Modality=MR")]


def test_scans_and_exactness() -> None:
    p = plan(STUDY, {"StudyTime": "10-12"})
    assert p.filters == () and p.documents is None and not p.exact
    assert plan(STUDY, {"PatientName": "*x*"}).filters == ()  # a one-letter n-gram selects little: scan
    assert filters(plan(STUDY, {"PatientName": "x*"})) == [(WORDS_FIELD, "==", "PatientName:p:x")]
    assert filters(plan(STUDY, {"PatientSex": "F"})) == [(KEYS_FIELD, "==", "PatientSex=F")]  # exact
    assert plan(STUDY, {}).exact and plan(STUDY, {"ModalitiesInStudy": "CT"}).exact
    assert plan(STUDY, {"StudyDate": "20190101-20201231"}).exact
    assert plan(STUDY, {"ModalitiesInStudy": "CT", "PatientSex": "F"}).exact  # two exact term filters
    assert not plan(STUDY, {"ModalitiesInStudy": "CT", "StudyTime": "10-"}).exact
    assert not plan(STUDY, {"PatientName": "DOE"}).exact


# --- no search needs a composite index --------------------------------------------------------

SWEEP = [
    {}, {"PatientName": "DOE*"}, {"PatientName": "jo", "fuzzymatching": "true"}, {"PatientID": "X"},
    {"StudyDate": "20200101-"}, {"StudyTime": "10-"}, {"ModalitiesInStudy": "CT"}, {"StudyDescription": "*x*"},
    {"StudyInstanceUID": "1.2"}, {"StudyInstanceUID": "1.2\\1.3"}, {"Modality": "CT"}, {"SeriesDescription": "a*"},
    {"SeriesInstanceUID": "1.2.3"}, {"SeriesInstanceUID": "1.2.3\\1.2.4"}, {"SOPClassUID": "1.2"},
    {"SOPInstanceUID": "1.2.3.4"}, {"InstanceNumber": "1"}, {"StudyInstanceUID": "1.2", "SeriesInstanceUID": "1.2.3"},
    {"StudyInstanceUID": "1.2\\1.5", "SeriesInstanceUID": "1.2.3", "Modality": "CT"},
    {"StudyInstanceUID": "1.2", "SeriesInstanceUID": "1.2.3\\1.2.4", "PatientName": "A*"},
    {"StudyDate": "19500101-20251231", "ModalitiesInStudy": "CT\\MR"},
    {"PatientName": "müller", "fuzzymatching": "true"},
]
RESOURCES = [(STUDY, {}), (SERIES, {}), (INSTANCE, {}), (SERIES, {"study_uid": "1.2"}),
             (INSTANCE, {"study_uid": "1.2"}), (INSTANCE, {"study_uid": "1.2", "series_uid": "1.2.3"})]


def _swept_plans() -> list[SearchPlan]:
    plans = []
    for level, scope in RESOURCES:
        for params in SWEEP:
            try:
                p = plan(level, params, **scope)
            except ValueError:
                continue  # a key this resource cannot match
            if p.documents is None:
                plans.append(p)
    return plans


def test_every_search_is_served_without_a_composite_index() -> None:
    """Equalities (at most 30 disjunctions in all) in document name order: Firestore
    merges single-field indexes for them, so terraform/firestore_indexes.tf needs no QIDO entry."""
    kinds = set()
    for p in _swept_plans():
        query = p.store_query(SCOPE, limit=5, after=SCOPE.collection("studies") + "/1.2")
        collection, fields = index_shape(query)
        assert fields == (), (p, fields)
        assert uncovered([(collection, fields)], declared_indexes()) == []
        assert query.order_by == ((NAME, "asc"),)
        sizes = [len(f.filters) if isinstance(f, AnyOf) else len(f.value) if f.op == "in" else 1 for f in p.filters]
        assert math.prod(sizes) <= 30  # Firestore's disjunctive normal form limit
        assert sum(f.op == "in" for f in p.filters if isinstance(f, Filter)) <= 1
        kinds.add(tuple(type(f).__name__ + ("" if isinstance(f, AnyOf) else f.op) for f in p.filters))
    assert len(kinds) >= 8  # the sweep reaches most kinds of plan
    assert not any(name.startswith("q") or name.endswith("-sort") for name in _declared_index_names())


def _declared_index_names() -> set[str]:
    from tests.infra.terraform_model import parse_terraform

    return set(parse_terraform().locals()["firestore_indexes"])


def test_single_field_settings_keep_every_index_the_catalog_queries_use() -> None:
    """terraform/firestore_fields.tf drops the indexes of the catalog's read-only maps and the
    descending ones of the term maps: no query the code makes may filter or order on those."""
    from tests.infra.terraform_model import parse_terraform

    settings = parse_terraform().locals()
    fields = settings["firestore_field_indexes"].values()
    unindexed = {(v["collection"], v["field"]) for v in fields if v["orders"] == []}
    ascending = {(v["collection"], v["field"]) for v in fields if v["orders"] == ["ASCENDING"]}
    assert len(unindexed) + len(ascending) == len(fields)  # no other setting goes unchecked
    assert ("instances", "dicom") in unindexed and ("instances", "q.words") in ascending
    used: set[tuple[str, str]] = {(catalog.INSTANCES, "studyUID"), (catalog.INSTANCES, "seriesUID")}  # WADO-RS
    for p in _swept_plans():
        collection = COLLECTIONS[p.level]
        for f in p.filters:
            for part in f.filters if isinstance(f, AnyOf) else (f,):
                parts = FieldPath.from_api_repr(part.field).parts
                used.add((collection, ".".join(parts[:2]) if parts[0] == "q" else parts[0]))
    assert {(c, f) for c, f in used if f.startswith("q.")} <= ascending
    assert not used & unindexed


# --- execution against an in-memory Firestore -------------------------------------------------


def _field(data: dict[str, Any], path: str) -> Any:
    value: Any = data
    for part in FieldPath.from_api_repr(path).parts:
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _keep(data: dict[str, Any], flt: Filter | AnyOf) -> bool:
    if isinstance(flt, AnyOf):
        return any(_keep(data, part) for part in flt.filters)
    value = _field(data, flt.field)
    if flt.op == "==":
        return value is not None and bool(value == flt.value)
    if flt.op == "in":
        return value in flt.value
    raise AssertionError(flt.op)


class MemoryCatalog:
    """The subset of MetadataStore the translator uses, with Firestore's query semantics."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        self.queries: list[Query] = []

    def get(self, path: str, fields: Sequence[str] | None = None) -> dict[str, Any] | None:
        doc = self.docs.get(path)
        return None if doc is None else _project(doc, None if fields is None else tuple(fields))

    def get_many(self, paths: Sequence[str], fields: Sequence[str] | None = None) -> list[dict[str, Any] | None]:
        return [self.get(p, fields) for p in paths]

    def query(self, query: Query) -> list[Document]:
        self.queries.append(query)
        prefix = query.collection + "/"
        rows = [(p, d) for p, d in self.docs.items() if p.startswith(prefix) and "/" not in p[len(prefix):]]
        rows = [(p, d) for p, d in rows if all(_keep(d, flt) for flt in query.filters)]
        assert query.order_by == ((NAME, "asc"),)
        rows.sort(key=lambda r: r[0].rsplit("/", 1)[1])  # by document id, within one collection
        if query.start_after is not None:
            after = query.start_after[0].rsplit("/", 1)[1]
            rows = [r for r in rows if r[0].rsplit("/", 1)[1] > after]
        rows = rows[query.offset:]
        if query.limit is not None:
            rows = rows[: query.limit]
        return [Document(p, _project(d, query.select)) for p, d in rows]


def _project(data: dict[str, Any], paths: tuple[str, ...] | None) -> dict[str, Any]:
    if paths is None:
        return data
    out: dict[str, Any] = {}
    for path in paths:
        value = _field(data, path)
        if value is not None:
            *parents, leaf = path.split(".")
            target = out
            for part in parents:
                target = target.setdefault(part, {})
            target[leaf] = value
    return out


def build_catalog(seed: int = 7, studies: int = 14) -> tuple[MemoryCatalog, dict[SearchLevel, list[dict[str, Any]]]]:
    rng = random.Random(seed)
    store = MemoryCatalog()
    records: dict[SearchLevel, list[dict[str, Any]]] = {level: [] for level in SearchLevel}
    names = ["Doe^John", "Doe^Jane", "Müller^Jürgen", "Yamada^Tarou=山田^太郎=やまだ^たろう", "Smith^Anna"]
    for s in range(studies):
        study_uid = f"1.2.{rng.randint(1, 99)}.{s}"
        study = record(StudyInstanceUID=study_uid, PatientName=rng.choice(names), PatientID=f"P{s % 5}",
                       StudyDate=f"20{rng.randint(10, 24)}0{rng.randint(1, 9)}1{rng.randint(0, 9)}",
                       StudyDescription=rng.choice(["CT chest", "MR brain", "XR hand"]),
                       StudyTime=rng.choice(["0830", "1015", "1400", "2300"]))
        modalities, classes, instances_total, series_docs = set(), set(), 0, []
        for n in range(rng.randint(1, 3)):
            series_uid = f"{study_uid}.{n + 1}"
            modality = rng.choice(["CT", "MR", "SR"])
            series = record(SeriesInstanceUID=series_uid, Modality=modality, SeriesNumber=n + 1)
            count = rng.randint(1, 4)
            for i in range(count):
                sop = f"{series_uid}.{i + 1}"
                instance = record(SOPInstanceUID=sop, SOPClassUID=f"1.2.840.{n}", InstanceNumber=i + 1)
                store.docs[catalog.instance_path(SCOPE, sop)] = {
                    "studyUID": study_uid, "seriesUID": series_uid, "sopInstanceUID": sop, "dicom": instance,
                    "q": index_fields(INSTANCE, study, series, instance)}
                classes.add(f"1.2.840.{n}")
            modalities.add(modality)
            instances_total += count
            series_docs.append(series_uid)
            store.docs[catalog.series_path(SCOPE, series_uid)] = {
                "studyUID": study_uid, "seriesUID": series_uid, "dicom": series, "instanceCount": count,
                "q": index_fields(SERIES, study, series)}
        store.docs[catalog.study_path(SCOPE, study_uid)] = {
            "studyUID": study_uid, "dicom": study, "modalities": sorted(modalities), "sopClasses": sorted(classes),
            "seriesCount": len(series_docs), "instanceCount": instances_total,
            "q": index_fields(STUDY, study, modalities=modalities, sop_classes=classes)}
        if s % 3:  # parents listing their children (ingest's child lists); the others predate them
            store.docs[catalog.study_path(SCOPE, study_uid)]["seriesUIDs"] = list(reversed(series_docs))
            for series_uid in series_docs:
                store.docs[catalog.series_members_path(SCOPE, series_uid)] = {"instances": [
                    path.rsplit("/", 1)[1] for path, doc in store.docs.items()
                    if path.startswith(SCOPE.collection("instances") + "/") and doc["seriesUID"] == series_uid]}
    docs = store.docs
    for path, doc in docs.items():
        if path.startswith(SCOPE.collection("studies") + "/"):
            records[STUDY].append(study_record(doc, ROOT))
        elif path.startswith(SCOPE.collection("series") + "/"):
            records[SERIES].append(series_record(docs[catalog.study_path(SCOPE, doc["studyUID"])], doc, ROOT))
        elif path.startswith(SCOPE.collection("instances") + "/"):
            records[INSTANCE].append(instance_record(docs[catalog.study_path(SCOPE, doc["studyUID"])],
                                                     docs[catalog.series_path(SCOPE, doc["seriesUID"])], doc, ROOT))
    return store, records


STORE, RECORDS = build_catalog()
PARAMS = st.fixed_dictionaries(
    {},
    optional={
        "PatientName": st.sampled_from(["doe*", "*a*", "Doe^Jane", "山田*", "jo", "mull"]),
        "PatientID": st.sampled_from(["P1", "P3", "P*"]),
        "StudyDate": st.sampled_from(["20150101-", "-20180101", "20120101-20201231", "20140315"]),
        "ModalitiesInStudy": st.sampled_from(["CT", "MR\\SR"]),
        "StudyDescription": st.sampled_from(["*ch*", "ct chest", "MR*"]),
        "StudyTime": st.sampled_from(["0800-1100", "2200-"]),
        "fuzzymatching": st.sampled_from(["true", "false"]),
        "limit": st.sampled_from(["0", "1", "2", "5", "200"]),
        "offset": st.sampled_from(["0", "1", "3", "10"]),
    },
)


@given(PARAMS, st.sampled_from([STUDY, SERIES, INSTANCE]), st.sampled_from([3, 10, 10_000]))
@settings(max_examples=250, deadline=None)
def test_pages_equal_the_reference_search(params: dict[str, str], level: SearchLevel, cap: int) -> None:
    query = parse_search(level, params)
    outcome = search_catalog(STORE, SCOPE, query, ROOT, scan_cap=cap)  # type: ignore[arg-type]
    expected = search(query, RECORDS[level])
    everything = search(replace(query, offset=0, limit=10**6), RECORDS[level])
    if outcome.truncated:
        assert outcome.scanned >= cap and outcome.results == expected[: len(outcome.results)]
    else:
        assert outcome.results == expected
        assert outcome.more == (len(everything) > query.offset + query.limit)
    assert outcome.scanned <= max(cap, 1000)


SCOPED = [(SERIES, study, None) for study in sorted({r["0020000D"]["Value"][0] for r in RECORDS[STUDY]})] + [
    (INSTANCE, r["0020000D"]["Value"][0], r["0020000E"]["Value"][0]) for r in RECORDS[SERIES]] + [
    (INSTANCE, study, None) for study in sorted({r["0020000D"]["Value"][0] for r in RECORDS[STUDY]})]


@given(st.sampled_from(SCOPED), st.fixed_dictionaries({}, optional={
    "Modality": st.sampled_from(["CT", "MR"]), "InstanceNumber": st.sampled_from(["1", "2"]),
    "limit": st.sampled_from(["1", "2", "200"]), "offset": st.sampled_from(["0", "1", "3"])}))
@settings(max_examples=200, deadline=None)
def test_children_of_a_path_equal_the_reference_search(scoped: tuple[SearchLevel, str, str | None],
                                                      params: dict[str, str]) -> None:
    level, study, series = scoped
    if level is SERIES:
        params.pop("InstanceNumber", None)  # an instance attribute: refused in a series search
    if series is not None:
        params.pop("Modality", None)  # the series is fixed by the path: its attributes are refused
    query = parse_search(level, params, study_uid=study, series_uid=series)
    outcome = search_catalog(STORE, SCOPE, query, ROOT)  # type: ignore[arg-type]
    everything = search(replace(query, offset=0, limit=10**6), RECORDS[level])
    assert outcome.results == search(query, RECORDS[level])
    assert outcome.more == (len(everything) > query.offset + query.limit)


def test_listed_children_are_read_by_id_and_unlisted_ones_found_by_a_query() -> None:
    listed = [d for p, d in STORE.docs.items() if p.startswith(SCOPE.collection("studies") + "/") and "seriesUIDs" in d]
    unlisted = [d for p, d in STORE.docs.items() if p.startswith(SCOPE.collection("studies") + "/")
                and "seriesUIDs" not in d]
    assert listed and unlisted
    for doc, queries in ((listed[0], 0), (unlisted[0], 1)):
        for level in (SERIES, INSTANCE):
            STORE.queries.clear()
            query = parse_search(level, {}, study_uid=doc["studyUID"])
            assert search_catalog(STORE, SCOPE, query, ROOT).results  # type: ignore[arg-type]
            assert len(STORE.queries) == queries, (level, doc["studyUID"])


def test_a_scan_stops_at_the_cap_and_says_so() -> None:
    query = parse_search(INSTANCE, {"StudyTime": "1000-1100", "limit": "50"})  # no clause drives it: a scan
    outcome = search_catalog(STORE, SCOPE, query, ROOT, scan_cap=5)  # type: ignore[arg-type]
    assert outcome.truncated and outcome.scanned == 5
    full = search_catalog(STORE, SCOPE, query, ROOT)  # type: ignore[arg-type]
    assert not full.truncated and full.results == search(query, RECORDS[INSTANCE])


def test_an_exact_plan_hands_the_offset_to_firestore() -> None:
    STORE.queries.clear()
    query = parse_search(STUDY, {"ModalitiesInStudy": "CT", "offset": "3", "limit": "2"})
    outcome = search_catalog(STORE, SCOPE, query, ROOT, scan_cap=3)  # type: ignore[arg-type]
    assert outcome.results == search(query, RECORDS[STUDY]) and not outcome.truncated
    assert STORE.queries[0].offset == 3 and STORE.queries[0].order_by == ((NAME, "asc"),)


def test_pages_are_read_in_sort_order_with_cursors() -> None:
    STORE.queries.clear()
    query = parse_search(INSTANCE, {"StudyTime": "0800-0900", "limit": "25"})  # a scan (TM is not indexed)
    outcome = search_catalog(STORE, SCOPE, query, ROOT)  # type: ignore[arg-type]
    assert outcome.results == search(query, RECORDS[INSTANCE]) and outcome.more
    first, second = STORE.queries[:2]  # pages of limit + 1, then twice as many, after the last document
    assert (first.limit, first.start_after) == (26, None)
    assert second.limit == 52 and second.start_after is not None
    assert second.start_after[0].startswith(SCOPE.collection(catalog.INSTANCES) + "/")
