"""Search levels, matching keys and default return attributes (PS3.18 §10.6)."""

from __future__ import annotations

import pytest
from pydicom.datadict import tag_for_keyword

from beamit.dicomweb.qido.attributes import (
    DEFAULT_RETURN_TAGS,
    MATCHING_KEYS,
    SearchLevel,
    attribute_level,
    default_return_tags,
    matchable_levels,
    resolve_attribute,
    resolve_matching_key,
    tag_key,
)
from beamit.dicomweb.qido.errors import QueryError
from beamit.errors import BadRequest

STUDY, SERIES, INSTANCE = SearchLevel.STUDY, SearchLevel.SERIES, SearchLevel.INSTANCE


def tags(*keywords: str) -> set[int]:
    found = {tag_for_keyword(keyword) for keyword in keywords}
    assert None not in found
    return {tag for tag in found if tag is not None}


# --- name resolution ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["PatientName", "00100010"])
def test_keyword_or_tag_in_either_hex_case(name: str) -> None:
    path = resolve_attribute(name)
    assert path.tags == (0x00100010,)
    assert path.keyword == "PatientName"
    assert path.vr == "PN"
    assert str(path) == "PatientName (00100010)"


def test_hex_tag_with_letters_any_case() -> None:
    assert resolve_attribute("0020000d").tags == resolve_attribute("0020000D").tags == (0x0020000D,)


def test_dotted_sequence_path_mixing_keywords_and_tags() -> None:
    path = resolve_attribute("00400275.ScheduledProcedureStepID")
    assert path.tags == (0x00400275, 0x00400009)
    assert path.keyword == "RequestAttributesSequence.ScheduledProcedureStepID"
    assert path.key == "00400275.00400009"
    assert path.top_tag == 0x00400275 and path.tag == 0x00400009 and path.is_nested


def test_private_tag_resolves_without_keyword() -> None:
    path = resolve_attribute("00091010")
    assert path.tags == (0x00091010,)
    assert path.keyword == "" and path.vr == ""
    assert str(path) == "00091010"


def test_unknown_keyword_names_the_parameter() -> None:
    with pytest.raises(QueryError) as info:
        resolve_attribute("PatientNmae")
    assert info.value.parameter == "PatientNmae"
    assert "Unknown attribute 'PatientNmae'" in info.value.message
    assert "PS3.6 keyword or an 8-digit hex tag" in info.value.message
    assert isinstance(info.value, BadRequest) and info.value.status == 400
    assert isinstance(info.value, ValueError)


def test_wrong_case_keyword_gets_a_hint() -> None:
    with pytest.raises(QueryError, match="did you mean 'PatientName'"):
        resolve_attribute("patientname")


def test_seven_hex_digits_is_not_a_tag() -> None:
    with pytest.raises(QueryError, match="Unknown attribute '0010001'"):
        resolve_attribute("0010001")


@pytest.mark.parametrize("name", ["", "PatientName.", ".PatientName", "00400275..00400009"])
def test_malformed_dotted_paths(name: str) -> None:
    with pytest.raises(QueryError, match="Malformed attribute"):
        resolve_attribute(name, parameter="p")


def test_only_sequences_can_have_nested_attributes() -> None:
    with pytest.raises(QueryError, match="00100010 is not a sequence"):
        resolve_attribute("PatientName.PatientID")


def test_error_message_escapes_control_characters_and_caps_length() -> None:
    with pytest.raises(QueryError) as info:
        resolve_attribute("Bad\nName" + "x" * 100)
    assert "\n" not in info.value.message
    assert "Bad\\x0aName" in info.value.message
    assert "x" * 100 not in info.value.message


# --- tables ---------------------------------------------------------------------------------

REQUIRED = {
    STUDY: [
        "StudyDate",
        "StudyTime",
        "AccessionNumber",
        "ModalitiesInStudy",
        "ReferringPhysicianName",
        "PatientName",
        "PatientID",
        "StudyInstanceUID",
        "StudyID",
    ],
    SERIES: [
        "Modality",
        "SeriesInstanceUID",
        "SeriesNumber",
        "PerformedProcedureStepStartDate",
        "PerformedProcedureStepStartTime",
        "RequestAttributesSequence.ScheduledProcedureStepID",
        "RequestAttributesSequence.RequestedProcedureID",
    ],
    INSTANCE: ["SOPClassUID", "SOPInstanceUID", "InstanceNumber"],
}


@pytest.mark.parametrize("level", list(SearchLevel))
def test_every_required_matching_attribute_of_table_10_6_1_5(level: SearchLevel) -> None:
    for name in REQUIRED[level]:
        key = MATCHING_KEYS[resolve_attribute(name).tags]
        assert key.level is level and key.required, name


def test_beamit_extra_matching_keys() -> None:
    extras = {
        "StudyDescription": STUDY,
        "SOPClassesInStudy": STUDY,
        "PatientBirthDate": STUDY,
        "PatientSex": STUDY,
        "BodyPartExamined": SERIES,
        "InstitutionName": SERIES,
        "SeriesDescription": SERIES,
        "AcquisitionDateTime": INSTANCE,
    }
    for name, level in extras.items():
        key = MATCHING_KEYS[resolve_attribute(name).tags]
        assert key.level is level and not key.required, name


def test_case_insensitive_only_for_descriptions() -> None:
    folded = {key.path.keyword for key in MATCHING_KEYS.values() if key.ignore_case}
    assert folded == {"StudyDescription", "SeriesDescription", "InstitutionName"}


def test_matching_key_vrs_are_ones_the_parser_handles() -> None:
    vrs = {key.path.vr for key in MATCHING_KEYS.values()}
    assert vrs <= {"DA", "TM", "DT", "UI", "IS", "PN", "CS", "SH", "LO"}


def test_study_defaults_table_10_6_3_3() -> None:
    assert DEFAULT_RETURN_TAGS[STUDY] == tags(
        "SpecificCharacterSet", "StudyDate", "StudyTime", "AccessionNumber",
        "InstanceAvailability", "ModalitiesInStudy", "ReferringPhysicianName",
        "TimezoneOffsetFromUTC", "RetrieveURL", "PatientName", "PatientID", "PatientBirthDate",
        "PatientSex", "StudyInstanceUID", "StudyID", "NumberOfStudyRelatedSeries",
        "NumberOfStudyRelatedInstances",
    )  # fmt: skip


def test_series_defaults_table_10_6_3_4() -> None:
    assert DEFAULT_RETURN_TAGS[SERIES] == tags(
        "SpecificCharacterSet", "Modality", "TimezoneOffsetFromUTC", "SeriesDescription",
        "RetrieveURL", "StudyInstanceUID", "SeriesInstanceUID", "SeriesNumber",
        "NumberOfSeriesRelatedInstances", "PerformedProcedureStepStartDate",
        "PerformedProcedureStepStartTime", "RequestAttributesSequence",
    )  # fmt: skip


def test_instance_defaults_table_10_6_3_5() -> None:
    assert DEFAULT_RETURN_TAGS[INSTANCE] == tags(
        "SpecificCharacterSet", "SOPClassUID", "SOPInstanceUID", "InstanceAvailability",
        "TimezoneOffsetFromUTC", "RetrieveURL", "StudyInstanceUID", "SeriesInstanceUID",
        "InstanceNumber", "Rows", "Columns", "BitsAllocated", "NumberOfFrames",
    )  # fmt: skip


def test_all_series_also_returns_study_defaults() -> None:
    all_series = default_return_tags(SERIES, study_in_path=False, series_in_path=False)
    studys_series = default_return_tags(SERIES, study_in_path=True, series_in_path=False)
    assert all_series == DEFAULT_RETURN_TAGS[SERIES] | DEFAULT_RETURN_TAGS[STUDY]
    assert studys_series == DEFAULT_RETURN_TAGS[SERIES]
    assert tags("PatientName").isdisjoint(studys_series)


def test_instance_defaults_by_resource() -> None:
    everything = DEFAULT_RETURN_TAGS[INSTANCE] | DEFAULT_RETURN_TAGS[SERIES] | DEFAULT_RETURN_TAGS[STUDY]
    assert default_return_tags(INSTANCE, study_in_path=False, series_in_path=False) == everything
    assert (
        default_return_tags(INSTANCE, study_in_path=True, series_in_path=False)
        == DEFAULT_RETURN_TAGS[INSTANCE] | DEFAULT_RETURN_TAGS[SERIES]
    )
    assert default_return_tags(INSTANCE, study_in_path=True, series_in_path=True) == DEFAULT_RETURN_TAGS[INSTANCE]


def levels(level: SearchLevel, study: bool, series: bool) -> set[SearchLevel]:
    return set(matchable_levels(level, study_in_path=study, series_in_path=series))


def test_matchable_levels_follow_section_10_6_1_2_1() -> None:
    assert levels(STUDY, False, False) == {STUDY}  # /studies
    assert levels(SERIES, False, False) == {STUDY, SERIES}  # /series
    assert levels(SERIES, True, False) == {SERIES}  # /studies/{study}/series
    assert levels(INSTANCE, False, False) == set(SearchLevel)  # /instances
    assert levels(INSTANCE, True, False) == {SERIES, INSTANCE}  # /studies/{study}/instances
    assert levels(INSTANCE, True, True) == {INSTANCE}  # /studies/{study}/series/{series}/instances


def test_attribute_levels() -> None:
    assert attribute_level(0x00080060) is SERIES  # Modality
    assert attribute_level(0x00100010) is STUDY  # PatientName: patient attributes are study's
    assert attribute_level(0x0020000D) is STUDY
    assert attribute_level(0x00280010) is INSTANCE  # Rows
    assert attribute_level(0x00081030) is STUDY  # StudyDescription
    assert attribute_level(0x00081190) is None  # RetrieveURL exists at every level
    assert attribute_level(0x00091010) is None  # private: unknown


def test_tag_key_is_upper_case_hex() -> None:
    assert tag_key(0x0020000D) == "0020000D"


# --- matching keys per resource ---------------------------------------------------------------


def key_for(name: str, level: SearchLevel, *, study: bool = False, series: bool = False) -> str:
    return resolve_matching_key(
        resolve_attribute(name), level, study_in_path=study, series_in_path=series, parameter=name
    ).path.keyword


def test_parent_levels_are_matchable_when_not_fixed_by_the_path() -> None:
    assert key_for("StudyDate", SERIES) == "StudyDate"
    assert key_for("PatientName", INSTANCE) == "PatientName"
    assert key_for("Modality", INSTANCE, study=True) == "Modality"


def test_modality_in_a_study_search_suggests_modalities_in_study() -> None:
    with pytest.raises(QueryError) as info:
        key_for("Modality", STUDY)
    message = info.value.message
    assert info.value.parameter == "Modality"
    assert "Modality (00080060) is a series-level attribute" in message
    assert "a study search (/studies) matches only attributes of the study level" in message
    assert "use ModalitiesInStudy (00080061)" in message
    assert "PS3.18 §10.6.1.2.1" in message


def test_instance_attribute_in_a_series_search() -> None:
    with pytest.raises(QueryError) as info:
        key_for("SOPClassUID", SERIES)
    assert "SOPClassUID (00080016) is an instance-level attribute" in info.value.message


def test_study_attribute_when_the_path_fixes_the_study() -> None:
    with pytest.raises(QueryError) as info:
        key_for("StudyDate", SERIES, study=True)
    assert "StudyDate (00080020) is a study-level attribute" in info.value.message
    assert "the study is fixed by the request path" in info.value.message
    assert "/studies/{study}/series" in info.value.message


def test_series_attribute_when_the_path_fixes_the_series() -> None:
    with pytest.raises(QueryError, match="the series is fixed by the request path"):
        key_for("Modality", INSTANCE, study=True, series=True)


def test_known_but_unindexed_attribute() -> None:
    with pytest.raises(QueryError) as info:
        key_for("Manufacturer", SERIES)
    message = info.value.message
    assert "Manufacturer (00080070) is not a matching key" in message
    assert "use includefield" in message
    assert "Modality" in message and "StudyDate" in message  # lists what can be matched


def test_private_attribute_is_not_matchable() -> None:
    with pytest.raises(QueryError, match="private attributes cannot be matched"):
        key_for("00091010", STUDY)


def test_sequence_itself_is_not_matchable() -> None:
    with pytest.raises(QueryError, match="RequestAttributesSequence.ScheduledProcedureStepID"):
        key_for("RequestAttributesSequence", SERIES)
