"""DICOM JSON Model with BulkDataURIs (PS3.18 Annex F) on pydicom's own test files."""

from __future__ import annotations

import json
import logging
from typing import Any

import pydicom
import pytest
from pydicom import config
from pydicom.data import get_testdata_file
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset, FileDataset
from pydicom.sequence import Sequence

from beamit.dicomweb.dicom_json import (
    DicomJSONError,
    ElementNotFoundError,
    dataset_to_json,
    element_at,
    instance_metadata,
)
from beamit.dicomweb.uri import DicomwebRoot, ElementPath, InvalidUIDError, ResourceRef

ROOT = DicomwebRoot("https://api.beamit.health/v1/dicomweb")
PIXEL_DATA = "7FE00010"
# rtdose.dcm has a Referenced Frame of Reference UID with a leading zero component
BAD_UI = pytest.mark.filterwarnings("ignore:Invalid value for VR UI")


def load(name: str, **kwargs: Any) -> FileDataset:
    path = get_testdata_file(name)
    assert path is not None, name
    return pydicom.dcmread(path, **kwargs)


def instance_url(ds: Dataset) -> str:
    return ROOT.instance_url(ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID)


def bulk_uris(model: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """{element path: BulkDataURI} for every bulk element, at any depth."""
    found: dict[str, str] = {}
    for key, attribute in model.items():
        if "BulkDataURI" in attribute:
            found[prefix + key] = attribute["BulkDataURI"]
        if attribute["vr"] == "SQ":
            for index, item in enumerate(attribute.get("Value", [])):
                found.update(bulk_uris(item, f"{prefix}{key}/{index}/"))
    return found


def assert_annex_f_shape(model: dict[str, Any]) -> None:
    """Keys are 8 upper-case hex digits in ascending order, no group lengths (§F.2.2), each
    attribute has a vr and at most one of Value / BulkDataURI / InlineBinary."""
    assert list(model) == sorted(model)
    for key, attribute in model.items():
        assert len(key) == 8 and key == key.upper() and int(key, 16) & 0xFFFF != 0
        assert len(attribute["vr"]) == 2
        assert len(set(attribute) & {"Value", "BulkDataURI", "InlineBinary"}) <= 1
        if attribute["vr"] == "SQ":
            for item in attribute.get("Value", []):
                assert_annex_f_shape(item)


def from_json_resolving_bulk_data(model: dict[str, Any], original: Dataset) -> Dataset:
    """pydicom's from_json, with BulkDataURIs resolved through uri.py and element_at()."""

    def handler(tag: str, vr: str, uri: str) -> Any:
        parsed = ROOT.parse_url(uri)
        assert parsed.resource == "bulkdata" and parsed.element is not None
        assert parsed.ref == ResourceRef(
            original.StudyInstanceUID, original.SeriesInstanceUID, original.SOPInstanceUID
        )
        element = element_at(original, parsed.element)
        assert f"{element.tag:08X}" == tag and element.VR == vr
        return element.value

    return Dataset.from_json(json.loads(json.dumps(model)), bulk_data_uri_handler=handler)


# ------------------------------------------------------------------------------ real files


def test_ct_small() -> None:
    ds = load("CT_small.dcm")
    model = instance_metadata(ds, ROOT)
    assert_annex_f_shape(model)
    assert bulk_uris(model) == {
        "00431029": f"{instance_url(ds)}/bulkdata/00431029",  # private OB, 2068 bytes
        PIXEL_DATA: f"{instance_url(ds)}/bulkdata/7FE00010",
    }
    assert model[PIXEL_DATA] == {"vr": "OW", "BulkDataURI": f"{instance_url(ds)}/bulkdata/7FE00010"}
    # small values stay inline
    assert model["00431028"]["vr"] == "OB" and "InlineBinary" in model["00431028"]  # 80 bytes
    assert model["00100010"] == {"vr": "PN", "Value": [{"Alphabetic": "CompressedSamples^CT1"}]}
    assert model["00280010"] == {"vr": "US", "Value": [128]}
    assert model["00080060"] == {"vr": "CS", "Value": ["CT"]}
    assert model["0020000D"] == {"vr": "UI", "Value": [ds.StudyInstanceUID]}


def test_mr_small() -> None:
    ds = load("MR_small.dcm")
    model = instance_metadata(ds, ROOT)
    assert_annex_f_shape(model)
    assert bulk_uris(model) == {PIXEL_DATA: f"{instance_url(ds)}/bulkdata/7FE00010"}


def test_bulk_data_inside_sequences_gets_its_nested_path() -> None:
    ecg = load("waveform_ecg.dcm")  # Waveform Sequence items with large OW Waveform Data
    model = instance_metadata(ecg, ROOT)
    assert_annex_f_shape(model)
    assert bulk_uris(model) == {
        "54000100/0/54001010": f"{instance_url(ecg)}/bulkdata/54000100/0/54001010",
        "54000100/1/54001010": f"{instance_url(ecg)}/bulkdata/54000100/1/54001010",
    }
    item = model["54000100"]["Value"][1]
    assert item["54001010"] == {
        "vr": "OW",
        "BulkDataURI": f"{instance_url(ecg)}/bulkdata/54000100/1/54001010",
    }
    assert item["003A0005"]["Value"] == [ecg.WaveformSequence[1].NumberOfWaveformChannels]

    overlay = load("examples_overlay.dcm")  # Icon Image Sequence with its own Pixel Data
    uris = bulk_uris(instance_metadata(overlay, ROOT))
    assert uris["00880200/0/7FE00010"] == f"{instance_url(overlay)}/bulkdata/00880200/0/7FE00010"
    assert "00880200/0/00281201" not in uris  # 256 byte LUT stays inline
    assert set(uris) == {"00291110", "00880200/0/7FE00010", "60003000", PIXEL_DATA}


@BAD_UI
@pytest.mark.parametrize("name", ["rtdose.dcm", "SC_rgb_rle_2frame.dcm", "JPEG2000.dcm"])
def test_multi_frame_and_encapsulated_pixel_data(name: str) -> None:
    # (emri_small.dcm is not bundled with pydicom; these multi-frame files are.)
    ds = load(name)
    model = instance_metadata(ds, ROOT)
    assert_annex_f_shape(model)
    assert bulk_uris(model) == {PIXEL_DATA: f"{instance_url(ds)}/bulkdata/7FE00010"}
    assert model["00280008"]["Value"] == [int(ds.NumberOfFrames)]


@BAD_UI
@pytest.mark.parametrize(
    "name",
    [
        "CT_small.dcm",
        "MR_small.dcm",
        "waveform_ecg.dcm",
        "examples_overlay.dcm",
        "examples_palette.dcm",
        "rtdose.dcm",
        "rtplan.dcm",
        "reportsi.dcm",
        "SC_rgb_rle_2frame.dcm",
    ],
)
def test_pydicom_reads_the_json_back(name: str) -> None:
    ds = load(name)
    model = instance_metadata(ds, ROOT)
    # without bulk data ...
    empty = Dataset.from_json(json.dumps(model), bulk_data_uri_handler=lambda _uri: None)
    assert set(empty.keys()) == {elem.tag for elem in ds if elem.tag & 0xFFFF}
    # ... and, resolving each BulkDataURI, identical to the original
    assert from_json_resolving_bulk_data(model, ds) == ds


def test_without_a_uri_factory_everything_is_inline_exactly_as_pydicom_does_it() -> None:
    for name in ("CT_small.dcm", "waveform_ecg.dcm", "examples_overlay.dcm"):
        ds = load(name)
        assert dataset_to_json(ds) == ds.to_json_dict()


# ----------------------------------------------------------------------- the bulk decision


def _dataset(**binary: bytes) -> Dataset:
    ds = Dataset()
    ds.PatientID = "P1"
    for keyword, value in binary.items():
        setattr(ds, keyword, value)
    return ds


def uri_of(path: ElementPath) -> str:
    return f"bulk:{path}"


def test_threshold_is_in_value_bytes() -> None:
    ds = Dataset()
    ds.add_new(0x00091010, "OB", b"x" * 1024)
    ds.add_new(0x00091011, "OB", b"x" * 1025)
    ds.add_new(0x00091012, "UN", b"x" * 2000)
    ds.add_new(0x00091013, "OB", b"")
    ds.add_new(0x00091014, "LT", "x" * 5000)  # text is never bulk here
    model = dataset_to_json(ds, uri_of)
    assert "InlineBinary" in model["00091010"]
    assert model["00091011"] == {"vr": "OB", "BulkDataURI": "bulk:00091011"}
    assert model["00091012"] == {"vr": "UN", "BulkDataURI": "bulk:00091012"}
    assert model["00091013"] == {"vr": "OB"}
    assert model["00091014"]["Value"] == ["x" * 5000]
    lowered = dataset_to_json(ds, uri_of, bulk_data_threshold=100)
    assert lowered["00091010"] == {"vr": "OB", "BulkDataURI": "bulk:00091010"}


@pytest.mark.parametrize(
    ("tag", "vr", "key"),
    [
        (0x7FE00010, "OB", PIXEL_DATA),
        (0x7FE00008, "OF", "7FE00008"),
        (0x7FE00009, "OD", "7FE00009"),
    ],
)
def test_pixel_data_is_always_bulk(tag: int, vr: str, key: str) -> None:
    ds = Dataset()
    ds.add_new(tag, vr, b"\x00" * 8)
    assert dataset_to_json(ds, uri_of) == {key: {"vr": vr, "BulkDataURI": f"bulk:{key}"}}


def test_group_lengths_are_left_out() -> None:
    ds = Dataset()
    ds.add_new(0x00080000, "UL", 42)
    ds.add_new(0x00080060, "CS", "CT")
    assert dataset_to_json(ds) == {"00080060": {"vr": "CS", "Value": ["CT"]}}


def test_empty_sequences_and_items() -> None:
    ds = Dataset()
    ds.add_new(0x00081115, "SQ", Sequence())
    ds.add_new(0x00081140, "SQ", Sequence([Dataset()]))
    assert dataset_to_json(ds, uri_of) == {
        "00081115": {"vr": "SQ", "Value": []},
        "00081140": {"vr": "SQ", "Value": [{}]},
    }


def test_deeply_nested_paths() -> None:
    inner = Dataset()
    inner.add_new(0x00091001, "OB", b"y" * 2000)
    middle = Dataset()
    middle.add_new(0x0040A730, "SQ", Sequence([Dataset(), inner]))
    ds = Dataset()
    ds.add_new(0x0040A730, "SQ", Sequence([middle]))
    model = dataset_to_json(ds, uri_of)
    assert bulk_uris(model) == {
        "0040A730/0/0040A730/1/00091001": "bulk:0040A730/0/0040A730/1/00091001"
    }
    path = ElementPath.parse("0040A730/0/0040A730/1/00091001")
    assert element_at(ds, path).value == b"y" * 2000


def test_deferred_bulk_elements_are_not_read() -> None:
    ds = load("CT_small.dcm", defer_size="1 KB")  # explicit VR: the VR is known unread
    model = instance_metadata(ds, ROOT)
    assert model[PIXEL_DATA]["vr"] == "OW"
    raw = ds.get_item(0x7FE00010, keep_deferred=True)
    assert isinstance(raw, RawDataElement) and raw.value is None
    assert model == instance_metadata(load("CT_small.dcm"), ROOT)


@BAD_UI
def test_deferred_ambiguous_vr_is_resolved_by_pydicom() -> None:
    ds = load("rtdose.dcm", defer_size="1 KB")  # implicit VR: Pixel Data is "OB or OW"
    model = instance_metadata(ds, ROOT)
    assert model[PIXEL_DATA] == {"vr": "OW", "BulkDataURI": f"{instance_url(ds)}/bulkdata/7FE00010"}


# ------------------------------------------------------------------- small response data sets


def test_inline_use_for_qido_and_stow_responses() -> None:
    ref = Dataset()
    ref.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ref.ReferencedSOPInstanceUID = "1.2.3.4"
    ref.RetrieveURL = ROOT.instance_url("1.2", "1.2.3", "1.2.3.4")
    response = Dataset()
    response.RetrieveURL = ROOT.study_url("1.2")
    response.ReferencedSOPSequence = [ref]
    assert dataset_to_json(response) == {
        "00081190": {"vr": "UR", "Value": [f"{ROOT.base_url}/studies/1.2"]},
        "00081199": {
            "vr": "SQ",
            "Value": [
                {
                    "00081150": {"vr": "UI", "Value": ["1.2.840.10008.5.1.4.1.1.2"]},
                    "00081155": {"vr": "UI", "Value": ["1.2.3.4"]},
                    "00081190": {
                        "vr": "UR",
                        "Value": [f"{ROOT.base_url}/studies/1.2/series/1.2.3/instances/1.2.3.4"],
                    },
                }
            ],
        },
    }


# ----------------------------------------------------------------------------------- errors


def test_instance_metadata_needs_valid_instance_uids() -> None:
    ds = load("MR_small.dcm")
    del ds.SeriesInstanceUID
    with pytest.raises(DicomJSONError, match="has no SeriesInstanceUID"):
        instance_metadata(ds, ROOT)
    ds = load("MR_small.dcm")
    ds.add(DataElement(0x00080018, "UI", "1.2.03", validation_mode=config.IGNORE))
    with pytest.raises(InvalidUIDError, match="SOPInstanceUID"):
        instance_metadata(ds, ROOT)


def test_unconvertible_elements_fail_or_are_dropped() -> None:
    ds = Dataset()
    ds.PatientID = "P1"
    ds.add(DataElement(0x00280010, "US", "not a number", validation_mode=config.IGNORE))
    with pytest.raises(ValueError, match="not a number"):
        dataset_to_json(ds)
    assert dataset_to_json(ds, suppress_invalid_tags=True) == {
        "00100020": {"vr": "LO", "Value": ["P1"]}
    }


def test_dropped_elements_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    ds = Dataset()
    ds.add(DataElement(0x00280010, "US", "x", validation_mode=config.IGNORE))
    with caplog.at_level(logging.WARNING, logger="beamit.dicomweb.dicom_json"):
        dataset_to_json(ds, suppress_invalid_tags=True)
    assert "00280010" in caplog.text


def test_element_at_errors() -> None:
    ds = load("waveform_ecg.dcm")
    assert element_at(ds, ElementPath.parse("54000100/1/54001010")).VR == "OW"
    cases = {
        "00100011": "no element (0010,0011)",
        "00540016/0/00181072": "no sequence (0054,0016)",
        "00100010/0/00181072": "(0010,0010) is not a sequence",
        "54000100/2/54001010": "(5400,0100) has 2 items, no item 2",
        "54000100/0/7FE00010": "no element (7FE0,0010)",
    }
    for text, message in cases.items():
        with pytest.raises(ElementNotFoundError) as info:
            element_at(ds, ElementPath.parse(text))
        assert message in str(info.value)
        assert isinstance(info.value, LookupError)
