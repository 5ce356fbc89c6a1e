"""The QIDO-RS index fields: sort strings, document terms, date covers, condition clauses.

The central property: for any record and any condition, if the reference matcher accepts the
record, the record's index terms contain one of the condition's clause terms (no false
negatives), and for an ``exact`` clause the converse holds too.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from beamit.dicomweb.qido.attributes import SearchLevel, tag_key
from beamit.dicomweb.qido.errors import QueryError
from beamit.dicomweb.qido.index import (
    KEYS_FIELD,
    MAX_CLAUSE_TERMS,
    WORDS_FIELD,
    InstanceTerms,
    aggregate_terms,
    condition_clause,
    date_cover,
    index_fields,
    merge_levels,
)
from beamit.dicomweb.qido.query import parse_search
from beamit.dicomweb.qido.reference import condition_matches
from tests.unit.qido.test_reference import element, record

STUDY, SERIES, INSTANCE = SearchLevel.STUDY, SearchLevel.SERIES, SearchLevel.INSTANCE


# --- document terms ---------------------------------------------------------------------------


def study_json(**extra: object) -> dict[str, Any]:
    values: dict[str, object] = {
        "StudyInstanceUID": "1.2.3",
        "PatientName": "Doe^John",
        "PatientID": " ID 1 ",
        "StudyDate": "20200115",
        "StudyDescription": "CT Chest w/o",
        "InstitutionName": "Study Hospital",
    }
    return record(**{**values, **extra})


def test_study_document_terms() -> None:
    q = index_fields(STUDY, study_json(), modalities=["CT", " MR"], sop_classes=["1.2.840.10008.5.1.4.1.1.2"])
    keys, words = set(q["keys"]), set(q["words"])
    assert {"PatientID=ID 1", "StudyDescription=ct chest w/o", "ModalitiesInStudy=CT", "ModalitiesInStudy=MR",
            "SOPClassesInStudy=1.2.840.10008.5.1.4.1.1.2"} <= keys
    assert {f"StudyDate~{'20200115'[:n]}" for n in (1, 2, 3, 4, 6, 8)} <= keys
    assert {"PatientName:p:doe", "PatientName:fp:jo", "PatientName:g:ohn", "StudyDescription:p:chest",
            "StudyDescription:p:o", "StudyDescription:g:hes", "PatientID:p:id"} <= words
    assert not any(term.startswith(("StudyInstanceUID", "InstitutionName")) for term in keys | words)
    assert all(q["keys"].values()) and all(q["words"].values())  # maps of term -> true
    assert set(q) == {"keys", "words"}


def test_child_documents_carry_their_parents_terms() -> None:
    series = record(SeriesInstanceUID="1.2.3.4", Modality="CT", SeriesNumber=3, InstitutionName="Series Site")
    instance = record(SOPInstanceUID="1.2.3.4.5", SOPClassUID="1.2.840.10008.5.1.4.1.1.2", InstanceNumber="07")
    q = index_fields(SERIES, study_json(), series)
    assert {"PatientID=ID 1", "Modality=CT", "SeriesNumber=3", "InstitutionName=series site"} <= set(q["keys"])
    assert "InstitutionName:p:series" in q["words"] and "InstitutionName:p:study" not in q["words"]
    assert "InstanceNumber=7" not in q["keys"]
    q = index_fields(INSTANCE, study_json(), series, instance)
    assert {"Modality=CT", "SOPClassUID=1.2.840.10008.5.1.4.1.1.2", "InstanceNumber=7"} <= set(q["keys"])
    assert not any(term.startswith("ModalitiesInStudy") for term in q["keys"])  # aggregates stay on studies


def test_instance_terms_of_a_batch_equal_index_fields() -> None:
    """Ingest's per-batch cache gives each instance exactly its ``index_fields``, also when an
    instance data set holds a series attribute (which then shadows the series' value)."""
    study = study_json()
    series = [record(SeriesInstanceUID=f"1.2.3.{n}", Modality=m, SeriesDescription=f"Series {m} {n}")
              for n, m in ((4, "CT"), (5, "MR"))]
    instances = [record(SOPInstanceUID=f"1.2.3.4.{n}", SOPClassUID="1.2.840.10008.5.1.4.1.1.2", InstanceNumber=n)
                 for n in range(1, 5)]
    instances.append(record(SOPInstanceUID="1.2.3.4.9", InstanceNumber="9", Modality="OT"))
    terms = InstanceTerms()
    for parent in series:
        for instance in instances:
            batched = terms.index_fields(study, parent, instance)
            alone = index_fields(INSTANCE, study, parent, instance)
            assert batched == alone
            # In the same order too: a series' equal word maps are encoded once (firestore_writes).
            assert [list(batched[name]) for name in ("keys", "words")] == [list(alone[n]) for n in ("keys", "words")]
    assert "Modality=OT" in terms.index_fields(study, series[0], instances[-1])["keys"]


def test_sequence_values_and_odd_values() -> None:
    study = study_json(StudyDate=["2020.01.15", "not a date"], PatientBirthDate="19991301")
    series = record(SeriesInstanceUID="1.2.3.4", SeriesNumber="1A")
    series[tag_key(0x00400275)] = {"vr": "SQ", "Value": [
        record(ScheduledProcedureStepID="SPS1"), record(ScheduledProcedureStepID="SPS2", RequestedProcedureID="RP"),
    ]}
    keys = set(index_fields(SERIES, study, series)["keys"])
    assert "StudyDate~20200115" in keys and not any(k.startswith("PatientBirthDate") for k in keys)
    assert not any(k.startswith("SeriesNumber") for k in keys)
    assert {"RequestAttributesSequence.ScheduledProcedureStepID=SPS1",
            "RequestAttributesSequence.ScheduledProcedureStepID=SPS2",
            "RequestAttributesSequence.RequestedProcedureID=RP"} <= keys


def test_aggregate_terms() -> None:
    assert aggregate_terms(["MR", "CT ", ""], ["1.2"]) == ["ModalitiesInStudy=CT", "ModalitiesInStudy=MR",
                                                          "SOPClassesInStudy=1.2"]


# --- date covers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "prefixes", "exact"),
    [
        (date(2020, 1, 15), date(2020, 1, 15), {"20200115"}, True),
        (date(2020, 1, 1), date(2020, 12, 31), {"2020"}, True),
        (date(2020, 2, 1), date(2020, 2, 29), {"202002"}, True),
        (date(2000, 1, 1), date(2099, 12, 31), {"20"}, True),
        (None, None, {str(d) for d in range(10)}, True),
        (None, date(2020, 12, 31), {"0", "1", "200", "201", "2020"}, True),
        (date(2019, 12, 31), date(2020, 1, 2), {"20191231", "20200101", "20200102"}, True),
    ],
)
def test_date_cover_examples(start: date | None, end: date | None, prefixes: set[str], exact: bool) -> None:
    assert date_cover([(start, end)]) == (prefixes, exact)


def test_a_long_cover_is_widened_to_at_most_thirty_blocks() -> None:
    prefixes, exact = date_cover([(date(2019, 3, 15), date(2021, 6, 20))])
    assert not exact and len(prefixes) <= MAX_CLAUSE_TERMS
    assert "2020" in prefixes and all(len(p) <= 6 for p in prefixes)


dates = st.dates(date(1, 1, 1), date(9999, 12, 31))
near = st.dates(date(1990, 1, 1), date(2030, 12, 31))


@given(
    st.lists(st.tuples(st.none() | st.one_of(dates, near), st.none() | st.one_of(dates, near)), min_size=1,
             max_size=4),
    st.lists(st.one_of(dates, near), min_size=1, max_size=30),
)
@settings(max_examples=300)
def test_date_cover_holds_every_date_in_range(ranges: list[tuple[date | None, date | None]],
                                               days: list[date]) -> None:
    prefixes, exact = date_cover(ranges)
    assert len(prefixes) <= MAX_CLAUSE_TERMS
    edges = [d for r in ranges for d in r if d is not None]
    days += edges + [d + timedelta(days=1) for d in edges if d < date(9999, 12, 31)]
    for day in days:
        inside = any((a is None or a <= day) and (b is None or day <= b) for a, b in ranges)
        covered = any(f"{day.year:04d}{day.month:02d}{day.day:02d}".startswith(p) for p in prefixes)
        assert covered or not inside, (day, ranges, prefixes)
        if exact:
            assert covered == inside, (day, ranges, prefixes)


# --- clauses: no false negatives --------------------------------------------------------------

NAMES = ["Doe^John", "DOE^JOHN^^", "Müller^Jürgen", "Jöhn^Doe", "Yamada^Tarou=山田^太郎=やまだ^たろう", "=山田^花子",
         "O'Brien-Smith^Anne-Marie^^Dr.", "ＤＯＥ^ＪＯＨＮ", "van der Berg^Ann", "Wang^XiaoDong=王^小东",
         "Παπαδόπουλος^Νίκος"]
TEXTS = ["CT Chest w/o contrast", "MR BRAIN", "Échographie abdominale", "x-ray^hand=left", "ACC 42",
         "SYN-11-000005", " ünïcode déscription ", "STRAßE", "ab", "Ｆｕｌｌ width"]
MODALITIES = ["CT", "MR", "US", " SR", "DOC"]

texts = st.sampled_from(TEXTS)
day_text = near.map(lambda d: d.strftime("%Y%m%d")) | st.just("2020.01.15")


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    values: dict[str, object] = {
        "StudyInstanceUID": "1.2", "SeriesInstanceUID": "1.2.3", "SOPInstanceUID": "1.2.3.4",
        "PatientName": draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=2)),
        "ReferringPhysicianName": draw(st.sampled_from(NAMES)),
        "PatientID": draw(texts), "AccessionNumber": draw(texts), "StudyID": draw(texts),
        "StudyDescription": draw(texts), "SeriesDescription": draw(texts), "InstitutionName": draw(texts),
        "StudyDate": draw(day_text), "PatientBirthDate": draw(day_text),
        "PatientSex": draw(st.sampled_from(["M", "F", "O"])),
        "Modality": draw(st.sampled_from(MODALITIES)), "BodyPartExamined": draw(texts),
        "SeriesNumber": draw(st.integers(0, 5)), "InstanceNumber": draw(st.sampled_from([1, 2, "3", " 4"])),
        "SOPClassUID": draw(st.sampled_from(["1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.4"])),
        "ModalitiesInStudy": draw(st.lists(st.sampled_from(MODALITIES), min_size=1, max_size=3, unique=True)),
    }
    return record(**values)


@st.composite
def patterns(draw: st.DrawFn, text: str) -> str:
    """``text`` (or a piece of it) with wild cards anywhere and maybe a change of case."""
    if draw(st.booleans()):
        text = draw(st.sampled_from([text.lower(), text.upper(), text]))
    chars = list(text)
    for _ in range(draw(st.integers(0, 3))):
        if not chars:
            break
        i = draw(st.integers(0, len(chars) - 1))
        chars[i : i + draw(st.integers(0, 3))] = [draw(st.sampled_from(["*", "?", "*"]))]
    return "".join(chars).strip() or "*"


KEYS_BY_LEVEL = {
    STUDY: ["PatientName", "ReferringPhysicianName", "PatientID", "AccessionNumber", "StudyID", "StudyDescription",
            "StudyDate", "PatientBirthDate", "PatientSex", "ModalitiesInStudy"],
    SERIES: ["Modality", "SeriesDescription", "InstitutionName", "BodyPartExamined", "SeriesNumber"],
    INSTANCE: ["SOPClassUID", "InstanceNumber"],
}


def _value_for(draw: st.DrawFn, rec: dict[str, Any], name: str) -> str:
    from pydicom.datadict import tag_for_keyword

    stored = rec[tag_key(tag_for_keyword(name))]["Value"]
    if name in ("StudyDate", "PatientBirthDate"):
        a, b = sorted([draw(day_text.filter(lambda t: "." not in t)) for _ in range(2)])
        return draw(st.sampled_from([a, f"{a}-{b}", f"{a}-", f"-{b}", a[:6] + "01-" + a[:6] + "28"]))
    if name in ("SeriesNumber", "InstanceNumber"):
        return str(draw(st.integers(0, 5)))
    pieces = []
    for _ in range(draw(st.integers(1, 2))):
        base = draw(st.sampled_from(stored)) if draw(st.booleans()) else draw(st.sampled_from(NAMES + TEXTS))
        if isinstance(base, dict):
            base = "=".join(base.get(g, "") for g in ("Alphabetic", "Ideographic", "Phonetic")).rstrip("=")
        pieces.append(draw(patterns(str(base))))
    return "\\".join(pieces)


@given(st.data(), records(), st.sampled_from(list(SearchLevel)), st.booleans())
@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_every_match_has_a_clause_term(data: st.DataObject, rec: dict[str, Any], level: SearchLevel,
                                       fuzzy: bool) -> None:
    allowed = [name for lvl in SearchLevel if lvl.depth <= level.depth for name in KEYS_BY_LEVEL[lvl]]
    name = data.draw(st.sampled_from(allowed))
    value = _value_for(data.draw, rec, name)
    try:
        query = parse_search(level, {name: value, "fuzzymatching": "true" if fuzzy else "false"})
    except QueryError:
        assume(False)
        return
    modalities = rec[tag_key(0x00080061)]["Value"] if level is STUDY else []
    q = index_fields(level, rec, modalities=modalities)
    stored = {KEYS_FIELD: set(q["keys"]), WORDS_FIELD: set(q["words"])}
    for condition in query.conditions:
        clause = condition_clause(condition, level)
        if clause is None:
            continue
        assert 0 < len(clause.terms) <= MAX_CLAUSE_TERMS
        has_term = bool(clause.terms & stored[clause.field])
        matched = condition_matches(condition, rec)
        assert has_term or not matched, (name, value, clause)
        if clause.exact:
            assert has_term == matched, (name, value, clause)


@pytest.mark.parametrize(
    ("level", "params", "field", "terms", "exact"),
    [
        (STUDY, {"PatientID": "ID 1"}, KEYS_FIELD, {"PatientID=ID 1"}, True),
        (STUDY, {"PatientID": "ID*"}, WORDS_FIELD, {"PatientID:p:id"}, False),
        (STUDY, {"StudyDescription": "Chest"}, KEYS_FIELD, {"StudyDescription=chest"}, True),
        (STUDY, {"StudyDescription": "CT\\*chest*"}, WORDS_FIELD, {"StudyDescription:p:ct", "StudyDescription:g:hes"},
         False),
        (STUDY, {"PatientName": "DOE^J*"}, WORDS_FIELD, {"PatientName:p:doe"}, False),
        (STUDY, {"PatientName": "*x*"}, WORDS_FIELD, {"PatientName:g:x"}, False),
        (STUDY, {"ModalitiesInStudy": "CT\\MR"}, KEYS_FIELD, {"ModalitiesInStudy=CT", "ModalitiesInStudy=MR"}, True),
        (STUDY, {"StudyDate": "20200115"}, KEYS_FIELD, {"StudyDate~20200115"}, True),
        (SERIES, {"Modality": "CT", "SeriesNumber": "2"}, KEYS_FIELD, {"Modality=CT"}, True),
        (INSTANCE, {"SOPClassUID": "1.2\\1.3"}, KEYS_FIELD, {"SOPClassUID=1.2", "SOPClassUID=1.3"}, True),
    ],
)
def test_clause_examples(level: SearchLevel, params: dict[str, str], field: str, terms: set[str],
                         exact: bool) -> None:
    clause = condition_clause(parse_search(level, params).conditions[0], level)
    assert clause is not None and (clause.field, set(clause.terms), clause.exact) == (field, terms, exact)


@pytest.mark.parametrize(
    ("level", "params"),
    [
        (STUDY, {"StudyTime": "10-12"}),
        (STUDY, {"StudyInstanceUID": "1.2.3"}),
        (STUDY, {"PatientName": "?^"}),
        (STUDY, {"PatientSex": "M*"}),  # wild cards only for word-indexed texts
        (SERIES, {"ModalitiesInStudy": "CT"}),  # aggregates only on study documents
        (SERIES, {"SeriesInstanceUID": "1.2.3"}),
        (INSTANCE, {"AcquisitionDateTime": "2020-"}),
        (INSTANCE, {"SOPClassUID": "\\".join(f"1.2.{n}" for n in range(31))}),
    ],
)
def test_conditions_without_a_clause(level: SearchLevel, params: dict[str, str]) -> None:
    assert condition_clause(parse_search(level, params).conditions[0], level) is None


def test_merge_levels_lets_the_deeper_level_win() -> None:
    assert merge_levels({"A": 1, "B": 1}, None, {"B": 2}) == {"A": 1, "B": 2}
    assert element("PatientName", "X")["vr"] == "PN"
