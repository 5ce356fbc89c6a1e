"""Instance resources: Transfer Syntax negotiation and the streamed parts (PS3.18 §8.7.3.5, §10.4.1.1)."""

from __future__ import annotations

import io
import warnings

import pydicom
import pytest

from beamit.catalog import StoredInstance
from beamit.dicomweb.multipart import encode_parts, iter_parts
from beamit.dicomweb.wado.etags import boundary_for
from beamit.dicomweb.wado.transcode import EXPLICIT_VR_LITTLE_ENDIAN
from beamit.errors import NotAcceptable
from beamit.retrieve.instances import instances_etag, representation_for, stream_parts, target_syntax
from tests.dicom_samples import ct_instance, part10_bytes
from tests.memory_blobs import MemoryBlobs

JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
IMPLICIT = "1.2.840.10008.1.2"
MPEG2 = "1.2.840.10008.1.2.4.100"


def plan_retrieve(instances, accept, single_part=False):
    return representation_for(instances, accept, single_part=single_part)


def instance(ts: str, number: int = 1, size: int = 10) -> StoredInstance:
    sop = f"1.2.9.{number}"
    return StoredInstance("1.2.1", "1.2.3", sop, "1.2.840.10008.5.1.4.1.1.2", ts, f"t-unit/{sop}.dcm", size,
                          f"md5-{number}", number, None, None, True)


def test_default_is_explicit_vr_little_endian():
    for accept in (None, "*/*", 'multipart/related; type="application/dicom"', "multipart/related"):
        representation = plan_retrieve([instance(JPEG_BASELINE)], accept)
        assert representation.transfer_syntax == EXPLICIT_VR_LITTLE_ENDIAN and representation.multipart


def test_star_is_as_stored_even_for_syntaxes_web_services_must_not_use():
    accept = 'multipart/related; type="application/dicom"; transfer-syntax=*'
    items = [instance(IMPLICIT), instance(JPEG_BASELINE, 2)]
    representation = plan_retrieve(items, accept)
    assert [target_syntax(representation, i) for i in items] == [IMPLICIT, JPEG_BASELINE]
    assert target_syntax(plan_retrieve([instance(IMPLICIT)], accept), instance(IMPLICIT)) == IMPLICIT


def test_explicit_transfer_syntax():
    accept = f'multipart/related; type="application/dicom"; transfer-syntax={JPEG_BASELINE}'
    assert plan_retrieve([instance(JPEG_BASELINE), instance(JPEG_BASELINE, 2)], accept).transfer_syntax \
        == JPEG_BASELINE
    with pytest.raises(NotAcceptable):  # mixed: the other cannot be converted to JPEG
        plan_retrieve([instance(JPEG_BASELINE), instance(EXPLICIT_VR_LITTLE_ENDIAN, 2)], accept)
    with pytest.raises(NotAcceptable):
        plan_retrieve([instance(EXPLICIT_VR_LITTLE_ENDIAN)], accept)


def test_undecodable_syntax_is_sent_as_stored_or_refused():
    assert target_syntax(plan_retrieve([instance(MPEG2)], None), instance(MPEG2)) == MPEG2  # PS3.18 §8.7.3
    with pytest.raises(NotAcceptable):
        plan_retrieve([instance(MPEG2)], f'multipart/related; type="application/dicom"; '
                                         f'transfer-syntax={EXPLICIT_VR_LITTLE_ENDIAN}')


def test_single_part_only_for_an_instance_and_when_asked():
    assert not plan_retrieve([instance(JPEG_BASELINE)], "application/dicom; transfer-syntax=*",
                             single_part=True).multipart
    with pytest.raises(NotAcceptable):
        plan_retrieve([instance(JPEG_BASELINE)], "application/dicom")
    with pytest.raises(NotAcceptable):
        plan_retrieve([instance(JPEG_BASELINE)], "application/json")


def test_etag_changes_with_the_representation():
    items = [instance(JPEG_BASELINE)]
    assert instances_etag(items, plan_retrieve(items, None)) != instances_etag(
        items, plan_retrieve(items, 'multipart/related; type="application/dicom"; transfer-syntax=*'))


def test_stream_parts_in_order_as_stored_relayed_and_transcoded():
    blobs = MemoryBlobs()
    datasets = [ct_instance(number=n) for n in range(3)]
    implicit = ct_instance(number=3)
    raw_implicit = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        implicit.file_meta.TransferSyntaxUID = IMPLICIT
        implicit.save_as(raw_implicit, enforce_file_format=True)
    payloads = [part10_bytes(ds) for ds in datasets] + [raw_implicit.getvalue()]
    items = []
    for n, data in enumerate(payloads):
        ts = IMPLICIT if n == 3 else EXPLICIT_VR_LITTLE_ENDIAN
        item = instance(ts, n, size=len(data))
        blobs.put("dicom", item.blob, data)
        items.append(item)
    representation = plan_retrieve(items, None)
    boundary = boundary_for(instances_etag(items, representation))
    parts_out = stream_parts(blobs, "dicom", items, lambda i: target_syntax(representation, i), read_ahead=2,
                             stream_threshold=100)
    body = b"".join(encode_parts(parts_out, boundary))
    parts = []
    for part in iter_parts(io.BytesIO(body), boundary, max_part_bytes=None):
        with part:
            parts.append((part.content_type, part.body.read()))
    assert [data for _, data in parts[:3]] == payloads[:3]  # relayed in chunks (larger than the threshold)
    assert all(ct == f"application/dicom; transfer-syntax={EXPLICIT_VR_LITTLE_ENDIAN}" for ct, _ in parts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        converted = pydicom.dcmread(io.BytesIO(parts[3][1]))
    assert converted.file_meta.TransferSyntaxUID == EXPLICIT_VR_LITTLE_ENDIAN
    assert converted.SOPInstanceUID == implicit.SOPInstanceUID
