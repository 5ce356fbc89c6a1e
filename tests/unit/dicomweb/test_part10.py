"""Making a Part 10 file of what a STOW-RS part holds (beamit.dicomweb.part10)."""

from __future__ import annotations

import io

import pydicom
import pytest
from pydicom.data import get_testdata_file

from beamit.dicomweb.part10 import NotPart10, Part10Form, as_part10


def _bytes(ds: pydicom.Dataset, **kwargs: object) -> bytes:
    out = io.BytesIO()
    pydicom.dcmwrite(out, ds, **kwargs)  # type: ignore[arg-type]
    return out.getvalue()


@pytest.fixture
def ct() -> pydicom.Dataset:
    return pydicom.dcmread(get_testdata_file("CT_small.dcm"))


def _bare(ds: pydicom.Dataset) -> pydicom.Dataset:
    """The data set alone, as built in memory without ``file_meta``."""
    bare = pydicom.Dataset()
    bare.update(ds)
    return bare


def test_a_part10_file_is_returned_as_it_is(ct):
    raw = _bytes(ct)
    fp = io.BytesIO(raw)
    result = as_part10(fp)
    assert result.stream is fp and result.form is Part10Form.PART10 and not result.added_header


def test_file_meta_without_preamble_gets_preamble_and_prefix_only(ct):
    ct.preamble = None
    raw = _bytes(ct)
    result = as_part10(io.BytesIO(raw), "1.2.840.10008.1.2")  # the parameter does not override File Meta
    with result.stream:
        data = result.stream.read()
    assert result.form is Part10Form.META_WITHOUT_PREAMBLE
    assert data == b"\x00" * 128 + b"DICM" + raw


def test_a_bare_data_set_gets_deterministic_file_meta(ct):
    bare = _bytes(_bare(ct), implicit_vr=False, little_endian=True)
    with as_part10(io.BytesIO(bare), "1.2.840.10008.1.2.1").stream as one, \
            as_part10(io.BytesIO(bare), " 1.2.840.10008.1.2.1 ").stream as two:
        first, second = one.read(), two.read()
    assert first == second and first.endswith(bare)
    meta = pydicom.dcmread(io.BytesIO(first)).file_meta
    assert meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    assert meta.MediaStorageSOPInstanceUID == ct.SOPInstanceUID
    assert meta.ImplementationVersionName == "BEAMIT_1"


@pytest.mark.parametrize("syntax, words", [(None, "transfer-syntax"), ("1.2.x", "transfer-syntax"),
                                           ("1.2.3.4", "not a Transfer Syntax")])
def test_a_bare_data_set_without_a_usable_transfer_syntax_is_refused(ct, syntax, words):
    with pytest.raises(NotPart10, match=words):
        as_part10(io.BytesIO(_bytes(_bare(ct), implicit_vr=True, little_endian=True)), syntax)


def test_bytes_that_are_no_data_set_are_refused():
    with pytest.raises(NotPart10, match="not a data set"):
        as_part10(io.BytesIO(b"\xff" * 300), "1.2.840.10008.1.2.1")
