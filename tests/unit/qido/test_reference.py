"""The reference search over DICOM JSON records: matching, ordering, paging, shaping."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydicom.datadict import dictionary_VR, tag_for_keyword

from beamit.dicomweb.qido.attributes import SearchLevel, tag_key
from beamit.dicomweb.qido.query import QueryParams, parse_search
from beamit.dicomweb.qido.reference import (
    Record,
    matches,
    search,
    search_page,
    shape_result,
    sort_key,
    wildcard_match,
)

STUDY, SERIES, INSTANCE = SearchLevel.STUDY, SearchLevel.SERIES, SearchLevel.INSTANCE


def element(keyword: str, value: object) -> dict[str, Any]:
    tag = tag_for_keyword(keyword)
    assert tag is not None, keyword
    vr = str(dictionary_VR(tag))
    if value is None:
        return {"vr": vr}
    values = list(value) if isinstance(value, list) else [value]
    if vr == "PN":
        values = [{"Alphabetic": v} if isinstance(v, str) else v for v in values]
    return {"vr": vr, "Value": values}


def record(**attributes: object) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for keyword, value in attributes.items():
        tag = tag_for_keyword(keyword)
        assert tag is not None, keyword
        out[tag_key(tag)] = element(keyword, value)
    return out


def uid_of(rec: Record, key: str = "0020000D") -> str:
    return str(rec[key]["Value"][0])


def hits(
    params: QueryParams,
    records: Sequence[Record],
    level: SearchLevel = STUDY,
    key: str = "0020000D",
    **scope: str,
) -> list[str]:
    query = parse_search(level, params, **scope)
    return [uid_of(rec, key) for rec in records if matches(query, rec)]


# --- wild cards -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("*", "", True),
        ("*", "abc", True),
        ("?", "", False),
        ("?", "a", True),
        ("a*", "abc", True),
        ("*c", "abc", True),
        ("*b*", "abc", True),
        ("a?c", "abc", True),
        ("a?c", "ac", False),
        ("a*b*c", "aXbYbZc", True),
        ("a*b*c", "aXbYbZ", False),
        ("**a**", "a", True),
        ("abc", "abc", True),
        ("abc", "abcd", False),
        ("*a*a*a*a*a*a*a*a*b", "a" * 200, False),
    ],
)
def test_wildcard_match(pattern: str, text: str, expected: bool) -> None:
    assert wildcard_match(pattern, text) is expected


def _regex(pattern: str) -> re.Pattern[str]:
    parts = [".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern]
    return re.compile("".join(parts), re.DOTALL)


@settings(max_examples=400, database=None, deadline=None)
@given(st.text("ab*?", max_size=8), st.text("ab", max_size=10))
def test_wildcard_match_agrees_with_a_regular_expression(pattern: str, text: str) -> None:
    assert wildcard_match(pattern, text) is bool(_regex(pattern).fullmatch(text))


# --- person names -----------------------------------------------------------------------------

NAMES = [
    record(StudyInstanceUID="1.1", PatientName="DOE^JOHN"),
    record(StudyInstanceUID="1.2", PatientName="Doe^Jane^Q^Dr^"),
    record(StudyInstanceUID="1.3", PatientName="DOERING^MARY"),
    record(StudyInstanceUID="1.4", PatientName="SMITH^JOHN"),
    record(StudyInstanceUID="1.5", PatientName="DOE"),
    record(StudyInstanceUID="1.6", PatientName="JÖHN^Anna"),
    record(StudyInstanceUID="1.7", PatientName=None),
    record(StudyInstanceUID="1.8"),
]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("DOE^J*", ["1.1", "1.2"]),
        ("doe^j*", ["1.1", "1.2"]),
        ("DOE^JOHN", ["1.1"]),
        ("DOE^JOHN^^", ["1.1"]),
        ("DOE ^ JOHN", ["1.1"]),
        ("DOE", ["1.5"]),  # single value matching is the whole name
        ("DOE*", ["1.1", "1.2", "1.3", "1.5"]),
        ("*JOHN", ["1.1", "1.4"]),  # "*" also runs over "^"
        ("*OHN*", ["1.1", "1.4"]),  # no accent folding: JÖHN does not match
        ("?OE^J*", ["1.1", "1.2"]),
        ("Doe^Jane^Q^Dr", ["1.2"]),
        ("DOE^JANE^*", ["1.2"]),
        ("DOE^JANE^Q", []),
        ("jöhn^*", ["1.6"]),
        ("*^*", ["1.1", "1.2", "1.3", "1.4", "1.6"]),
        ("*x*", []),
    ],
)
def test_person_name_literal_matching(pattern: str, expected: list[str]) -> None:
    assert hits({"PatientName": [pattern]}, NAMES) == expected


def test_person_name_multiple_values_are_or() -> None:
    assert hits({"PatientName": ["SMITH*\\DOE^JOHN"]}, NAMES) == ["1.1", "1.4"]
    assert hits({"PatientName": ["SMITH*", "DOE"]}, NAMES) == ["1.4", "1.5"]


def test_universal_name_matches_even_records_without_a_name() -> None:
    assert hits({"PatientName": [""]}, NAMES) == [uid_of(r) for r in NAMES]
    assert hits({"PatientName": ["*"]}, NAMES) == [uid_of(r) for r in NAMES]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("joh", ["1.1", "1.4", "1.6"]),  # word prefix, accent-insensitive
        ("JOHN", ["1.1", "1.4", "1.6"]),
        ("john doe", ["1.1"]),  # any order
        ("doe", ["1.1", "1.2", "1.3", "1.5"]),  # DOERING starts with doe
        ("doe^j", ["1.1", "1.2"]),
        ("*ohn*", ["1.1", "1.4", "1.6"]),  # folded wildcard
        ("ohn", []),  # not a word start
        ("jane dr", ["1.2"]),
        ("ann", ["1.6"]),
        ("DOE^JOHN", ["1.1"]),  # everything literal matching finds
    ],
)
def test_person_name_fuzzy_matching(query: str, expected: list[str]) -> None:
    assert hits({"PatientName": [query], "fuzzymatching": ["true"]}, NAMES) == expected


YAMADA = {"Alphabetic": "Yamada^Tarou", "Ideographic": "山田^太郎", "Phonetic": "やまだ^たろう"}
JAPANESE = [
    record(StudyInstanceUID="2.1", PatientName=YAMADA),
    record(StudyInstanceUID="2.2", PatientName={"Ideographic": "山本^花子", "Phonetic": "やまもと^はなこ"}),
    record(StudyInstanceUID="2.3", PatientName="Yamamoto^Hanako"),
]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("山田^太郎", ["2.1"]),  # the ideographic group
        ("やまだ^たろう", ["2.1"]),  # the phonetic group
        ("YAMADA^TAROU", ["2.1"]),  # the alphabetic group, any case
        ("山*", ["2.1", "2.2"]),
        ("*^花子", ["2.2"]),
        ("やま*", ["2.1", "2.2"]),
        ("Yamada^Tarou=山田^太郎", ["2.1"]),  # groups matched position by position
        ("Yamada^Tarou=山本^花子", []),
        ("=山*", ["2.1", "2.2"]),  # only the ideographic group constrained
        ("==やまもと*", ["2.2"]),
        ("Yamamoto*=山本*", []),  # 2.3 has no ideographic group, 2.2 no alphabetic one
    ],
)
def test_japanese_component_groups(pattern: str, expected: list[str]) -> None:
    assert hits({"PatientName": [pattern]}, JAPANESE) == expected


def test_japanese_fuzzy_prefixes() -> None:
    fuzzy = {"fuzzymatching": ["true"]}
    assert hits({"PatientName": ["太郎"], **fuzzy}, JAPANESE) == ["2.1"]
    assert hits({"PatientName": ["やま"], **fuzzy}, JAPANESE) == ["2.1", "2.2"]
    assert hits({"PatientName": ["hana yama"], **fuzzy}, JAPANESE) == ["2.3"]


UNICODE = [
    record(StudyInstanceUID="3.1", PatientName="Παπαδόπουλος^Γιώργος"),
    record(StudyInstanceUID="3.2", PatientName="Иванов^Иван"),
    record(StudyInstanceUID="3.3", PatientName="Müller-Lüdenscheidt^Jürgen"),
    record(StudyInstanceUID="3.4", PatientName="O'Brien^Seán"),
    record(StudyInstanceUID="3.5", PatientName="Mu\u0308ller^Hans"),  # decomposed ü
    record(StudyInstanceUID="3.6", PatientName="ＳＵＺＵＫＩ^ＩＣＨＩＲＯ"),  # full-width
]


@pytest.mark.parametrize(
    ("pattern", "fuzzy", "expected"),
    [
        ("παπαδόπουλος^*", False, ["3.1"]),  # Greek, case-insensitive
        ("παπαδοπουλος^*", False, []),  # literal: the accent counts
        ("παπαδοπ", True, ["3.1"]),  # fuzzy: accent- and case-insensitive prefix
        ("иван*", False, ["3.2"]),
        ("*ИВАН", False, ["3.2"]),
        ("ivan*", False, []),  # no transliteration
        ("MÜLLER*", False, ["3.3", "3.5"]),  # NFC: composed and decomposed ü are one letter
        ("muller", True, ["3.3", "3.5"]),
        ("ludensch", True, ["3.3"]),  # hyphen separates words
        ("o'brien^*", False, ["3.4"]),
        ("brien sean", True, ["3.4"]),
        ("suzuki", True, ["3.6"]),  # fuzzy folds full-width letters
        ("suzuki*", False, []),
        ("ＳＵＺＵＫＩ*", False, ["3.6"]),
    ],
)
def test_character_set_independent_unicode_names(pattern: str, fuzzy: bool, expected: list[str]) -> None:
    params = {"PatientName": [pattern], "fuzzymatching": ["true" if fuzzy else "false"]}
    assert hits(params, UNICODE) == expected


def test_referring_physician_name() -> None:
    records = [
        record(StudyInstanceUID="4.1", ReferringPhysicianName="HOUSE^GREGORY"),
        record(StudyInstanceUID="4.2", ReferringPhysicianName="WILSON^JAMES"),
    ]
    assert hits({"ReferringPhysicianName": ["house*"]}, records) == ["4.1"]


# --- text, codes, numbers, UIDs -----------------------------------------------------------------

STUDIES = [
    record(
        StudyInstanceUID="5.1",
        StudyDescription="CHEST PA",
        PatientID="X123",
        AccessionNumber="A1",
        ModalitiesInStudy=["CT", "MR"],
        SOPClassesInStudy=["1.2.840.10008.5.1.4.1.1.2"],
    ),
    record(
        StudyInstanceUID="5.2",
        StudyDescription="Head w/o contrast",
        PatientID="x999",
        AccessionNumber="A2 ",
        ModalitiesInStudy=["MR"],
    ),
    record(StudyInstanceUID="5.3", StudyDescription="", PatientID="Z1", ModalitiesInStudy=["US", "SR"]),
]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"StudyDescription": ["*chest*"]}, ["5.1"]),  # descriptions: case-insensitive
        ({"StudyDescription": ["head W/O CONTRAST"]}, ["5.2"]),
        ({"StudyDescription": ["*"]}, ["5.1", "5.2", "5.3"]),
        ({"StudyDescription": ["?*"]}, ["5.1", "5.2"]),  # an empty value matches nothing
        ({"PatientID": ["*x*"]}, ["5.2"]),  # IDs: case-sensitive, as PS3.4 says
        ({"PatientID": ["X*"]}, ["5.1"]),
        ({"PatientID": ["X123"]}, ["5.1"]),
        ({"PatientID": ["x123"]}, []),
        ({"AccessionNumber": ["A2"]}, ["5.2"]),  # padding does not count
        ({"ModalitiesInStudy": ["CT"]}, ["5.1"]),  # any of the study's modalities
        ({"ModalitiesInStudy": ["MR"]}, ["5.1", "5.2"]),
        ({"ModalitiesInStudy": ["PT\\US"]}, ["5.3"]),  # several values: OR
        ({"ModalitiesInStudy": ["CT", "SR"]}, ["5.1", "5.3"]),
        ({"ModalitiesInStudy": ["XA,DX"]}, []),
        ({"ModalitiesInStudy": ["M?"]}, ["5.1", "5.2"]),
        ({"SOPClassesInStudy": ["1.2.840.10008.5.1.4.1.1.2"]}, ["5.1"]),
        ({"StudyInstanceUID": ["5.1\\5.3,9.9"]}, ["5.1", "5.3"]),
        ({"StudyInstanceUID": ["5.2"]}, ["5.2"]),
        ({"ModalitiesInStudy": ["MR"], "PatientID": ["Z*\\x*"]}, ["5.2"]),  # AND of conditions
    ],
)
def test_text_code_and_uid_matching(params: QueryParams, expected: list[str]) -> None:
    assert hits(params, STUDIES) == expected


def test_integers_compare_as_numbers() -> None:
    series = [
        record(SeriesInstanceUID="6.1", SeriesNumber=1),
        record(SeriesInstanceUID="6.2", SeriesNumber="02"),  # lenient: IS as a string
        record(SeriesInstanceUID="6.3", SeriesNumber=10),
        record(SeriesInstanceUID="6.4"),
    ]
    assert hits({"SeriesNumber": ["1"]}, series, SERIES, "0020000E") == ["6.1"]
    assert hits({"SeriesNumber": ["2\\10"]}, series, SERIES, "0020000E") == ["6.2", "6.3"]


def test_sequence_matching_any_item() -> None:
    def requested(*items: tuple[str, str]) -> dict[str, Any]:
        return {
            "vr": "SQ",
            "Value": [
                {"00400009": {"vr": "SH", "Value": [sps]}, "00401001": {"vr": "SH", "Value": [rp]}} for sps, rp in items
            ],
        }

    series = [
        {"0020000E": {"vr": "UI", "Value": ["7.1"]}, "00400275": requested(("S1", "R1"), ("S2", "R2"))},
        {"0020000E": {"vr": "UI", "Value": ["7.2"]}, "00400275": requested(("S3", "R1"))},
        {"0020000E": {"vr": "UI", "Value": ["7.3"]}, "00400275": {"vr": "SQ"}},
    ]
    assert hits({"RequestAttributesSequence.ScheduledProcedureStepID": ["S2"]}, series, SERIES, "0020000E") == ["7.1"]
    assert hits({"00400275.00401001": ["R1"]}, series, SERIES, "0020000E") == ["7.1", "7.2"]
    assert hits({"00400275.00400009": ["S*"]}, series, SERIES, "0020000E") == ["7.1", "7.2"]


# --- dates and times ----------------------------------------------------------------------------

DATED = [
    record(StudyInstanceUID="8.1", StudyDate="20191231", StudyTime="235959.999999"),
    record(StudyInstanceUID="8.2", StudyDate="20200101", StudyTime="2330"),
    record(StudyInstanceUID="8.3", StudyDate="20200102", StudyTime="003000"),
    record(StudyInstanceUID="8.4", StudyDate="20200102", StudyTime="02"),
    record(StudyInstanceUID="8.5", StudyDate="2020.06.15", StudyTime="12:00:00"),  # ACR-NEMA forms
    record(StudyInstanceUID="8.6", StudyDate="20201231"),
    record(StudyInstanceUID="8.7", StudyDate="garbage", StudyTime="1200"),
    record(StudyInstanceUID="8.8"),
]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"StudyDate": ["20200101-20201231"]}, ["8.2", "8.3", "8.4", "8.5", "8.6"]),  # inclusive
        ({"StudyDate": ["20200102"]}, ["8.3", "8.4"]),
        ({"StudyDate": ["-20200101"]}, ["8.1", "8.2"]),
        ({"StudyDate": ["20200615-"]}, ["8.5", "8.6"]),
        ({"StudyDate": ["20190101-20191231\\20201231"]}, ["8.1", "8.6"]),
        ({"StudyTime": ["2330-"]}, ["8.1", "8.2"]),
        ({"StudyTime": ["00-02"]}, ["8.3", "8.4"]),  # "02" stored = 02:00:00
        ({"StudyTime": ["12"]}, ["8.5", "8.7"]),  # the whole hour 12
        ({"StudyTime": ["-0030"]}, ["8.3"]),  # 00:30 up to 00:30:59.999999
        # Combined date-time matching: from 1 Jan 23:00 to 2 Jan 01:00:59.999999.
        ({"StudyDate": ["20200101-20200102"], "StudyTime": ["2300-0100"]}, ["8.2", "8.3"]),
        ({"StudyDate": ["20200101-"], "StudyTime": ["2345-"]}, ["8.3", "8.4", "8.5"]),
        ({"StudyDate": ["-20200102"], "StudyTime": ["-0100"]}, ["8.1", "8.2", "8.3"]),
        # Not combined (the time is not a range): each on its own.
        ({"StudyDate": ["20200101-20200102"], "StudyTime": ["00"]}, ["8.3"]),
    ],
)
def test_date_and_time_ranges(params: QueryParams, expected: list[str]) -> None:
    assert hits(params, DATED) == expected


def test_date_times_compare_in_utc() -> None:
    instances = [
        record(SOPInstanceUID="9.1", AcquisitionDateTime="20200101170000"),  # no offset: UTC
        record(SOPInstanceUID="9.2", AcquisitionDateTime="20200101120000-0500"),  # 17:00 UTC
        record(SOPInstanceUID="9.3", AcquisitionDateTime="20200101180000+0100"),  # 17:00 UTC
        record(SOPInstanceUID="9.4", AcquisitionDateTime="20200101180000"),
        record(SOPInstanceUID="9.5", AcquisitionDateTime="2020"),  # 2020-01-01 00:00 UTC
        record(SOPInstanceUID="9.6", AcquisitionDateTime="bad"),
    ]

    def dt(value: str) -> list[str]:
        return hits({"AcquisitionDateTime": [value]}, instances, INSTANCE, "00080018")

    assert dt("20200101120000-0500") == ["9.1", "9.2", "9.3"]
    assert dt("2020010117") == ["9.1", "9.2", "9.3"]
    assert dt("20200101170001-") == ["9.4"]
    assert dt("-20200101") == ["9.1", "9.2", "9.3", "9.4", "9.5"]
    assert dt("2020") == ["9.1", "9.2", "9.3", "9.4", "9.5"]
    assert dt("20200101+0100-20200101170000+0100") == ["9.5"]


# --- scope, ordering, paging, shaping -------------------------------------------------------------


def series_record(study: str, series: str, modality: str, **more: object) -> dict[str, Any]:
    return record(
        StudyInstanceUID=study,
        SeriesInstanceUID=series,
        Modality=modality,
        PatientName="DOE^JOHN",
        PatientID="P1",
        SeriesNumber=1,
        **more,
    )


SERIES_RECORDS = [
    series_record("1.2.3", "1.2.3.2", "CT"),
    series_record("1.2", "1.2.9", "MR"),
    series_record("1.2.3", "1.2.3.10", "CT"),
    series_record("1.2.3", "1.2.3.1", "SR"),
    series_record("1.10", "1.10.1", "CT"),
]


def test_path_scope_restricts_to_the_study() -> None:
    assert hits({}, SERIES_RECORDS, SERIES, "0020000E", study_uid="1.2.3") == [
        "1.2.3.2",
        "1.2.3.10",
        "1.2.3.1",
    ]
    instance = record(StudyInstanceUID="1.2", SeriesInstanceUID="1.2.9", SOPInstanceUID="1.2.9.1")
    query = parse_search(INSTANCE, {}, study_uid="1.2", series_uid="1.2.9")
    assert matches(query, instance)
    assert not matches(parse_search(INSTANCE, {}, study_uid="1.2", series_uid="1.2.8"), instance)


def test_results_are_ordered_by_their_own_uid() -> None:
    query = parse_search(SERIES, {"includefield": ["all"]})
    order = [(r["0020000D"]["Value"][0], r["0020000E"]["Value"][0]) for r in search(query, SERIES_RECORDS)]
    # By Series Instance UID as a string (the catalog document id), whatever the study.
    assert order == [
        ("1.10", "1.10.1"),
        ("1.2.3", "1.2.3.1"),
        ("1.2.3", "1.2.3.10"),
        ("1.2.3", "1.2.3.2"),
        ("1.2", "1.2.9"),
    ]
    assert sort_key(SERIES, SERIES_RECORDS[0]) == ("1.2.3.2",)
    assert sort_key(STUDY, {}) == ("",)


def test_offset_and_limit_page_through_a_stable_order() -> None:
    everything = [r["0020000E"]["Value"][0] for r in search(parse_search(SERIES, {}), SERIES_RECORDS)]
    pages: list[str] = []
    for offset in range(0, 6, 2):
        query = parse_search(SERIES, {"limit": ["2"], "offset": [str(offset)]})
        page = search_page(query, reversed(SERIES_RECORDS))
        assert page.matches == 5
        assert page.remaining == max(0, 5 - offset - 2)
        pages.extend(r["0020000E"]["Value"][0] for r in page.results)
    assert pages == everything
    assert search(parse_search(SERIES, {"offset": ["10"]}), SERIES_RECORDS) == []
    assert search(parse_search(SERIES, {"limit": ["0"]}), SERIES_RECORDS) == []


STUDY_RECORD = record(
    SpecificCharacterSet="ISO_IR 192",
    StudyDate="20200101",
    StudyTime="1200",
    AccessionNumber="A1",
    ModalitiesInStudy=["CT"],
    ReferringPhysicianName="HOUSE^GREGORY",
    RetrieveURL="https://example.test/dicomweb/studies/1.2",
    PatientName="DOE^JOHN",
    PatientID="P1",
    PatientBirthDate="19800101",
    PatientSex="M",
    StudyInstanceUID="1.2",
    StudyID="S1",
    NumberOfStudyRelatedSeries=1,
    NumberOfStudyRelatedInstances=3,
    StudyDescription="CHEST",
    PatientAge="040Y",
    InstitutionName="General",  # a series attribute that leaked into the study record
)
STUDY_RECORD["00091010"] = {"vr": "LO", "Value": ["private value"]}
STUDY_RECORD["00090010"] = {"vr": "LO", "Value": ["ACME 1.0"]}


def keywords(shaped: Mapping[str, Any]) -> set[str]:
    from pydicom.datadict import keyword_for_tag

    return {keyword_for_tag(int(key, 16)) or key for key in shaped}


DEFAULT_STUDY_KEYWORDS = {
    "SpecificCharacterSet",
    "StudyDate",
    "StudyTime",
    "AccessionNumber",
    "ModalitiesInStudy",
    "ReferringPhysicianName",
    "RetrieveURL",
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyInstanceUID",
    "StudyID",
    "NumberOfStudyRelatedSeries",
    "NumberOfStudyRelatedInstances",
}


def test_shape_default_attributes_only() -> None:
    shaped = shape_result(parse_search(STUDY, {}), STUDY_RECORD)
    assert keywords(shaped) == DEFAULT_STUDY_KEYWORDS
    assert list(shaped) == sorted(shaped)  # tag order


def test_shape_adds_includefields_and_matched_attributes() -> None:
    query = parse_search(STUDY, {"includefield": ["PatientAge"], "StudyDescription": ["CHEST"]})
    assert keywords(shape_result(query, STUDY_RECORD)) == DEFAULT_STUDY_KEYWORDS | {
        "PatientAge",
        "StudyDescription",
    }


def test_shape_leaves_out_deeper_level_attributes() -> None:
    # PS3.18 §10.6.3.3.1: series attributes in includefield are not returned by a study search.
    query = parse_search(STUDY, {"includefield": ["InstitutionName,00080060"]})
    assert "InstitutionName" not in keywords(shape_result(query, STUDY_RECORD))
    everything = shape_result(parse_search(STUDY, {"includefield": ["all"]}), STUDY_RECORD)
    assert keywords(everything) == keywords(STUDY_RECORD) - {"InstitutionName"}


def test_shape_private_element_comes_with_its_creator() -> None:
    shaped = shape_result(parse_search(STUDY, {"includefield": ["00091010"]}), STUDY_RECORD)
    assert shaped["00091010"] == {"vr": "LO", "Value": ["private value"]}
    assert shaped["00090010"] == {"vr": "LO", "Value": ["ACME 1.0"]}


def test_shape_copies() -> None:
    shaped = shape_result(parse_search(STUDY, {}), STUDY_RECORD)
    shaped["00100010"]["Value"][0]["Alphabetic"] = "CHANGED"
    assert STUDY_RECORD["00100010"]["Value"][0]["Alphabetic"] == "DOE^JOHN"


def test_shape_series_of_a_study_has_no_patient_defaults() -> None:
    record_ = series_record("1.2", "1.2.9", "MR")
    scoped = shape_result(parse_search(SERIES, {}, study_uid="1.2"), record_)
    assert keywords(scoped) == {"StudyInstanceUID", "SeriesInstanceUID", "Modality", "SeriesNumber"}
    unscoped = shape_result(parse_search(SERIES, {}), record_)
    assert keywords(unscoped) == keywords(scoped) | {"PatientName", "PatientID"}


def test_search_returns_shaped_results() -> None:
    query = parse_search(STUDY, {"PatientName": ["doe*"], "includefield": ["PatientAge"]})
    (result,) = search(query, [STUDY_RECORD, record(StudyInstanceUID="9", PatientName="X")])
    assert result == shape_result(query, STUDY_RECORD)
