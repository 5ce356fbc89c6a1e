"""QIDO-RS query parameters -> SearchQuery (PS3.18 §8.3.4, §10.6.1.2; PS3.4 C.2.2.2)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from urllib.parse import parse_qs, urlsplit

import pytest
from dicomweb_client.uri import build_query_string, parse_query_parameters
from werkzeug.datastructures import MultiDict
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from beamit.dicomweb.qido.attributes import SearchLevel, resolve_attribute
from beamit.dicomweb.qido.conditions import (
    AnyOfCondition,
    CombinedDateTimeCondition,
    DateRangeCondition,
    DateTimeRangeCondition,
    PersonNameCondition,
    PersonNameFuzzyCondition,
    SingleValueCondition,
    TimeRangeCondition,
    UidListCondition,
    WildcardCondition,
)
from beamit.dicomweb.qido.errors import QueryError
from beamit.dicomweb.qido.query import (
    ALL,
    DEFAULT_LIMIT,
    MAX_LIMIT,
    QueryParams,
    SearchQuery,
    parse_search,
)

STUDY, SERIES, INSTANCE = SearchLevel.STUDY, SearchLevel.SERIES, SearchLevel.INSTANCE

PATIENT_NAME = resolve_attribute("PatientName")
PATIENT_ID = resolve_attribute("PatientID")
STUDY_DATE = resolve_attribute("StudyDate")
STUDY_TIME = resolve_attribute("StudyTime")
STUDY_UID = resolve_attribute("StudyInstanceUID")
MODALITIES = resolve_attribute("ModalitiesInStudy")
MODALITY = resolve_attribute("Modality")
ACQ_DATETIME = resolve_attribute("AcquisitionDateTime")


def parse(params: QueryParams, level: SearchLevel = STUDY, **scope: str) -> SearchQuery:
    return parse_search(level, params, **scope)


def from_url(url: str) -> MultiDict[str, str]:
    """What the web layer hands over: Werkzeug's percent-decoded query multidict."""
    return Request(EnvironBuilder(path=url).get_environ()).args


def only(query: SearchQuery) -> object:
    assert len(query.conditions) == 1, query.conditions
    return query.conditions[0]


def error(params: QueryParams, level: SearchLevel = STUDY, **scope: str) -> QueryError:
    with pytest.raises(QueryError) as info:
        parse_search(level, params, **scope)
    return info.value


# --- what real clients send -------------------------------------------------------------------


def test_ohif_study_list_query() -> None:
    url = (
        "/studies?PatientName=*x*&00100020=*x*&StudyDate=20200101-20201231"
        "&ModalitiesInStudy=CT&limit=101&offset=0&fuzzymatching=false"
        "&includefield=00081030%2C00080060%2C00080090%2C00100030"
    )
    query = parse(from_url(url))
    assert query.level is STUDY
    assert query.conditions == (
        PersonNameCondition(PATIENT_NAME, "*x*"),
        WildcardCondition(PATIENT_ID, "*x*", ignore_case=False),
        DateRangeCondition(STUDY_DATE, date(2020, 1, 1), date(2020, 12, 31)),
        SingleValueCondition(MODALITIES, "CT"),
    )
    assert query.include_fields == {0x00081030, 0x00080060, 0x00080090, 0x00100030}
    assert (query.limit, query.offset, query.fuzzy, query.limit_clamped) == (101, 0, False, False)
    assert query.warnings == ()


def test_ohif_study_uid_list_separated_by_backslash() -> None:
    query = parse(from_url("/studies?StudyInstanceUID=1.2.3%5C1.2.4%5C1.2.5"))
    assert only(query) == UidListCondition(STUDY_UID, ("1.2.3", "1.2.4", "1.2.5"))


def test_ohif_modalities_array_becomes_comma_separated() -> None:
    # dicomweb-client (JS) encodes an array value with encodeURIComponent(["CT","MR"]).
    query = parse(from_url("/studies?ModalitiesInStudy=CT%2CMR"))
    assert only(query) == AnyOfCondition(
        MODALITIES, (SingleValueCondition(MODALITIES, "CT"), SingleValueCondition(MODALITIES, "MR"))
    )


def test_ohif_series_in_study_query() -> None:
    query = parse(from_url("/studies/1.2.3/series?includefield=0008103E,00080021"), SERIES, study_uid="1.2.3")
    assert query.conditions == ()
    assert query.include_fields == {0x0008103E, 0x00080021}
    assert query.study_uid == "1.2.3" and query.series_uid is None


def dicomweb_client_params(**kwargs: object) -> dict[str, list[str]]:
    """The query string dicomweb-client (Python) builds, decoded as a server would."""
    params = parse_query_parameters(**kwargs)  # type: ignore[arg-type]
    return parse_qs(urlsplit(build_query_string(params)).query, keep_blank_values=True)


def test_dicomweb_client_search_for_studies() -> None:
    params = dicomweb_client_params(
        search_filters={"PatientName": "DOE*"},
        fields=["StudyDescription"],
        limit=10,
        offset=20,
        fuzzymatching=True,
    )
    query = parse(params)
    assert query.conditions == (PersonNameFuzzyCondition(PATIENT_NAME, "DOE*"),)
    assert query.include_fields == {0x00081030}
    assert (query.limit, query.offset, query.fuzzy) == (10, 20, True)


def test_dicomweb_client_repeated_filter_and_fields() -> None:
    params = dicomweb_client_params(
        search_filters={"Modality": ["CT", "MR"], "00100020": "ID-1"},
        fields=["PatientAge", "00080070"],
    )
    query = parse(params, SERIES)
    assert set(query.conditions) == {
        AnyOfCondition(MODALITY, (SingleValueCondition(MODALITY, "CT"), SingleValueCondition(MODALITY, "MR"))),
        SingleValueCondition(PATIENT_ID, "ID-1"),
    }
    assert query.include_fields == {0x00101010, 0x00080070}


def test_multidict_and_flat_dict_and_plain_strings_agree() -> None:
    multidict = from_url("/studies?Modality=&ModalitiesInStudy=CT&ModalitiesInStudy=MR&limit=5")
    as_lists = multidict.to_dict(flat=False)
    assert parse(multidict) == parse(as_lists)
    assert parse({"PatientID": "ID-1", "limit": "5"}) == parse({"PatientID": ["ID-1"], "limit": ["5"]})


def test_non_string_scalars_are_tolerated() -> None:
    params: Mapping[str, object] = {"limit": 10, "fuzzymatching": True, "SeriesNumber": [3]}
    query = parse(params, SERIES)  # type: ignore[arg-type]
    assert (query.limit, query.fuzzy) == (10, True)
    assert only(query) == SingleValueCondition(resolve_attribute("SeriesNumber"), 3)


def test_a_name_without_values_is_absent() -> None:
    assert parse({"PatientName": [], "limit": []}) == SearchQuery(level=STUDY)


def test_values_are_not_percent_decoded_twice() -> None:
    query = parse({"PatientID": ["AB%2AC"]})
    assert only(query) == SingleValueCondition(PATIENT_ID, "AB%2AC")


def test_padding_and_quotes_around_values() -> None:
    query = parse({"PatientID": ['  "ID 1"  '], "AccessionNumber": [" A1 "]})
    assert query.conditions == (
        SingleValueCondition(PATIENT_ID, "ID 1"),
        SingleValueCondition(resolve_attribute("AccessionNumber"), "A1"),
    )


# --- reserved parameters ----------------------------------------------------------------------


def test_defaults() -> None:
    query = parse({})
    assert query == SearchQuery(level=STUDY)
    assert (query.limit, query.offset, query.fuzzy) == (DEFAULT_LIMIT, 0, False)
    assert DEFAULT_LIMIT == 50 and MAX_LIMIT == 200


def test_limit_above_the_maximum_is_clamped_with_a_warning() -> None:
    query = parse({"limit": ["1000"]})
    assert query.limit == MAX_LIMIT and query.limit_clamped
    assert query.warnings == (
        ("The limit parameter exceeds the maximum of 200 results per response; at most 200 results are returned."),
    )
    assert parse({"limit": ["200"]}).limit_clamped is False
    assert parse({"limit": ["9" * 40]}).limit == MAX_LIMIT


def test_limit_zero_is_valid() -> None:
    assert parse({"limit": ["0"]}).limit == 0


@pytest.mark.parametrize("value", ["-1", "abc", "1.5", "", "+3", "1e3", "0x10"])
def test_bad_limit(value: str) -> None:
    exc = error({"limit": [value]})
    assert exc.parameter == "limit"
    assert exc.message == f"Query parameter 'limit' must be a non-negative integer, got '{value}'."


def test_bad_offset() -> None:
    assert "'offset' must be a non-negative integer" in error({"offset": ["-20"]}).message
    assert error({"offset": ["10001"]}).message.startswith("Query parameter 'offset' must be at most 10000: narrow")
    assert parse_search(SearchLevel.STUDY, {"offset": ["10000"]}).offset == 10000


def test_repeated_limit() -> None:
    assert error({"limit": ["1", "2"]}).message == "Query parameter 'limit' may be given only once."


@pytest.mark.parametrize(("value", "fuzzy"), [("true", True), ("FALSE", False), ("True", True)])
def test_fuzzymatching_values(value: str, fuzzy: bool) -> None:
    assert parse({"fuzzymatching": [value]}).fuzzy is fuzzy


def test_bad_fuzzymatching() -> None:
    assert error({"fuzzymatching": ["yes"]}).message == (
        "Query parameter 'fuzzymatching' must be 'true' or 'false', got 'yes'."
    )


def test_includefield_repeated_and_comma_separated_keywords_and_tags() -> None:
    query = parse(from_url("/studies?includefield=StudyDescription,00080060&includefield=0008103e"))
    assert query.include_fields == {0x00081030, 0x00080060, 0x0008103E}


def test_includefield_all_wins() -> None:
    assert parse({"includefield": ["all"]}).include_fields is ALL
    assert parse({"includefield": ["PatientAge", "ALL"]}).include_fields is ALL
    assert parse({"includefield": ["all"]}).result_tags() is ALL


def test_includefield_sequence_path_includes_the_sequence() -> None:
    query = parse({"includefield": ["RequestAttributesSequence.RequestedProcedureID"]}, SERIES)
    assert query.include_fields == {0x00400275}


def test_includefield_unknown_attribute() -> None:
    exc = error({"includefield": ["StudyDescription,StudyDescriptoin"]})
    assert exc.parameter == "includefield"
    assert "Unknown attribute 'StudyDescriptoin' in query parameter 'includefield'" in exc.message


def test_empty_includefield_pieces_are_ignored() -> None:
    assert parse({"includefield": ["", "PatientAge,,"]}).include_fields == {0x00101010}


def test_cache_busters_and_negotiation_parameters_are_ignored() -> None:
    assert parse(from_url("/studies?_=1699999999&_ts=1&accept=application/dicom+json&charset=utf-8")) == (
        SearchQuery(level=STUDY)
    )


def test_reserved_names_are_case_sensitive() -> None:
    exc = error({"Limit": ["5"]})
    assert exc.parameter == "Limit"
    assert exc.message == (
        "Unknown query parameter 'Limit' (parameter names are case-sensitive: did you mean 'limit'?)."
    )


def test_unknown_parameter_is_an_error_not_ignored() -> None:
    exc = error({"PatientNmae": ["DOE"]})
    assert exc.parameter == "PatientNmae"
    assert exc.message == (
        "Unknown attribute 'PatientNmae' in query parameter 'PatientNmae': expected a PS3.6 "
        "keyword or an 8-digit hex tag."
    )


def test_unsupported_matching_flags_warn_when_true() -> None:
    query = parse({"emptyvaluematching": ["true"], "multiplevaluematching": ["true"]})
    assert query.warnings == (
        ("The emptyvaluematching parameter is not supported. Empty Value Matching has not been performed."),
        ("The multiplevaluematching parameter is not supported. Multiple Value Matching has not been performed."),
    )
    assert parse({"emptyvaluematching": ["false"]}).warnings == ()
    assert error({"multiplevaluematching": ["1"]}).parameter == "multiplevaluematching"


def test_empty_value_matching_value_is_rejected() -> None:
    exc = error({"PatientID": ['""']})
    assert exc.message == "Query parameter 'PatientID': empty value matching (\"\") is not supported."


# --- universal matching -----------------------------------------------------------------------


def test_empty_value_is_universal_matching_and_returns_the_attribute() -> None:
    query = parse(from_url("/studies?PatientName=&StudyDescription"))
    assert query.conditions == ()
    assert query.include_fields == {0x00100010, 0x00081030}


def test_lone_asterisk_is_universal() -> None:
    query = parse({"PatientName": ["*"], "StudyInstanceUID": ["**"]})
    assert query.conditions == ()
    assert query.include_fields == {0x00100010, 0x0020000D}


def test_universal_matching_of_any_attribute_like_includefield() -> None:
    # Manufacturer is not a matching key and Modality is a series attribute, but an empty
    # value asks only for the attribute to be returned.
    query = parse({"Manufacturer": [""], "Modality": [""]})
    assert query.conditions == ()
    assert query.include_fields == {0x00080070, 0x00080060}


def test_universal_value_among_several_makes_the_whole_attribute_universal() -> None:
    query = parse({"PatientID": ["A", ""]})
    assert query.conditions == () and query.include_fields == {0x00100020}


def test_pn_with_only_delimiters_is_universal() -> None:
    for value in ("^", "^^", "=", "*=*", "*==*"):
        assert parse({"PatientName": [value]}).conditions == (), value
    # "*^*" is not universal: it needs a name with at least two components.
    assert parse({"PatientName": ["*^*"]}).conditions == (PersonNameCondition(PATIENT_NAME, "*^*"),)


# --- condition types ------------------------------------------------------------------------


def test_text_single_value_and_wildcards_in_any_position() -> None:
    accession = resolve_attribute("AccessionNumber")
    assert only(parse({"AccessionNumber": ["A123"]})) == SingleValueCondition(accession, "A123")
    for pattern in ("A*", "*23", "A?2*", "*1*"):
        assert only(parse({"AccessionNumber": [pattern]})) == WildcardCondition(accession, pattern)


def test_descriptions_are_case_insensitive_ids_are_not() -> None:
    description = resolve_attribute("StudyDescription")
    assert only(parse({"StudyDescription": ["*chest*"]})) == WildcardCondition(description, "*chest*", ignore_case=True)
    assert only(parse({"PatientID": ["*x*"]})) == WildcardCondition(PATIENT_ID, "*x*")


def test_person_name_literal_and_fuzzy() -> None:
    assert only(parse({"PatientName": ["DOE^J*"]})) == PersonNameCondition(PATIENT_NAME, "DOE^J*")
    fuzzy = parse({"PatientName": ["joh"], "fuzzymatching": ["true"]})
    assert only(fuzzy) == PersonNameFuzzyCondition(PATIENT_NAME, "joh")
    # Nothing to fuzzy-match on: stays literal.
    assert only(parse({"PatientName": ["?"], "fuzzymatching": ["true"]})) == PersonNameCondition(PATIENT_NAME, "?")


def test_fuzzymatching_after_the_name_still_applies() -> None:
    query = parse(from_url("/studies?PatientName=doe&fuzzymatching=true"))
    assert only(query) == PersonNameFuzzyCondition(PATIENT_NAME, "doe")


def test_person_name_groups() -> None:
    query = parse({"PatientName": ["Yamada^Tarou=山田^太郎=やまだ^たろう"]})
    assert only(query) == PersonNameCondition(PATIENT_NAME, "Yamada^Tarou=山田^太郎=やまだ^たろう")
    assert "at most three component groups" in error({"PatientName": ["a=b=c=d"]}).message
    assert "at most five components" in error({"PatientName": ["a^b^c^d^e^f"]}).message


def test_referring_physician_is_a_person_name() -> None:
    path = resolve_attribute("ReferringPhysicianName")
    assert only(parse({"ReferringPhysicianName": ["SMITH*"]})) == PersonNameCondition(path, "SMITH*")


def test_single_uid_and_uid_lists() -> None:
    assert only(parse({"StudyInstanceUID": ["1.2.3"]})) == SingleValueCondition(STUDY_UID, "1.2.3")
    assert only(parse({"StudyInstanceUID": ["1.2.3,1.2.4\\1.2.5", "1.2.6", "1.2.3"]})) == (
        UidListCondition(STUDY_UID, ("1.2.3", "1.2.4", "1.2.5", "1.2.6"))
    )


@pytest.mark.parametrize("value", ["1.2.*", "1..2", "1.2.", "abc", "1." + "2" * 70, "1.2 3"])
def test_bad_uids(value: str) -> None:
    exc = error({"StudyInstanceUID": [value]})
    assert exc.parameter == "StudyInstanceUID"
    assert exc.message == (
        "Query parameter 'StudyInstanceUID': StudyInstanceUID (0020000D) needs a UID or a list "
        "of UIDs separated by ',' or '\\' (digits and dots, at most 64 characters, no "
        "wildcards)."
    )


def test_multiple_values_repeated_or_backslash_are_or() -> None:
    expected = AnyOfCondition(MODALITY, (SingleValueCondition(MODALITY, "CT"), SingleValueCondition(MODALITY, "MR")))
    assert only(parse(from_url("/series?Modality=CT&Modality=MR"), SERIES)) == expected
    assert only(parse({"Modality": ["CT\\MR"]}, SERIES)) == expected
    assert only(parse({"Modality": ["CT\\MR\\CT"]}, SERIES)) == expected


def test_multiple_values_may_mix_wildcards() -> None:
    query = parse({"PatientName": ["DOE*\\SMITH^J*"]})
    assert only(query) == AnyOfCondition(
        PATIENT_NAME,
        (PersonNameCondition(PATIENT_NAME, "DOE*"), PersonNameCondition(PATIENT_NAME, "SMITH^J*")),
    )


def test_comma_is_not_a_separator_in_free_text() -> None:
    description = resolve_attribute("StudyDescription")
    assert only(parse({"StudyDescription": ["CHEST, PA"]})) == SingleValueCondition(
        description, "CHEST, PA", ignore_case=True
    )


def test_keyword_and_tag_of_one_attribute_combine() -> None:
    query = parse({"PatientID": ["A"], "00100020": ["B"]})
    assert only(query) == AnyOfCondition(
        PATIENT_ID, (SingleValueCondition(PATIENT_ID, "A"), SingleValueCondition(PATIENT_ID, "B"))
    )


def test_integer_strings() -> None:
    series_number = resolve_attribute("SeriesNumber")
    assert only(parse({"SeriesNumber": ["007"]}, SERIES)) == SingleValueCondition(series_number, 7)
    assert only(parse({"SeriesNumber": ["1,2"]}, SERIES)) == AnyOfCondition(
        series_number,
        (SingleValueCondition(series_number, 1), SingleValueCondition(series_number, 2)),
    )
    assert error({"SeriesNumber": ["1*"]}, SERIES).message == (
        "Query parameter 'SeriesNumber': SeriesNumber (00200011) needs an integer (no wildcards)."
    )


def test_sequence_matching_key() -> None:
    path = resolve_attribute("RequestAttributesSequence.ScheduledProcedureStepID")
    query = parse({"00400275.00400009": ["SPS1"]}, SERIES)
    assert only(query) == SingleValueCondition(path, "SPS1")
    assert query.result_tags() >= {0x00400275}  # type: ignore[operator]


def test_control_characters_and_overlong_values() -> None:
    assert error({"PatientID": ["A\x00B"]}).message == (
        "Query parameter 'PatientID': control characters are not allowed in values."
    )
    assert "longer than 1024 characters" in error({"PatientID": ["A" * 1025]}).message
    assert "has separators but no value" in error({"Modality": ["\\"]}, SERIES).message


# --- dates and times --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "start", "end"),
    [
        ("20200315", date(2020, 3, 15), date(2020, 3, 15)),
        ("20200101-20201231", date(2020, 1, 1), date(2020, 12, 31)),
        ("20200101-", date(2020, 1, 1), None),
        ("-20201231", None, date(2020, 12, 31)),
        ("20240229", date(2024, 2, 29), date(2024, 2, 29)),
    ],
)
def test_date_ranges(value: str, start: date | None, end: date | None) -> None:
    assert only(parse({"StudyDate": [value]})) == DateRangeCondition(STUDY_DATE, start, end)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("20201301", "the date is invalid: the month must be 01 to 12"),
        ("20230229", "the date is invalid: the day does not exist in that month"),
        ("2020010", "the date is invalid: expected a date as YYYYMMDD (8 digits)"),
        ("2020-01-01", "a range has exactly one '-'"),
        ("-", "a range needs at least one bound"),
        ("20201231-20200101", "the start of the range is after its end"),
        ("20200101-2020123", "the end of the range is invalid: expected a date as YYYYMMDD"),
        ("xx-20200101", "the start of the range is invalid: expected a date as YYYYMMDD"),
        ("00000101", "the date is invalid: the year must be 0001 or later"),
        ("2020*", "wildcards are not allowed for dates and times"),
    ],
)
def test_malformed_dates(value: str, reason: str) -> None:
    exc = error({"StudyDate": [value]})
    assert exc.parameter == "StudyDate"
    assert exc.message.startswith(
        "Query parameter 'StudyDate': StudyDate (00080020) needs a date YYYYMMDD or a date range A-B, A- or -B: "
    )
    assert reason in exc.message
    assert value not in exc.message or value == "-"  # values may be PHI: never echoed


def test_birth_date_error_does_not_echo_the_value() -> None:
    exc = error({"PatientBirthDate": ["19801345"]})
    assert "19801345" not in exc.message
    assert "PatientBirthDate (00100030)" in exc.message


@pytest.mark.parametrize(
    ("value", "start", "end"),
    [
        ("10", time(10), time(10, 59, 59, 999999)),
        ("1030", time(10, 30), time(10, 30, 59, 999999)),
        ("103015.5", time(10, 30, 15, 500000), time(10, 30, 15, 599999)),
        ("0800-1700", time(8), time(17, 0, 59, 999999)),
        ("08-17", time(8), time(17, 59, 59, 999999)),
        ("080000.000001-", time(8, 0, 0, 1), None),
        ("-2359", None, time(23, 59, 59, 999999)),
        ("235960", time(23, 59, 59, 999999), time(23, 59, 59, 999999)),  # leap second
    ],
)
def test_time_ranges(value: str, start: time | None, end: time | None) -> None:
    assert only(parse({"StudyTime": [value]})) == TimeRangeCondition(STUDY_TIME, start, end)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2500", "the hour must be 00 to 23"),
        ("1060", "the minutes must be 00 to 59"),
        ("101061", "the seconds must be 00 to 60"),
        ("101010.1234567", "expected a time as HH, HHMM, HHMMSS or HHMMSS.FFFFFF"),
        ("10:30", "expected a time as HH"),
        ("1", "expected a time as HH"),
        ("1700-0800", "the start of the range is after its end (to match across midnight"),
    ],
)
def test_malformed_times(value: str, reason: str) -> None:
    exc = error({"StudyTime": [value]})
    assert exc.message.startswith("Query parameter 'StudyTime': StudyTime (00080030) needs a time")
    assert reason in exc.message


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "start", "end"),
    [
        ("2020", utc(2020, 1, 1), utc(2020, 12, 31, 23, 59, 59, 999999)),
        ("202002", utc(2020, 2, 1), utc(2020, 2, 29, 23, 59, 59, 999999)),
        ("20200101120000-0500", utc(2020, 1, 1, 17), utc(2020, 1, 1, 17, 0, 0, 999999)),
        (
            "20200101120000.5+0100",
            utc(2020, 1, 1, 11, 0, 0, 500000),
            utc(2020, 1, 1, 11, 0, 0, 599999),
        ),
        ("20200101-20200102", utc(2020, 1, 1), utc(2020, 1, 2, 23, 59, 59, 999999)),
        ("20200101+0100-20200102+0100", utc(2019, 12, 31, 23), utc(2020, 1, 2, 22, 59, 59, 999999)),
        ("2019-2021", utc(2019, 1, 1), utc(2021, 12, 31, 23, 59, 59, 999999)),
        ("20200101-0500-", utc(2020, 1, 1, 5), None),
        ("-2020", None, utc(2020, 12, 31, 23, 59, 59, 999999)),
    ],
)
def test_date_time_ranges(value: str, start: datetime | None, end: datetime | None) -> None:
    assert only(parse({"AcquisitionDateTime": [value]}, INSTANCE)) == DateTimeRangeCondition(ACQ_DATETIME, start, end)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("20200101+1500", "the UTC offset must lie between -1200 and +1400"),
        ("20200101+0160", "the UTC offset minutes must be 00 to 59"),
        ("2020013", "expected a date-time"),
        ("20201301", "the month must be 01 to 12"),
        ("2021-2019", "the start of the range is after its end"),
    ],
)
def test_malformed_date_times(value: str, reason: str) -> None:
    exc = error({"AcquisitionDateTime": [value]}, INSTANCE)
    assert exc.message.startswith(
        "Query parameter 'AcquisitionDateTime': AcquisitionDateTime (0008002A) needs a date-time"
    )
    assert reason in exc.message


def test_combined_date_time_range_across_midnight() -> None:
    query = parse({"StudyDate": ["20200101-20200102"], "StudyTime": ["2300-0100"]})
    assert only(query) == CombinedDateTimeCondition(
        STUDY_DATE,
        STUDY_TIME,
        datetime(2020, 1, 1, 23),
        datetime(2020, 1, 2, 1, 0, 59, 999999),
    )
    assert query.result_tags() >= {0x00080020, 0x00080030}  # type: ignore[operator]


def test_combined_with_open_ends() -> None:
    query = parse({"StudyDate": ["20200101-"], "StudyTime": ["1200-"]})
    assert only(query) == CombinedDateTimeCondition(STUDY_DATE, STUDY_TIME, datetime(2020, 1, 1, 12), None)
    query = parse({"StudyDate": ["20200101"], "StudyTime": ["-0800"]})
    assert only(query) == CombinedDateTimeCondition(
        STUDY_DATE, STUDY_TIME, datetime(2020, 1, 1), datetime(2020, 1, 1, 8, 0, 59, 999999)
    )


def test_single_time_value_is_not_combined() -> None:
    query = parse({"StudyDate": ["20200101-20200107"], "StudyTime": ["1030"]})
    assert query.conditions == (
        DateRangeCondition(STUDY_DATE, date(2020, 1, 1), date(2020, 1, 7)),
        TimeRangeCondition(STUDY_TIME, time(10, 30), time(10, 30, 59, 999999)),
    )


def test_time_bound_without_date_bound_is_not_combined() -> None:
    query = parse({"StudyDate": ["-20200107"], "StudyTime": ["1000-1200"]})
    assert query.conditions == (
        DateRangeCondition(STUDY_DATE, None, date(2020, 1, 7)),
        TimeRangeCondition(STUDY_TIME, time(10), time(12, 0, 59, 999999)),
    )


def test_combined_range_starting_after_it_ends() -> None:
    exc = error({"StudyDate": ["20200101"], "StudyTime": ["2300-0100"]})
    assert exc.parameter == "StudyTime"
    assert exc.message == (
        "Query parameters 'StudyDate' and 'StudyTime': the combined date-time range starts after it ends."
    )


def test_performed_procedure_step_date_and_time_combine() -> None:
    query = parse(
        {
            "PerformedProcedureStepStartDate": ["20200101"],
            "PerformedProcedureStepStartTime": ["08-09"],
        },
        SERIES,
    )
    assert isinstance(only(query), CombinedDateTimeCondition)


# --- levels and scope ---------------------------------------------------------------------------


def test_series_search_may_match_study_attributes() -> None:
    query = parse({"PatientID": ["ID-1"], "Modality": ["CT"]}, SERIES)
    assert len(query.conditions) == 2


def test_instance_search_in_a_study_may_match_series_attributes() -> None:
    query = parse({"Modality": ["CT"], "InstanceNumber": ["1"]}, INSTANCE, study_uid="1.2")
    assert len(query.conditions) == 2


def test_modality_in_a_study_search_is_an_error() -> None:
    exc = error({"Modality": ["CT"]})
    assert exc.parameter == "Modality"
    assert "use ModalitiesInStudy (00080061)" in exc.message


def test_study_attribute_under_a_fixed_study() -> None:
    exc = error({"PatientID": ["X"]}, SERIES, study_uid="1.2.3")
    assert exc.message == (
        "Query parameter 'PatientID': PatientID (00100020) is a study-level attribute and cannot "
        "be matched here: the study is fixed by the request path of a search for a study's "
        "series (/studies/{study}/series) (PS3.18 §10.6.1.2.1)."
    )


def test_non_matchable_attribute() -> None:
    exc = error({"Manufacturer": ["ACME"]}, SERIES)
    assert exc.parameter == "Manufacturer"
    assert "Manufacturer (00080070) is not a matching key" in exc.message


def test_path_scope() -> None:
    query = parse({}, INSTANCE, study_uid="1.2.3", series_uid="1.2.3.4")
    assert (query.study_uid, query.series_uid) == ("1.2.3", "1.2.3.4")
    assert query.default_tags() == parse({}, INSTANCE, study_uid="1", series_uid="2").default_tags()


def test_bad_uid_in_the_path() -> None:
    exc = error({}, SERIES, study_uid="1.2.x")
    assert exc.parameter is None
    assert exc.message == (
        "The Study Instance UID in the request path is not a valid UID (digits and dots, at most 64 characters)."
    )


@pytest.mark.parametrize(
    ("level", "scope"),
    [
        (STUDY, {"study_uid": "1.2"}),
        (SERIES, {"study_uid": "1.2", "series_uid": "1.3"}),
        (INSTANCE, {"series_uid": "1.3"}),
    ],
)
def test_impossible_scopes_are_programming_errors(level: SearchLevel, scope: Mapping[str, str]) -> None:
    with pytest.raises(ValueError) as info:
        parse_search(level, {}, **scope)
    assert not isinstance(info.value, QueryError)


def test_result_tags_are_defaults_includes_and_matched_attributes() -> None:
    query = parse({"StudyDescription": ["*x*"], "includefield": ["PatientAge"]})
    tags = query.result_tags()
    assert tags is not ALL
    assert tags == query.default_tags() | {0x00081030, 0x00101010}


def test_query_is_hashable_and_immutable() -> None:
    query = parse(from_url("/studies?PatientName=DOE*&ModalitiesInStudy=CT%5CMR"))
    assert hash(query) == hash(parse(from_url("/studies?PatientName=DOE*&ModalitiesInStudy=CT%5CMR")))
    with pytest.raises(AttributeError):
        query.limit = 5  # type: ignore[misc]
