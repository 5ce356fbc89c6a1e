"""DICOM JSON straight from raw element bytes (``dicom_json._raw_json``) is pydicom's, exactly.

Every data set is read from its bytes twice: once converted with the raw fast path, once with
it turned off (every element through pydicom's DataElement.to_json_dict, as before). The two
JSON texts must be identical, byte for byte (so 2 and 2.0, or a missing "Value", differ).
"""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import pydicom
import pydicom.data
import pytest
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset

from beamit.dicomweb import dicom_json
from beamit.dicomweb.dicom_json import dataset_to_json, instance_metadata
from beamit.dicomweb.uri import DicomwebRoot
from beamit.sandbox import SandboxConfig, generate_studies, iter_datasets, part10_bytes

ROOT = DicomwebRoot("https://api.beamit.health/v1/dicomweb")


def _read(data: bytes | str | Path) -> Dataset | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            source = io.BytesIO(data) if isinstance(data, bytes) else data
            return pydicom.dcmread(source, force=True, defer_size=4096)
    except Exception:
        return None


def _json_text(dataset: Dataset, *, fast: bool, monkeypatch: pytest.MonkeyPatch, bulk: bool) -> str:
    with monkeypatch.context() as patch:
        if not fast:
            patch.setattr(dicom_json, "_raw_json", lambda raw: None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                if bulk:
                    value = instance_metadata(dataset, ROOT, suppress_invalid_tags=True)
                else:
                    value = dataset_to_json(dataset, suppress_invalid_tags=True)
            except Exception as exc:  # the same failure both ways is agreement too
                return f"error: {type(exc).__name__}"
    return json.dumps(value, sort_keys=True, allow_nan=True)


def _pydicom_files() -> list[str]:
    """pydicom's own test files that ship with it (the downloadable ones need the network)."""
    folder = Path(pydicom.data.__file__).parent / "test_files"
    return sorted(str(p) for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in (".dcm", ""))


def _sandbox_part10() -> list[bytes]:
    studies = generate_studies(20261205, 6, SandboxConfig(scale=0.1))
    return [part10_bytes(ds) for ds in iter_datasets(studies)]


def _agree(source: bytes | str, monkeypatch: pytest.MonkeyPatch) -> int:
    """Assert both conversions agree on ``source``; returns how many raw elements it had."""
    raw_elements = 0
    for bulk in (False, True):
        fast_ds, slow_ds = _read(source), _read(source)
        if fast_ds is None or slow_ds is None:
            return 0
        raw_elements = sum(1 for tag in fast_ds.keys()
                           if isinstance(fast_ds.get_item(tag, keep_deferred=True), RawDataElement))
        fast = _json_text(fast_ds, fast=True, monkeypatch=monkeypatch, bulk=bulk)
        slow = _json_text(slow_ds, fast=False, monkeypatch=monkeypatch, bulk=bulk)
        assert fast == slow, f"{source if isinstance(source, str) else 'sandbox data set'} (bulk={bulk})"
    return raw_elements


def test_pydicom_test_files_convert_the_same(monkeypatch):
    files = _pydicom_files()
    assert len(files) > 100
    compared = sum(1 for path in files if _agree(path, monkeypatch))
    assert compared > 100  # most of pydicom's files are readable data sets


def test_sandbox_instances_convert_the_same(monkeypatch):
    parts = _sandbox_part10()
    assert len(parts) > 20
    for data in parts:
        assert _agree(data, monkeypatch) > 0


def test_most_elements_of_a_ct_slice_take_the_raw_path(monkeypatch):
    """Not a vacuous agreement: the fast path answers most elements of an ordinary image."""
    ds = _read(_sandbox_part10()[0])
    assert ds is not None
    taken: list[str] = []
    original = dicom_json._raw_json

    def counting(raw):
        found = original(raw)
        if found is not None:
            taken.append(found["vr"])
        return found

    monkeypatch.setattr(dicom_json, "_raw_json", counting)
    result = dataset_to_json(ds)
    assert len(taken) >= 0.7 * len(result)


@pytest.mark.parametrize(("vr", "data", "expected"), [
    ("CS", b"ORIGINAL\\PRIMARY\\AXIAL ", ["ORIGINAL", "PRIMARY", "AXIAL"]),
    ("CS", b"A \\B ", ["A ", "B"]),  # multi_string: only the whole value's trailing padding goes
    ("LO", b"A \\B ", ["A", "B"]),  # convert_text: each value's trailing padding goes
    ("AE", b" STORE \\ SCP ", ["STORE", "SCP"]),
    ("UI", b"1.2.840.10008.1.2.1\x00", ["1.2.840.10008.1.2.1"]),
    ("DS", b" 0.5\\-1e3 ", [0.5, -1000.0]),
    ("IS", b"12\\-3 ", [12, -3]),
    ("US", b"\x00\x02\x01\x00", [512, 1]),
    ("FD", b"\x00\x00\x00\x00\x00\x00\xf8\x3f", [1.5]),
    ("CS", b"  ", None),  # empty: no Value
])
def test_values_as_pydicom_gives_them(vr, data, expected):
    raw = RawDataElement(0x00080008, vr, len(data), data, 0, False, True)
    found = dicom_json._raw_json(raw)
    assert found == ({"vr": vr, "Value": expected} if expected is not None else {"vr": vr})
    element = pydicom.dataelem.convert_raw_data_element(raw)
    assert json.dumps(found) == json.dumps(element.to_json_dict(None, 1024))


@pytest.mark.parametrize(("vr", "data"), [
    ("LO", "Müller".encode("latin-1")),  # the character set decides
    ("LO", b"\x1b$B"),  # ISO 2022 escape sequence
    ("DS", b"1,5"),  # malformed: pydicom's error, not ours
    ("IS", b"1.0"),
    ("US", b"\x01\x02\x03"),  # not a whole number of values
    ("PN", b"Doe^John"),  # person names: pydicom's components
])
def test_everything_else_is_left_to_pydicom(vr, data):
    assert dicom_json._raw_json(RawDataElement(0x00100010, vr, len(data), data, 0, False, True)) is None


_INGEST_TAGS = (0x00080016, 0x00080018, 0x0020000D, 0x0020000E, 0x00080060, 0x00200013,  # UIDs, Modality, number
                0x00280010, 0x00280011, 0x00280002, 0x00280008, 0x00280100)  # Image Pixel numbers


def _pydicom_value(dataset: Dataset, tag: int) -> object:
    value = dataset.get(tag)
    value = None if value is None else value.value
    if value in (None, "") or (isinstance(value, list | pydicom.multival.MultiValue) and not value):
        return None
    if isinstance(value, pydicom.multival.MultiValue):
        return [str(v) for v in value]
    return str(value) if isinstance(value, str) else value


def _element_values(source: bytes | str) -> list[tuple[int, object, object]]:
    """(tag, element_value, pydicom's value) of the ingest tags of ``source``, each data set read afresh."""
    compared = []
    for tag in _INGEST_TAGS:
        fast_ds, slow_ds = _read(source), _read(source)
        if fast_ds is None or slow_ds is None:
            return []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                fast: object = dicom_json.element_value(fast_ds, tag)
                fast = [str(v) for v in fast] if isinstance(fast, list) else fast
            except Exception as exc:
                fast = f"error: {type(exc).__name__}"
            try:
                slow = _pydicom_value(slow_ds, tag)
            except Exception as exc:
                slow = f"error: {type(exc).__name__}"
        compared.append((tag, fast, slow))
    return compared


def test_element_value_is_pydicom_s_value():
    """What ingest reads before the DICOM JSON (UIDs, Modality, Instance Number, Image Pixel
    numbers) is the value pydicom gives, on pydicom's test files and the sandbox's instances;
    and reading it leaves the DICOM JSON as it was."""
    sources: list[bytes | str] = [*_pydicom_files(), *_sandbox_part10()]
    present = 0
    for source in sources:
        for tag, fast, slow in _element_values(source):
            assert fast == slow, (source if isinstance(source, str) else "sandbox data set", f"{tag:08X}")
            present += fast is not None
    assert present > 500
    ds = _read(_sandbox_part10()[0])
    assert ds is not None
    before = json.dumps(dataset_to_json(ds), sort_keys=True)
    for tag in _INGEST_TAGS:
        dicom_json.element_value(ds, tag)
    assert json.dumps(dataset_to_json(ds), sort_keys=True) == before


@pytest.mark.parametrize("implicit", [False, True])  # implicit VR: no VR in the bytes, pydicom converts
@pytest.mark.parametrize(("tag", "vr", "value", "expected"), [
    (0x00080018, "UI", "1.2.3", "1.2.3"),
    (0x00080018, "UI", ["1.2", "3.4"], ["1.2", "3.4"]),  # several values: a list (never a valid UID)
    (0x00080018, "UI", "", None),
    (0x00280010, "US", 512, 512),
    (0x00280008, "IS", "12", 12),
    (0x00280008, "IS", "", None),
    (0x00080060, "CS", "CT", "CT"),
])
def test_element_value_one_value_several_or_none(tag, vr, value, expected, implicit):
    ds = Dataset()
    ds.add_new(tag, vr, value)
    buffer = io.BytesIO()
    ds.save_as(buffer, implicit_vr=implicit, little_endian=True)
    read = pydicom.dcmread(io.BytesIO(buffer.getvalue()), force=True)
    found = dicom_json.element_value(read, tag)
    assert (list(found) if isinstance(found, pydicom.multival.MultiValue) else found) == expected
    assert dicom_json.element_value(read, 0x00100010) is None  # absent
