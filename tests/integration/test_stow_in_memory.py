"""STOW-RS of data sets that are not yet Part 10 files: a pydicom ``Dataset`` built in memory and
stored by dicomweb-client (File Meta Information, no preamble), and bare data sets whose
Transfer Syntax the part's media type names. Both are stored as Part 10 files."""

from __future__ import annotations

import io

import numpy as np
import pydicom
import pytest
from dicomweb_client import DICOMwebClient
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid

from beamit.ingest.layout import instance_object
from beamit.storage import Query
from tests.dicom_samples import multipart

STOW = "/v1/dicomweb/studies"
REFERENCED = "00081199"
FAILED = "00081198"
FAILURE_REASON = "00081197"


def in_memory_ct(patient_id: str = "MEM-1") -> Dataset:
    """A CT image made from scratch, as a script would: File Meta Information, no preamble."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientName = "MEMORY^ANNA"
    ds.PatientID = patient_id
    ds.Modality = "CT"
    ds.StudyDate = "20260115"
    ds.InstanceNumber = 1
    ds.Rows = ds.Columns = 16
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.PixelData = np.arange(256, dtype="<u2").reshape(16, 16).tobytes()
    return ds


def sent_bytes(ds: Dataset, **kwargs: object) -> bytes:
    """The bytes dicomweb-client sends for ``ds`` (``pydicom.dcmwrite`` as it is)."""
    buffer = io.BytesIO()
    pydicom.dcmwrite(buffer, ds, **kwargs)  # type: ignore[arg-type]
    return buffer.getvalue()


def stored(svc, tenant, ds: Dataset) -> bytes:
    name = instance_object(tenant.id, ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID)
    return svc.blobs.read(svc.settings.bucket("dicom"), name)


def instance_count(svc, tenant) -> int:
    return svc.metadata.count(Query(collection=tenant.scope.collection("instances")))


def test_dicomweb_client_stores_a_data_set_built_in_memory(stack, svc, tenant):
    ds = in_memory_ct()
    raw = sent_bytes(ds)
    assert raw[128:132] != b"DICM" and raw[:2] == b"\x02\x00"  # what the client sends: no preamble
    client = DICOMwebClient(f"{stack.url}/v1/dicomweb", headers=tenant.headers)

    result = client.store_instances([ds])

    assert [i.ReferencedSOPInstanceUID for i in result.ReferencedSOPSequence] == [ds.SOPInstanceUID]
    assert "FailedSOPSequence" not in result
    # Stored as a Part 10 file: a zero preamble and DICM, then exactly the bytes received.
    blob = stored(svc, tenant, ds)
    assert blob[:132] == b"\x00" * 128 + b"DICM" and blob[132:] == raw
    back = client.retrieve_instance(ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID)
    assert back.PatientName == "MEMORY^ANNA" and back.PixelData == ds.PixelData
    assert client.search_for_studies(search_filters={"PatientID": "MEM-1"})[0]["0020000D"]["Value"] == [
        ds.StudyInstanceUID]

    # The same data set again (a retry) is the same file: an idempotent success.
    again = client.store_instances([ds])
    assert [i.ReferencedSOPInstanceUID for i in again.ReferencedSOPSequence] == [ds.SOPInstanceUID]
    assert instance_count(svc, tenant) == 1 and stored(svc, tenant, ds) == blob


def test_a_bare_data_set_in_the_named_transfer_syntax_is_stored_with_file_meta(api, svc, tenant):
    ds = in_memory_ct("MEM-2")
    del ds.file_meta
    bare = sent_bytes(ds, implicit_vr=True, little_endian=True)
    body, content_type = multipart([bare], part_type="application/dicom; transfer-syntax=1.2.840.10008.1.2")

    response = api.post(STOW, data=body, headers={**tenant.headers, "Content-Type": content_type})

    assert response.status_code == 200, response.text
    blob = stored(svc, tenant, ds)
    part10 = pydicom.dcmread(io.BytesIO(blob))
    assert part10.file_meta.TransferSyntaxUID == ImplicitVRLittleEndian
    assert part10.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert part10.file_meta.MediaStorageSOPClassUID == CTImageStorage
    assert blob.endswith(bare) and part10.PixelData == ds.PixelData
    # Sent again, the same header is built: the same file, an idempotent success.
    repeat = api.post(STOW, data=body, headers={**tenant.headers, "Content-Type": content_type})
    assert repeat.status_code == 200 and stored(svc, tenant, ds) == blob


def test_a_bare_data_set_without_a_transfer_syntax_is_c000_saying_what_is_missing(api, svc, tenant):
    ds = in_memory_ct("MEM-3")
    del ds.file_meta
    body, content_type = multipart([sent_bytes(ds, implicit_vr=False, little_endian=True)])

    response = api.post(STOW, data=body, headers={**tenant.headers, "Content-Type": content_type})

    assert response.status_code == 409
    failed = response.json()[FAILED]["Value"]
    assert [item[FAILURE_REASON]["Value"][0] for item in failed] == [0xC000]
    assert "transfer-syntax" in response.headers["Warning"]
    assert instance_count(svc, tenant) == 0


@pytest.mark.parametrize("parameter", ["1.2.840.10008.1.2.01", "1.2.3.4"])
def test_a_bare_data_set_with_an_invalid_transfer_syntax_is_c000(api, svc, tenant, parameter):
    ds = in_memory_ct("MEM-4")
    del ds.file_meta
    body, content_type = multipart([sent_bytes(ds, implicit_vr=True, little_endian=True)],
                                   part_type=f"application/dicom; transfer-syntax={parameter}")
    response = api.post(STOW, data=body, headers={**tenant.headers, "Content-Type": content_type})
    assert response.status_code == 409
    assert "transfer-syntax" in response.headers["Warning"]
    assert instance_count(svc, tenant) == 0
