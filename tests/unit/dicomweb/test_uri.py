"""DICOMweb URI building/parsing and UID validation (PS3.18 §10.4.1, PS3.5 §9.1)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from beamit.dicomweb.uri import (
    DicomwebPath,
    DicomwebRoot,
    DicomwebURIError,
    ElementPath,
    InvalidUIDError,
    ResourceRef,
    parse_dicomweb_path,
    parse_frame_list,
    validate_uid,
)

ROOT = DicomwebRoot("https://api.beamit.health/v1/dicomweb")
STUDY = "1.2.840.113619.2.55.3.604688119.969.1268071029.320"
SERIES = "1.2.840.113619.2.55.3.604688119.969.1268071029.321"
INSTANCE = "1.2.840.113619.2.55.3.604688119.969.1268071029.322.0"
BASE = "https://api.beamit.health/v1/dicomweb"
INSTANCE_URL = f"{BASE}/studies/{STUDY}/series/{SERIES}/instances/{INSTANCE}"


# ------------------------------------------------------------------------------------ UIDs


@pytest.mark.parametrize(
    "uid",
    ["0", "1.2", "1.2.0.3", "1.20.300", "2.25.329800735698586629295641978511506172918", "9" * 64],
)
def test_valid_uids(uid: str) -> None:
    assert validate_uid(uid) == uid


@pytest.mark.parametrize(
    ("uid", "reason"),
    [
        ("", "it is empty"),
        ("1." + "2" * 63, "it is 65 characters long, the maximum is 64"),
        ("1.2.a", "character 'a' is not a digit or '.'"),
        ("1.2 ", "character ' ' is not a digit or '.'"),
        ("1.2\x00", "character '\\x00' is not a digit or '.'"),
        ("1.2/3", "character '/' is not a digit or '.'"),
        (".1.2", "component 1 is empty"),
        ("1..2", "component 2 is empty"),
        ("1.2.", "component 3 is empty"),
        ("1.02", "component 2 ('02') has a leading zero"),
        ("00", "component 1 ('00') has a leading zero"),
        ("1.2.840.0123", "component 4 ('0123') has a leading zero"),
    ],
)
def test_invalid_uids_say_why(uid: str, reason: str) -> None:
    with pytest.raises(InvalidUIDError) as info:
        validate_uid(uid, "StudyInstanceUID")
    assert info.value.reason == reason
    assert info.value.uid == uid
    assert str(info.value) == f"invalid StudyInstanceUID {uid!r}: {reason} (PS3.5 §9.1)"
    assert isinstance(info.value, DicomwebURIError)
    assert isinstance(info.value, ValueError)


component = st.one_of(st.just("0"), st.integers(1, 10**12).map(str))


@given(st.lists(component, min_size=1, max_size=12).map(".".join))
def test_generated_uids_validate_iff_short_enough(uid: str) -> None:
    if len(uid) <= 64:
        assert validate_uid(uid) == uid
    else:
        with pytest.raises(InvalidUIDError, match="maximum is 64"):
            validate_uid(uid)


def test_pydicom_generated_uids_are_valid() -> None:
    from pydicom.uid import generate_uid

    for _ in range(50):
        validate_uid(generate_uid())


def test_resource_ref_validates_each_uid_by_name() -> None:
    with pytest.raises(InvalidUIDError, match="SeriesInstanceUID '1.02'"):
        ResourceRef(STUDY, "1.02")
    with pytest.raises(InvalidUIDError, match="SOPInstanceUID"):
        ResourceRef(STUDY, SERIES, "x")
    with pytest.raises(DicomwebURIError, match="needs its SeriesInstanceUID"):
        ResourceRef(STUDY, None, INSTANCE)
    assert ResourceRef(STUDY).level == "study"
    assert ResourceRef(STUDY, SERIES).level == "series"
    assert ResourceRef(STUDY, SERIES, INSTANCE).level == "instance"


# ----------------------------------------------------------------------------------- roots


@pytest.mark.parametrize(
    "base",
    [BASE, BASE + "/", BASE + "//", "https://api.beamit.health/v1/dicomweb"],
)
def test_root_normalises_trailing_slashes(base: str) -> None:
    assert DicomwebRoot(base).study_url(STUDY) == f"{BASE}/studies/{STUDY}"


@pytest.mark.parametrize(
    "base",
    ["api.beamit.health/v1", "ftp://x/y", "https:///nohost", f"{BASE}?x=1", f"{BASE}#f", ""],
)
def test_root_rejects_non_http_urls(base: str) -> None:
    with pytest.raises(DicomwebURIError, match="base URL"):
        DicomwebRoot(base)


def test_build_urls() -> None:
    instance = ResourceRef(STUDY, SERIES, INSTANCE)
    assert ROOT.study_url(STUDY) == f"{BASE}/studies/{STUDY}"
    assert ROOT.series_url(STUDY, SERIES) == f"{BASE}/studies/{STUDY}/series/{SERIES}"
    assert ROOT.instance_url(STUDY, SERIES, INSTANCE) == INSTANCE_URL
    assert ROOT.retrieve_url(instance) == INSTANCE_URL
    assert ROOT.metadata_url(ResourceRef(STUDY)) == f"{BASE}/studies/{STUDY}/metadata"
    assert ROOT.metadata_url(instance) == f"{INSTANCE_URL}/metadata"
    assert ROOT.rendered_url(ResourceRef(STUDY, SERIES)) == (
        f"{BASE}/studies/{STUDY}/series/{SERIES}/rendered"
    )
    assert ROOT.frames_url(instance, [1, 3, 2]) == f"{INSTANCE_URL}/frames/1,3,2"
    assert ROOT.rendered_url(instance, [5]) == f"{INSTANCE_URL}/frames/5/rendered"
    assert ROOT.bulkdata_url(instance, ElementPath(0x7FE00010)) == (
        f"{INSTANCE_URL}/bulkdata/7FE00010"
    )
    nested = ElementPath(0x00181072, ((0x00540016, 0),))
    assert ROOT.bulkdata_url(instance, nested) == f"{INSTANCE_URL}/bulkdata/00540016/0/00181072"


def test_urls_below_instance_level_need_an_instance() -> None:
    series = ResourceRef(STUDY, SERIES)
    with pytest.raises(DicomwebURIError, match="is a series, an instance is needed"):
        ROOT.frames_url(series, [1])
    with pytest.raises(DicomwebURIError, match="an instance is needed"):
        ROOT.bulkdata_url(series, ElementPath(0x7FE00010))
    with pytest.raises(DicomwebURIError, match="frame numbers"):
        ROOT.frames_url(ResourceRef(STUDY, SERIES, INSTANCE), [])
    with pytest.raises(DicomwebURIError, match="frame numbers"):
        ROOT.frames_url(ResourceRef(STUDY, SERIES, INSTANCE), [0])


def test_building_never_accepts_an_invalid_uid() -> None:
    with pytest.raises(InvalidUIDError):
        ROOT.study_url("1.2.3/../../admin")
    with pytest.raises(InvalidUIDError):
        ROOT.instance_url(STUDY, SERIES, "1.2.3?x=1")


# ---------------------------------------------------------------------------- element paths


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("7FE00010", ElementPath(0x7FE00010)),
        ("7fe00010", ElementPath(0x7FE00010)),
        ("00540016/0/00181072", ElementPath(0x00181072, ((0x00540016, 0),))),
        (
            "54000100/12/003A0200/3/003A0208",
            ElementPath(0x003A0208, ((0x54000100, 12), (0x003A0200, 3))),
        ),
    ],
)
def test_element_path_parse(text: str, path: ElementPath) -> None:
    assert ElementPath.parse(text) == path
    assert str(path) == text.upper()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "is not an 8 hex digit tag"),
        ("7FE0001", "'7FE0001' is not an 8 hex digit tag"),
        ("7FE000100", "is not an 8 hex digit tag"),
        ("PixelData", "is not an 8 hex digit tag"),
        ("00540016/0", "got 2 segments"),
        ("00540016/x/00181072", "'x' is not an item index"),
        ("00540016/-1/00181072", "'-1' is not an item index"),
        ("00540016/01/00181072", "'01' is not an item index"),
        ("00540016//00181072", "'' is not an item index"),
        ("00540016/0/0018107G", "'0018107G' is not an 8 hex digit tag"),
        ("/".join(["00540016", "0"] * 40 + ["00181072"]), "nested too deeply"),
    ],
)
def test_element_path_parse_errors(text: str, fragment: str) -> None:
    with pytest.raises(DicomwebURIError) as info:
        ElementPath.parse(text)
    assert fragment in str(info.value)


tags = st.integers(0, 0xFFFFFFFF)


@given(tag=tags, items=st.lists(st.tuples(tags, st.integers(0, 10**6)), max_size=6))
def test_element_path_round_trip(tag: int, items: list[tuple[int, int]]) -> None:
    path = ElementPath(tag, tuple(items))
    assert ElementPath.parse(str(path)) == path


def test_element_path_child() -> None:
    seq = ElementPath(0x00540016)
    assert seq.child(2, 0x00181072) == ElementPath(0x00181072, ((0x00540016, 2),))


# ------------------------------------------------------------------------------ frame lists


def test_frame_lists() -> None:
    assert parse_frame_list("1") == (1,)
    assert parse_frame_list("1,3,2") == (1, 3, 2)
    assert parse_frame_list("1, 2") == (1, 2)
    for bad in ("", "0", "1,,2", "-1", "a", "1.5", "１"):
        with pytest.raises(DicomwebURIError, match="invalid frame list"):
            parse_frame_list(bad)


# ------------------------------------------------------------------------------ path parsing


def test_parse_paths() -> None:
    study, series = ResourceRef(STUDY), ResourceRef(STUDY, SERIES)
    instance = ResourceRef(STUDY, SERIES, INSTANCE)
    i = f"studies/{STUDY}/series/{SERIES}/instances/{INSTANCE}"
    cases = {
        f"studies/{STUDY}": DicomwebPath(study),
        f"/studies/{STUDY}/": DicomwebPath(study),
        f"studies/{STUDY}/metadata": DicomwebPath(study, "metadata"),
        f"studies/{STUDY}/series/{SERIES}/rendered": DicomwebPath(series, "rendered"),
        f"studies/{STUDY}/series/{SERIES}/thumbnail": DicomwebPath(series, "thumbnail"),
        i: DicomwebPath(instance),
        f"{i}/metadata": DicomwebPath(instance, "metadata"),
        f"{i}/frames/1,2": DicomwebPath(instance, "frames", (1, 2)),
        f"{i}/frames/3/rendered": DicomwebPath(instance, "rendered", (3,)),
        f"{i}/bulkdata/7FE00010": DicomwebPath(
            instance, "bulkdata", element=ElementPath(0x7FE00010)
        ),
        f"{i}/bulkdata/00540016/0/00181072": DicomwebPath(
            instance, "bulkdata", element=ElementPath(0x00181072, ((0x00540016, 0),))
        ),
    }
    for path, expected in cases.items():
        assert parse_dicomweb_path(path) == expected, path


@pytest.mark.parametrize(
    ("path", "error", "fragment"),
    [
        ("", DicomwebURIError, "must start with 'studies/'"),
        ("series/1.2", DicomwebURIError, "must start with 'studies/'"),
        ("studies", DicomwebURIError, "'studies' without a UID"),
        ("studies/", DicomwebURIError, "'studies' without a UID"),
        ("studies/1.2/series", DicomwebURIError, "'series' without a UID"),
        ("studies/1.02", InvalidUIDError, "leading zero"),
        ("studies/1.2/instances/1.3", DicomwebURIError, "unexpected 'instances/1.3'"),
        ("studies/1.2/frames/1", DicomwebURIError, "after the study"),
        ("studies/1.2/series/1.3/bulkdata/7FE00010", DicomwebURIError, "after the series"),
        ("studies/1.2/series/1.3/instances/1.4/frames/0", DicomwebURIError, "frame list"),
        ("studies/1.2/series/1.3/instances/1.4/frames/1/x", DicomwebURIError, "unexpected"),
        ("studies/1.2/series/1.3/instances/1.4/bulkdata/zz", DicomwebURIError, "'zz'"),
        ("studies/1.2/metadata/x", DicomwebURIError, "unexpected 'metadata/x'"),
    ],
)
def test_parse_path_errors(path: str, error: type[Exception], fragment: str) -> None:
    with pytest.raises(error) as info:
        parse_dicomweb_path(path)
    assert fragment in str(info.value)


def test_parse_url_round_trips_built_urls() -> None:
    instance = ResourceRef(STUDY, SERIES, INSTANCE)
    path = ElementPath(0x00181072, ((0x00540016, 0),))
    parsed = ROOT.parse_url(ROOT.bulkdata_url(instance, path))
    assert parsed == DicomwebPath(instance, "bulkdata", element=path)
    assert ROOT.parse_url(ROOT.frames_url(instance, [2]) + "?quality=90").frames == (2,)
    with pytest.raises(DicomwebURIError, match="not under the DICOMweb root"):
        ROOT.parse_url(f"https://evil.example/v1/dicomweb/studies/{STUDY}")
    with pytest.raises(DicomwebURIError, match="not under the DICOMweb root"):
        ROOT.parse_url(f"{BASE}x/studies/{STUDY}")
