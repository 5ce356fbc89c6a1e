"""Bucket uploads against the local stack: POST /v1/uploads, PUT to the resumable session,
fake-gcs-server's finalize notification through the Pub/Sub emulator to the ingest
function, and the job that GET /v1/uploads/{id} reports."""

from __future__ import annotations

import base64
import io
import json
import os
import struct
import tempfile
import threading
import time
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from google.api_core import exceptions as gexc
from pydicom.fileset import FileSet
from pydicom.uid import generate_uid

from beamit.catalog import fields as catalog
from beamit.clock import utcnow
from beamit.ingest.bucket_upload import IngestBusy, ingest_finalized
from beamit.ingest.layout import instance_object
from beamit.storage import Query
from beamit.uploads import naming
from beamit.uploads import upload as uploads
from beamit.uploads.limits import MAX_UPLOAD_BYTES
from tests.dicom_samples import ct_instance, multipart, part10_bytes
from tests.support import poll_until

UPLOADS = "/v1/uploads"
WAIT_SECONDS = 30


# -- helpers ------------------------------------------------------------------------------------------------


def create_upload(api, tenant, data: bytes, filename: str = "study.zip", content_type: str = "application/zip"):
    response = api.post(
        UPLOADS, json={"filename": filename, "contentType": content_type, "size": len(data)}, headers=tenant.headers
    )
    assert response.status_code == 201, response.text
    return response.json()


def send(upload: dict, data: bytes) -> dict:
    """PUT the bytes to the session URL with plain requests, as any HTTP client would."""
    assert upload["method"] == "PUT"
    response = requests.put(upload["uploadUrl"], data=data, headers=upload["headers"], timeout=60)
    assert response.status_code in (200, 201), response.text
    return response.json()


def wait_for_job(api, tenant, upload_id: str, timeout: float = WAIT_SECONDS) -> dict:
    """The upload's job once it has concluded (completed or failed)."""
    status = ["unknown"]

    def concluded() -> dict | None:
        response = api.get(f"{UPLOADS}/{upload_id}", headers=tenant.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        status[0] = body["status"]
        return body if body["status"] in ("completed", "failed") else None

    return poll_until(concluded, timeout=timeout, interval=0.2,
                      what=lambda: f"the end of upload {upload_id} (still {status[0]})")


def upload_and_wait(api, tenant, data: bytes, **kwargs) -> dict:
    upload = create_upload(api, tenant, data, **kwargs)
    send(upload, data)
    return wait_for_job(api, tenant, upload["id"])


def inbox_objects(svc, tenant) -> list[str]:
    return [b.name for b in svc.blobs.list(svc.settings.bucket("inbox"), f"uploads/{tenant.id}/")]


def read_gs(svc, uri: str) -> bytes:
    bucket, name = uri.removeprefix("gs://").split("/", 1)
    return svc.blobs.read(bucket, name)


def audit_records(svc, tenant, upload_id: str) -> list[dict]:
    docs = svc.metadata.query(Query(collection=tenant.scope.collection("audit_events")))
    return [d.data for d in docs if d.data["eventCode"] == "110107" and d.data["resources"].get("upload") == upload_id]


def push_payload(obj: dict) -> dict:
    """A Pub/Sub push of a finalize notification, as fake-gcs-server publishes them."""
    return {
        "message": {
            "attributes": {"eventType": "OBJECT_FINALIZE", "bucketId": obj["bucket"], "objectId": obj["name"]},
            "data": base64.b64encode(json.dumps(obj).encode()).decode(),
            "messageId": f"redelivery-{time.monotonic_ns()}",
        },
        "subscription": "projects/beamit-local/subscriptions/test",
    }


def study_zip(instances, extra: dict[str, bytes] | None = None) -> bytes:
    """A zip of a real DICOM File-set (pydicom writes the DICOMDIR), plus ``extra`` members."""
    file_set = FileSet()
    for ds in instances:
        file_set.add(ds)
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp:
        file_set.write(tmp)
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("CD/", b"")  # a directory entry: not a file, not listed
            for root, _, names in sorted(os.walk(tmp)):
                for name in sorted(names):
                    path = Path(root, name)
                    zf.write(path, f"CD/{path.relative_to(tmp).as_posix()}")
            for name, data in (extra or {}).items():
                zf.writestr(name, data)
    file_set._stage["t"].cleanup()  # pydicom's staging directory, else removed at exit with a ResourceWarning
    return buffer.getvalue()


# -- the user flow ------------------------------------------------------------------------------------------


def test_single_instance_upload_is_stored_byte_identical(api, svc, tenant):
    ds = ct_instance()
    data = part10_bytes(ds)
    upload = create_upload(api, tenant, data, filename="ct.dcm", content_type="application/dicom")
    assert upload["id"].startswith("upl_") and upload["status"] == "pending"
    assert upload["method"] == "PUT" and upload["headers"] == {"Content-Type": "application/dicom"}
    assert upload["expiresAt"] > upload["createdAt"]
    send(upload, data)
    job = wait_for_job(api, tenant, upload["id"])
    assert job["status"] == "completed", job
    assert job["counts"] == {"files": 1, "stored": 1, "failed": 0, "skipped": 0}
    assert job["studies"] == [ds.StudyInstanceUID]
    assert job["files"] == [
        {
            "index": 0,
            "name": "ct.dcm",
            "status": "stored",
            "sopInstanceUID": ds.SOPInstanceUID,
            "studyInstanceUID": ds.StudyInstanceUID,
            "seriesInstanceUID": ds.SeriesInstanceUID,
            "alreadyStored": False,
        }
    ]
    assert svc.metadata.get(catalog.instance_path(tenant.scope, ds.SOPInstanceUID)) is not None
    name = instance_object(tenant.id, ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID)
    assert svc.blobs.read(svc.settings.bucket("dicom"), name) == data
    poll_until(lambda: inbox_objects(svc, tenant) == [], what="an empty inbox")  # consumed once the job is recorded
    [audit] = audit_records(svc, tenant, upload["id"])
    assert audit["credentialId"] == tenant.key_id and audit["principal"] == tenant.key_id
    assert audit["phi"] is True and audit["outcome"] == 200
    assert audit["resources"]["studies"] == [ds.StudyInstanceUID]


def test_zip_with_dicomdir_and_junk_reports_each_file(api, svc, tenant):
    study, series = generate_uid(), generate_uid()
    instances = [ct_instance(study, series, n) for n in range(1, 4)]
    junk = b"scanned consent form, not DICOM\n" * 10
    data = study_zip(instances, {"__MACOSX/CD/._DICOMDIR": b"\0\5\26\7", "notes.txt": junk})
    job = upload_and_wait(api, tenant, data, filename="John Doe CT.zip")
    assert job["status"] == "completed", job
    assert job["filename"] == "John Doe CT.zip"
    assert job["counts"] == {"files": 6, "stored": 3, "failed": 1, "skipped": 2}
    assert job["studies"] == [study]
    by_name = {f["name"]: f for f in job["files"]}
    assert [f["index"] for f in job["files"]] == list(range(6))
    assert by_name["CD/DICOMDIR"]["status"] == "skipped" and by_name["CD/DICOMDIR"]["skipReason"] == "dicomdir"
    assert by_name["__MACOSX/CD/._DICOMDIR"]["skipReason"] == "os_metadata"
    stored = {f["sopInstanceUID"] for f in job["files"] if f["status"] == "stored"}
    assert stored == {ds.SOPInstanceUID for ds in instances}
    failed = by_name["notes.txt"]
    assert failed["status"] == "failed" and failed["failureReason"] == 0xC000 and failed["message"]
    # Quarantined with its reason, not lost.
    assert failed["quarantineObject"].startswith(f"gs://{svc.settings.bucket('quarantine')}/{tenant.id}/")
    assert read_gs(svc, failed["quarantineObject"]) == junk
    sidecar = json.loads(read_gs(svc, naming.sidecar(failed["quarantineObject"])))
    assert sidecar["reason"] == {"code": "instance_refused", "failureReason": 0xC000, "message": failed["message"]}
    assert sidecar["file"] == "notes.txt" and sidecar["uploadId"] == job["id"]
    record = svc.metadata.get(catalog.study_path(tenant.scope, study))
    assert record["instanceCount"] == 3 and record["seriesCount"] == 1
    for ds in instances:
        name = instance_object(tenant.id, study, series, ds.SOPInstanceUID)
        assert svc.blobs.read(svc.settings.bucket("dicom"), name) == part10_bytes(ds)
    [audit] = audit_records(svc, tenant, job["id"])
    assert audit["outcome"] == 202 and audit["details"]["failed"] == 1


def test_what_stow_refuses_as_too_large_goes_through_an_upload(api, svc, stack, tenant):
    big = ct_instance()
    big.add_new(0x00091010, "OB", os.urandom(5 * stack.settings.stow_max_request_bytes))  # 20 MiB
    data = part10_bytes(big)
    body, content_type = multipart([data])
    refused = api.post("/v1/dicomweb/studies", data=body, headers={**tenant.headers, "Content-Type": content_type})
    assert refused.status_code == 413 and "/v1/uploads" in refused.json()["error"]["message"]
    small = ct_instance(big.StudyInstanceUID)
    for payload, kwargs in [
        (data, {"content_type": "application/dicom"}),
        (study_zip([small], {"big.dcm": data}), {}),  # a member over the in-memory spool size
    ]:
        job = upload_and_wait(api, tenant, payload, **kwargs)
        assert job["status"] == "completed" and job["counts"]["failed"] == 0, job
    name = instance_object(tenant.id, big.StudyInstanceUID, big.SeriesInstanceUID, big.SOPInstanceUID)
    assert svc.blobs.read(svc.settings.bucket("dicom"), name) == data
    assert svc.metadata.get(catalog.study_path(tenant.scope, big.StudyInstanceUID))["instanceCount"] == 2


def test_files_are_paged(api, tenant):
    data = study_zip([ct_instance() for _ in range(3)])
    job = upload_and_wait(api, tenant, data)
    first = api.get(f"{UPLOADS}/{job['id']}/files?limit=2", headers=tenant.headers).json()
    assert [f["index"] for f in first["data"]] == [0, 1] and first["hasMore"] is True
    rest = api.get(f"{UPLOADS}/{job['id']}/files?limit=2&startingAfter=1", headers=tenant.headers).json()
    assert [f["index"] for f in rest["data"]] == [2, 3] and rest["hasMore"] is False
    assert api.get(f"{UPLOADS}/{job['id']}/files?limit=0", headers=tenant.headers).status_code == 400


def test_same_instances_uploaded_again_are_not_counted_twice(api, svc, tenant):
    study = generate_uid()
    instances = [ct_instance(study, generate_uid(), n) for n in range(2)]
    data = study_zip(instances)
    upload_and_wait(api, tenant, data)
    again = upload_and_wait(api, tenant, data)
    assert again["counts"]["stored"] == 2
    assert all(f["alreadyStored"] for f in again["files"] if f["status"] == "stored")
    assert svc.metadata.get(catalog.study_path(tenant.scope, study))["instanceCount"] == 2


# -- at-least-once delivery -----------------------------------------------------------------------------


def test_redelivered_event_changes_nothing(api, svc, tenant):
    ds = ct_instance()
    data = part10_bytes(ds)
    upload = create_upload(api, tenant, data, content_type="application/dicom")
    obj = send(upload, data)
    job = wait_for_job(api, tenant, upload["id"])
    # The job is concluded after it completes: its audit record, then the inbox object's removal.
    path = uploads.upload_path(tenant.scope, upload["id"])
    poll_until(lambda: svc.metadata.get(path).get("auditId") and inbox_objects(svc, tenant) == [],
               what="the audited job and an empty inbox")
    before = svc.metadata.get(path)
    for _ in range(2):
        response = api.post("/_triggers/ingest", json=push_payload(obj))
        assert response.status_code < 300, response.text
    after = svc.metadata.get(uploads.upload_path(tenant.scope, upload["id"]))
    assert after == before
    assert wait_for_job(api, tenant, upload["id"]) == job
    assert svc.metadata.get(catalog.study_path(tenant.scope, ds.StudyInstanceUID))["instanceCount"] == 1
    assert len(audit_records(svc, tenant, upload["id"])) == 1


def test_concurrent_deliveries_store_once(api, svc, tenant):
    study = generate_uid()
    instances = [ct_instance(study, generate_uid(), n) for n in range(4)]
    data = study_zip(instances)
    upload = create_upload(api, tenant, data)
    obj = send(upload, data)  # fake-gcs-server's own notification races the two below
    statuses: list[int] = []

    def deliver() -> None:
        statuses.append(api.post("/_triggers/ingest", json=push_payload(obj)).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(s < 300 or s == 500 for s in statuses)  # 500: busy, redelivered later
    job = wait_for_job(api, tenant, upload["id"])
    assert job["counts"] == {"files": 5, "stored": 4, "failed": 0, "skipped": 1}
    record = svc.metadata.get(catalog.study_path(tenant.scope, study))
    assert record["instanceCount"] == 4 and record["seriesCount"] == 4
    assert len(audit_records(svc, tenant, upload["id"])) == 1


def test_busy_job_is_left_to_its_holder_and_a_stale_one_is_taken_over(api, svc, tenant):
    study = generate_uid()
    instances = [ct_instance(study, generate_uid(), n) for n in range(3)]
    data = study_zip(instances)
    job = upload_and_wait(api, tenant, data)
    path = uploads.upload_path(tenant.scope, job["id"])
    # A run that crashed after storing the instances but before recording anything.
    svc.metadata.update(
        path,
        {
            "status": "processing",
            "claimedAt": utcnow(),
            "cursor": 0,
            "counts": uploads.zero_counts(),
            "studies": [],
            "auditId": None,
        },
    )
    name = svc.metadata.get(path)["objectName"]
    info = svc.blobs.put(svc.settings.bucket("inbox"), name, data, content_type="application/zip")
    event = {"bucket": info.bucket, "name": name, "generation": str(info.generation), "size": str(info.size)}
    svc.metadata.update(path, {"objectGeneration": info.generation})
    with pytest.raises(IngestBusy):  # heartbeat fresh: someone is working on it
        ingest_finalized(svc, event)
    svc.metadata.update(path, {"claimedAt": utcnow() - timedelta(minutes=11)})
    try:
        assert ingest_finalized(svc, event) in ("completed", "done")
    except (IngestBusy, gexc.Aborted):
        # fake-gcs-server's own notification of the object, redelivered, took the stale job over
        # first, or claimed it at the same moment: the emulator then aborts one claim transaction
        # ("Transaction lock timeout"), and that delivery would be redelivered. Either way the job
        # must end completed, as checked below.
        pass
    final = wait_for_job(api, tenant, job["id"])
    assert final["status"] == "completed"
    assert final["counts"] == job["counts"]
    assert all(f["alreadyStored"] for f in final["files"] if f["status"] == "stored")
    assert svc.metadata.get(catalog.study_path(tenant.scope, study))["instanceCount"] == 3
    poll_until(lambda: inbox_objects(svc, tenant) == [], what="an empty inbox")


# -- what is not ingested -----------------------------------------------------------------------------------


def test_object_without_an_upload_record_is_quarantined(svc, tenant):
    inbox, data = svc.settings.bucket("inbox"), part10_bytes(ct_instance())
    names = [f"uploads/{tenant.id}/upl_{'a' * 20}/upload.dcm", f"{tenant.id}/direct/ct.dcm"]
    infos = [svc.blobs.put(inbox, name, data, content_type="application/dicom") for name in names]
    for name, info in zip(names, infos):
        target = naming.quarantined_unregistered(name, info.generation)
        poll_until(lambda target=target: svc.blobs.stat(svc.settings.bucket("quarantine"), target),
                   what=f"the quarantined {target}")
        assert svc.blobs.read(svc.settings.bucket("quarantine"), target) == data
        sidecar = json.loads(svc.blobs.read(svc.settings.bucket("quarantine"), naming.sidecar(target)))
        assert sidecar["reason"]["code"] == "unregistered_object" and sidecar["inboxObject"] == name
        poll_until(lambda name=name: svc.blobs.stat(inbox, name) is None, what=f"{name} gone from the inbox")
    assert svc.metadata.count(Query(collection=tenant.scope.collection("instances"))) == 0


def test_second_object_under_an_upload_prefix_is_quarantined(api, svc, tenant):
    data = part10_bytes(ct_instance())
    upload = create_upload(api, tenant, data, content_type="application/dicom")
    name = f"uploads/{tenant.id}/{upload['id']}/other.dcm"
    info = svc.blobs.put(svc.settings.bucket("inbox"), name, data, content_type="application/dicom")
    target = naming.quarantined_unregistered(name, info.generation)
    poll_until(lambda: svc.blobs.stat(svc.settings.bucket("quarantine"), target), what=f"the quarantined {target}")
    assert api.get(f"{UPLOADS}/{upload['id']}", headers=tenant.headers).json()["status"] == "pending"


def test_expired_upload_is_refused_and_quarantined(api, svc, tenant):
    data = part10_bytes(ct_instance())
    upload = create_upload(api, tenant, data, content_type="application/dicom")
    svc.metadata.update(uploads.upload_path(tenant.scope, upload["id"]), {"expiresAt": utcnow() - timedelta(seconds=1)})
    assert api.get(f"{UPLOADS}/{upload['id']}", headers=tenant.headers).json()["status"] == "expired"
    send(upload, data)
    job = wait_for_job(api, tenant, upload["id"])
    assert job["status"] == "failed" and job["error"]["code"] == "upload_expired"
    assert read_gs(svc, job["error"]["quarantineObject"]) == data
    assert svc.metadata.count(Query(collection=tenant.scope.collection("instances"))) == 0
    poll_until(lambda: inbox_objects(svc, tenant) == [], what="an empty inbox")


def test_event_for_an_object_no_longer_in_the_inbox_fails_the_job(api, svc, tenant):
    upload = create_upload(api, tenant, b"x" * 10, content_type="application/dicom")
    name = svc.metadata.get(uploads.upload_path(tenant.scope, upload["id"]))["objectName"]
    event = {"bucket": svc.settings.bucket("inbox"), "name": name, "generation": "17", "size": "10"}
    assert ingest_finalized(svc, event, event_id="evt-test") == "failed"
    job = wait_for_job(api, tenant, upload["id"])
    assert job["error"]["code"] == "object_missing"
    assert ingest_finalized(svc, event) == "done"  # and its redelivery is a no-op
    [audit] = audit_records(svc, tenant, upload["id"])
    assert audit["outcome"] == 409 and audit["requestId"] == "evt-test"


def test_object_of_another_size_than_declared_is_refused(api, svc, tenant):
    data = part10_bytes(ct_instance())
    upload = create_upload(api, tenant, data, content_type="application/dicom")
    send(upload, data + b"\0" * 10)  # GCS refuses this itself; fake-gcs-server does not
    job = wait_for_job(api, tenant, upload["id"])
    assert job["status"] == "failed" and job["error"]["code"] == "size_mismatch"
    assert svc.metadata.count(Query(collection=tenant.scope.collection("instances"))) == 0


def declared_sizes(data: bytes, size: int) -> bytes:
    """The archive with every central directory entry claiming ``size`` inflated bytes."""
    out = bytearray(data)
    offset = out.find(b"PK\x01\x02")
    while offset != -1:
        struct.pack_into("<I", out, offset + 24, size)
        offset = out.find(b"PK\x01\x02", offset + 4)
    return bytes(out)


def test_zip_bomb_is_refused_whole(api, svc, tenant):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("IM0.dcm", part10_bytes(ct_instance()))
        for n in range(16):
            zf.writestr(f"zeros{n}", b"\0" * 1024)
    data = declared_sizes(buffer.getvalue(), 0xFFFFFFFE)  # 17 x 4 GiB declared
    job = upload_and_wait(api, tenant, data)
    assert job["status"] == "failed" and job["error"]["code"] == "archive_too_large"
    assert job["counts"]["files"] == 0
    assert read_gs(svc, job["error"]["quarantineObject"]) == data
    assert svc.metadata.count(Query(collection=tenant.scope.collection("instances"))) == 0


def test_unreadable_archive_is_refused_whole(api, svc, tenant):
    data = b"PK\x03\x04" + b"\0" * 200
    job = upload_and_wait(api, tenant, data)
    assert job["status"] == "failed" and job["error"]["code"] == "archive_unreadable"
    assert read_gs(svc, job["error"]["quarantineObject"]) == data


def test_single_file_that_is_not_dicom_is_quarantined(api, svc, tenant):
    data = b"not DICOM at all" * 100
    job = upload_and_wait(api, tenant, data, filename="scan.dcm", content_type="application/dicom")
    assert job["status"] == "completed" and job["counts"]["failed"] == 1
    [file] = job["files"]
    assert file["name"] == "scan.dcm" and file["failureReason"] == 0xC000
    assert read_gs(svc, file["quarantineObject"]) == data


# -- the API's refusals -------------------------------------------------------------------------------------


def test_upload_url_names_a_server_chosen_object(api, tenant):
    response = api.post(
        UPLOADS,
        json={"filename": "../../Doe^John/ct.zip", "contentType": "application/zip", "size": 10},
        headers=tenant.headers,
    )
    body = response.json()
    assert response.status_code == 201
    url = requests.utils.unquote(body["uploadUrl"])
    assert f"uploads/{tenant.id}/{body['id']}/upload.zip" in url
    assert "Doe" not in url and ".." not in url


def test_unauthenticated_and_wrong_scope(api, make_tenant):
    body = {"filename": "a.zip", "contentType": "application/zip", "size": 10}
    assert api.post(UPLOADS, json=body).status_code == 401
    reader = make_tenant(scopes=["studies:read"])
    assert api.post(UPLOADS, json=body, headers=reader.headers).status_code == 403
    writer = make_tenant(scopes=["studies:write"])
    created = api.post(UPLOADS, json=body, headers=writer.headers)
    assert created.status_code == 201
    assert api.get(f"{UPLOADS}/{created.json()['id']}", headers=writer.headers).status_code == 403
    assert api.get(f"{UPLOADS}/{created.json()['id']}").status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {"contentType": "application/zip", "size": 10},
        {"filename": "", "contentType": "application/zip", "size": 10},
        {"filename": "a\nb.zip", "contentType": "application/zip", "size": 10},
        {"filename": "a" * 256, "contentType": "application/zip", "size": 10},
        {"filename": "a.zip", "contentType": "text/plain", "size": 10},
        {"filename": "a.zip", "size": 10},
        {"filename": "a.zip", "contentType": "application/zip"},
        {"filename": "a.zip", "contentType": "application/zip", "size": 0},
        {"filename": "a.zip", "contentType": "application/zip", "size": "10"},
        {"filename": "a.zip", "contentType": "application/zip", "size": True},
        {"filename": "a.zip", "contentType": "application/zip", "size": 1.5},
        {"filename": "a.zip", "contentType": "application/zip", "size": MAX_UPLOAD_BYTES + 1},
        {"filename": "a.zip", "contentType": "application/zip", "size": 10, "path": "other/"},
    ],
)
def test_malformed_requests_are_400(api, tenant, body):
    response = api.post(UPLOADS, json=body, headers=tenant.headers)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["type"] == "invalid_request"


def test_not_json_is_refused(api, tenant):
    as_json = {**tenant.headers, "Content-Type": "application/json"}
    assert api.post(UPLOADS, data="{", headers=as_json).status_code == 400
    assert api.post(UPLOADS, data="[]", headers=as_json).status_code == 400
    assert api.post(UPLOADS, data="x", headers={**tenant.headers, "Content-Type": "text/plain"}).status_code == 415


def test_largest_declared_size_is_accepted(api, tenant):
    body = {"filename": "big.zip", "contentType": "application/zip", "size": MAX_UPLOAD_BYTES}
    assert api.post(UPLOADS, json=body, headers=tenant.headers).status_code == 201


def test_other_tenants_uploads_are_not_found(api, make_tenant):
    a, b = make_tenant(), make_tenant()
    body = {"filename": "a.zip", "contentType": "application/zip", "size": 10}
    upload_id = api.post(UPLOADS, json=body, headers=a.headers).json()["id"]
    assert api.get(f"{UPLOADS}/{upload_id}", headers=a.headers).status_code == 200
    assert api.get(f"{UPLOADS}/{upload_id}", headers=b.headers).status_code == 404
    assert api.get(f"{UPLOADS}/{upload_id}/files", headers=b.headers).status_code == 404
    assert api.get(f"{UPLOADS}/upl_{'0' * 20}", headers=a.headers).status_code == 404
    assert api.get(f"{UPLOADS}/not-an-id", headers=a.headers).status_code == 404
