"""STOW-RS against the local stack: real clients, exact storage, precise refusals."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import threading
import warnings

import pydicom
import pytest
from dicomweb_client import DICOMwebClient
from google.auth.credentials import AnonymousCredentials
from google.cloud import pubsub_v1
from pydicom.uid import generate_uid

from beamit.catalog import fields as catalog
from beamit.catalog.commit import commit_instances
from beamit.ingest.instance import parse_instance
from beamit.ingest.layout import instance_object
from beamit.storage import Query
from tests.dicom_samples import ct_instance, decompression_bomb, multipart, part10_bytes, pixel_sample_paths
from tests.support import sweep_until

FAILED = "00081198"
REFERENCED = "00081199"
FAILURE_REASON = "00081197"
STOW = "/v1/dicomweb/studies"


def client(stack, tenant) -> DICOMwebClient:
    return DICOMwebClient(url=f"{stack.url}/v1/dicomweb", headers=tenant.headers)


def stored_objects(svc, tenant) -> list[str]:
    return [b.name for b in svc.blobs.list(svc.settings.bucket("dicom"), f"{tenant.id}/")]


def catalog_size(svc, tenant, collection: str) -> int:
    return svc.metadata.count(Query(collection=tenant.scope.collection(collection)))


def reasons(body: dict) -> list[int]:
    return [item[FAILURE_REASON]["Value"][0] for item in body.get(FAILED, {}).get("Value", [])]


def test_dicomweb_client_stores_every_pydicom_sample(stack, svc, tenant):
    paths = pixel_sample_paths()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        datasets = [pydicom.dcmread(p) for p in paths]
        seen: set[str] = set()
        for ds in datasets:  # several samples are one instance in different transfer syntaxes
            if ds.SOPInstanceUID in seen:
                ds.SOPInstanceUID = generate_uid()
                ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
            seen.add(ds.SOPInstanceUID)
        result = client(stack, tenant).store_instances(datasets)
    referenced = {item.ReferencedSOPInstanceUID for item in result.ReferencedSOPSequence}
    assert referenced == {str(ds.SOPInstanceUID) for ds in datasets}
    assert "FailedSOPSequence" not in result
    assert catalog_size(svc, tenant, "instances") == len({str(ds.SOPInstanceUID) for ds in datasets})


def test_stored_bytes_are_exactly_what_was_sent(api, svc, tenant):
    paths = pixel_sample_paths()
    originals = {}
    for path in paths:
        raw = path.read_bytes()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path, stop_before_pixels=True)
        originals[str(ds.SOPInstanceUID)] = (ds, raw)
    body, content_type = multipart([raw for _, raw in originals.values()])
    response = api.post(STOW, data=body, headers={**tenant.headers, "Content-Type": content_type})
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/dicom+json"
    for sop, (ds, raw) in originals.items():
        name = instance_object(tenant.id, ds.StudyInstanceUID, ds.SeriesInstanceUID, sop)
        assert svc.blobs.read(svc.settings.bucket("dicom"), name) == raw


def test_response_names_each_instance_with_its_retrieve_url(api, stack, tenant):
    ds = ct_instance()
    body, content_type = multipart([part10_bytes(ds)])
    response = api.post(
        f"{STOW}/{ds.StudyInstanceUID}", data=body, headers={**tenant.headers, "Content-Type": content_type}
    )
    assert response.status_code == 200
    payload = response.json()
    assert payload["00081190"]["Value"] == [f"{stack.url}/v1/dicomweb/studies/{ds.StudyInstanceUID}"]
    item = payload[REFERENCED]["Value"][0]
    assert item["00081155"]["Value"] == [ds.SOPInstanceUID]
    assert item["00081150"]["Value"] == [ds.SOPClassUID]
    assert item["00081190"]["Value"] == [
        f"{stack.url}/v1/dicomweb/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}/instances/{ds.SOPInstanceUID}"
    ]


@pytest.mark.parametrize(
    "content_type",
    [
        'multipart/related; type="application/dicom"; boundary=XyZ',
        "multipart/related; type=application/dicom; boundary=XyZ",
        'multipart/related;boundary="XyZ";type="application/dicom"',
        "Multipart/Related; Type=Application/DICOM; Boundary=XyZ",
    ],
)
def test_content_type_parameter_variants(api, tenant, content_type):
    body, _ = multipart([part10_bytes(ct_instance())], boundary="XyZ")
    response = api.post(STOW, data=body, headers={**tenant.headers, "Content-Type": content_type})
    assert response.status_code == 200, response.text


def test_chunked_request_body(api, tenant):
    body, content_type = multipart([part10_bytes(ct_instance()) for _ in range(3)])

    def chunks():
        for start in range(0, len(body), 7000):
            yield body[start : start + 7000]

    response = api.post(STOW, data=chunks(), headers={**tenant.headers, "Content-Type": content_type})
    assert response.status_code == 200, response.text
    assert len(response.json()[REFERENCED]["Value"]) == 3


def assert_nothing_stored(svc, tenant):
    assert stored_objects(svc, tenant) == []
    assert catalog_size(svc, tenant, "instances") == 0
    assert catalog_size(svc, tenant, "studies") == 0


def test_truncated_body_is_400_and_stores_nothing(api, svc, tenant):
    body, content_type = multipart([part10_bytes(ct_instance()), part10_bytes(ct_instance())])
    response = api.post(STOW, data=body[:-200], headers={**tenant.headers, "Content-Type": content_type})
    assert response.status_code == 400
    assert "truncated" in response.json()["error"]["message"]
    assert_nothing_stored(svc, tenant)


def test_truncated_large_body_leaves_no_metadata_chunk_written_while_streaming(api, svc, tenant):
    """Past CHUNK_INSTANCES stored instances, series metadata is written while the body still
    streams; a body cut before its end must take those chunks away too."""
    from beamit.ingest.session import CHUNK_INSTANCES
    from beamit.sandbox import SandboxConfig, generate_studies
    from beamit.sandbox import part10_bytes as sandbox_bytes

    config = SandboxConfig(kinds=("CT",), ct_slices=CHUNK_INSTANCES + 20, scale=0.0625)
    study = next(iter(generate_studies(4, 1, config)))
    parts = [sandbox_bytes(ds) for ds in study.datasets() if ds.Modality == "CT"]
    body, content_type = multipart(parts)
    response = api.post(STOW, data=body[:-200], headers={**tenant.headers, "Content-Type": content_type})
    assert response.status_code == 400 and "truncated" in response.json()["error"]["message"]
    assert_nothing_stored(svc, tenant)
    assert [b.name for b in svc.blobs.list(svc.settings.bucket("derived"), f"{tenant.id}/")] == []


def test_missing_boundary_is_400(api, svc, tenant):
    body, _ = multipart([part10_bytes(ct_instance())])
    response = api.post(
        STOW, data=body, headers={**tenant.headers, "Content-Type": 'multipart/related; type="application/dicom"'}
    )
    assert response.status_code == 400
    assert "boundary" in response.json()["error"]["message"]
    assert_nothing_stored(svc, tenant)


@pytest.mark.parametrize(
    "content_type",
    [
        "application/dicom",
        "application/json",
        'multipart/related; type="application/dicom+json"; boundary=a',
        'multipart/related; type="image/jpeg"; boundary=a',
        "text/plain",
    ],
)
def test_wrong_content_type_is_415(api, svc, tenant, content_type):
    body, _ = multipart([part10_bytes(ct_instance())], boundary="a")
    response = api.post(STOW, data=body, headers={**tenant.headers, "Content-Type": content_type})
    assert response.status_code == 415
    assert_nothing_stored(svc, tenant)


def test_non_dicom_part_is_a_c000_failure(api, svc, tenant):
    body, content_type = multipart([b"this is not DICOM" * 20])
    response = api.post(STOW, data=body, headers={**tenant.headers, "Content-Type": content_type})
    assert response.status_code == 409
    assert reasons(response.json()) == [0xC000]
    assert_nothing_stored(svc, tenant)


def test_zero_byte_part_is_a_c000_failure(api, svc, tenant):
    body, content_type = multipart([b""])
    response = api.post(STOW, data=body, headers={**tenant.headers, "Content-Type": content_type})
    assert response.status_code == 409
    assert reasons(response.json()) == [0xC000]
    assert_nothing_stored(svc, tenant)


def test_study_uid_not_matching_the_path_is_a900(api, svc, tenant):
    ds = ct_instance()
    body, content_type = multipart([part10_bytes(ds)])
    response = api.post(f"{STOW}/{generate_uid()}", data=body, headers={**tenant.headers, "Content-Type": content_type})
    assert response.status_code == 409
    payload = response.json()
    assert reasons(payload) == [0xA900]
    assert payload[FAILED]["Value"][0]["00081155"]["Value"] == [ds.SOPInstanceUID]
    assert_nothing_stored(svc, tenant)


def test_a_decompression_bomb_is_refused_a700_and_stores_nothing(api, svc, tenant):
    bomb = decompression_bomb()
    body, content_type = multipart([part10_bytes(bomb)])
    assert len(body) < 10_000  # a few kilobytes claiming 12.9 G samples
    response = api.post(STOW, data=body, headers={**tenant.headers, "Content-Type": content_type})
    assert response.status_code == 409
    payload = response.json()
    assert reasons(payload) == [0xA700]  # Out of Resources
    assert payload[FAILED]["Value"][0]["00081155"]["Value"] == [bomb.SOPInstanceUID]
    assert_nothing_stored(svc, tenant)


def test_mixed_request_is_202_with_both_sequences(api, svc, tenant):
    good = ct_instance()
    body, content_type = multipart([part10_bytes(good), b"garbage"])
    response = api.post(STOW, data=body, headers={**tenant.headers, "Content-Type": content_type})
    assert response.status_code == 202
    payload = response.json()
    assert reasons(payload) == [0xC000]
    assert [i["00081155"]["Value"][0] for i in payload[REFERENCED]["Value"]] == [good.SOPInstanceUID]
    assert len(stored_objects(svc, tenant)) == 1


def test_invalid_uid_in_path_is_400(api, tenant):
    body, content_type = multipart([part10_bytes(ct_instance())])
    response = api.post(f"{STOW}/1.02.3", data=body, headers={**tenant.headers, "Content-Type": content_type})
    assert response.status_code == 400


def test_empty_multipart_is_400(api, tenant):
    response = api.post(
        STOW,
        data=b"--b--",
        headers={**tenant.headers, "Content-Type": "multipart/related; type=application/dicom; boundary=b"},
    )
    assert response.status_code == 400


def test_same_instance_twice_is_idempotent(api, svc, tenant):
    ds = ct_instance()
    body, content_type = multipart([part10_bytes(ds)])
    headers = {**tenant.headers, "Content-Type": content_type}
    assert api.post(STOW, data=body, headers=headers).status_code == 200
    again = api.post(STOW, data=body, headers=headers)
    assert again.status_code == 200
    study = svc.metadata.get(catalog.study_path(tenant.scope, ds.StudyInstanceUID))
    assert study["instanceCount"] == 1 and study["seriesCount"] == 1


def test_the_catalog_md5_is_the_stored_objects_and_a_repeat_keeps_it(api, svc, tenant):
    """The MD5 behind every ETag and kept rendering is Cloud Storage's, from the upload's answer;
    a repeated store (the object exists: its MD5 computed here and compared) changes nothing."""
    ds = ct_instance()
    data = part10_bytes(ds)
    body, content_type = multipart([data])
    headers = {**tenant.headers, "Content-Type": content_type}
    assert api.post(STOW, data=body, headers=headers).status_code == 200
    name = instance_object(tenant.id, ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID)
    stored = svc.blobs.stat(svc.settings.bucket("dicom"), name)
    record = svc.metadata.get(catalog.instance_path(tenant.scope, ds.SOPInstanceUID))
    expected = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
    assert record[catalog.MD5] == stored.md5_hash == expected
    instance = f"{STOW}/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}/instances/{ds.SOPInstanceUID}"
    accept = {**tenant.headers, "Accept": "multipart/related; type=application/dicom"}
    etag = api.get(instance, headers=accept).headers["ETag"]
    assert api.post(STOW, data=body, headers=headers).status_code == 200
    assert svc.metadata.get(catalog.instance_path(tenant.scope, ds.SOPInstanceUID))[catalog.MD5] == expected
    assert api.get(instance, headers=accept).headers["ETag"] == etag


def test_one_request_with_two_different_instances_of_one_uid_stores_the_first(api, svc, tenant):
    ds = ct_instance()
    first = part10_bytes(ds)
    ds.PatientName = str(ds.PatientName)[::-1]  # the same length: only the content differs
    second = part10_bytes(ds)
    assert len(first) == len(second) and first != second
    body, content_type = multipart([first, first, second])
    response = api.post(STOW, data=body, headers={**tenant.headers, "Content-Type": content_type})
    assert response.status_code == 202
    assert reasons(response.json()) == [0x0111]
    name = instance_object(tenant.id, ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID)
    assert svc.blobs.read(svc.settings.bucket("dicom"), name) == first
    study = svc.metadata.get(catalog.study_path(tenant.scope, ds.StudyInstanceUID))
    assert study["instanceCount"] == 1


def test_a_commit_told_its_records_are_new_still_finds_those_that_exist(svc, tenant):
    # The first attempt of a commit whose objects were all just created skips reading whether
    # their records exist; a record that does exist fails the batch's create precondition and
    # the commit is planned again from the catalog: nothing is counted twice.
    study, series = generate_uid(), generate_uid()
    parsed = [parse_instance(io.BytesIO(part10_bytes(ct_instance(study, series, n)))) for n in (1, 2)]
    blobs = {p.sop_instance_uid: instance_object(tenant.id, study, series, p.sop_instance_uid) for p in parsed}
    first = commit_instances(svc.metadata, tenant.scope, parsed[:1], blobs, new_objects=set(blobs))
    assert [p.sop_instance_uid for p in first.created] == [parsed[0].sop_instance_uid]
    again = commit_instances(svc.metadata, tenant.scope, parsed, blobs, new_objects=set(blobs))
    assert [p.sop_instance_uid for p in again.created] == [parsed[1].sop_instance_uid]
    assert [p.sop_instance_uid for p in again.already_present] == [parsed[0].sop_instance_uid]
    record = svc.metadata.get(catalog.study_path(tenant.scope, study))
    assert record["instanceCount"] == 2 and record["seriesCount"] == 1
    assert svc.metadata.get(catalog.series_path(tenant.scope, series))["instanceCount"] == 2
    members = svc.metadata.get(catalog.series_members_path(tenant.scope, series))
    assert sorted(catalog.listed_instances(members)) == sorted(blobs)


def test_same_uid_different_bytes_is_refused_and_keeps_the_original(api, svc, tenant):
    ds = ct_instance()
    original = part10_bytes(ds)
    body, content_type = multipart([original])
    headers = {**tenant.headers, "Content-Type": content_type}
    assert api.post(STOW, data=body, headers=headers).status_code == 200
    ds.PatientName = "CHANGED^NAME"
    body2, _ = multipart([part10_bytes(ds)])
    response = api.post(STOW, data=body2, headers=headers)
    assert response.status_code == 409
    assert reasons(response.json()) == [0x0111]
    name = instance_object(tenant.id, ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID)
    assert svc.blobs.read(svc.settings.bucket("dicom"), name) == original


def test_request_over_the_limit_is_413_and_stores_nothing(api, svc, tenant, stack):
    limit = stack.settings.stow_max_request_bytes
    big = ct_instance()
    big.add_new(0x00091010, "OB", b"\0" * (limit + 10))  # a private element pushing the size over
    body, content_type = multipart([part10_bytes(ct_instance()), part10_bytes(big)])
    response = api.post(STOW, data=body, headers={**tenant.headers, "Content-Type": content_type})
    assert response.status_code == 413
    assert "/v1/uploads" in response.json()["error"]["message"]

    def chunks():
        for start in range(0, len(body), 1 << 20):
            yield body[start : start + (1 << 20)]

    chunked = api.post(STOW, data=chunks(), headers={**tenant.headers, "Content-Type": content_type})
    assert chunked.status_code == 413
    assert_nothing_stored(svc, tenant)


def test_unauthenticated_and_wrong_scope(api, svc, make_tenant):
    body, content_type = multipart([part10_bytes(ct_instance())])
    assert api.post(STOW, data=body, headers={"Content-Type": content_type}).status_code == 401
    reader = make_tenant(scopes=["studies:read"])
    response = api.post(STOW, data=body, headers={**reader.headers, "Content-Type": content_type})
    assert response.status_code == 403
    assert_nothing_stored(svc, reader)


def test_tenants_store_the_same_instance_independently(api, svc, make_tenant):
    a, b = make_tenant(), make_tenant()
    ds = ct_instance()
    body, content_type = multipart([part10_bytes(ds)])
    assert api.post(STOW, data=body, headers={**a.headers, "Content-Type": content_type}).status_code == 200
    assert catalog_size(svc, b, "instances") == 0
    assert api.post(STOW, data=body, headers={**b.headers, "Content-Type": content_type}).status_code == 200
    assert svc.metadata.get(catalog.study_path(a.scope, ds.StudyInstanceUID))["instanceCount"] == 1
    assert svc.metadata.get(catalog.study_path(b.scope, ds.StudyInstanceUID))["instanceCount"] == 1


def test_concurrent_halves_of_one_study_leave_exact_counts_and_child_lists(api, svc, tenant):
    study = generate_uid()
    series = [generate_uid() for _ in range(3)]
    instances = [ct_instance(study, series[i % 3], number=i) for i in range(60)]
    halves = [instances[0::2], instances[1::2]]
    statuses: list[int] = []

    def send(half):
        for start in range(0, len(half), 5):
            body, content_type = multipart([part10_bytes(ds) for ds in half[start : start + 5]])
            statuses.append(
                api.post(STOW, data=body, headers={**tenant.headers, "Content-Type": content_type}).status_code
            )

    threads = [threading.Thread(target=send, args=(h,)) for h in halves]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(statuses) == {200}
    record = svc.metadata.get(catalog.study_path(tenant.scope, study))
    assert record["instanceCount"] == 60
    assert record["seriesCount"] == 3
    assert record["modalities"] == ["CT"]
    assert sorted(record["seriesUIDs"]) == sorted(series) and "seriesUIDsPartial" not in record
    for uid in series:
        assert svc.metadata.get(catalog.series_path(tenant.scope, uid))["instanceCount"] == 20
        members = svc.metadata.get(catalog.series_members_path(tenant.scope, uid))
        assert sorted(members["instances"]) == sorted(
            str(ds.SOPInstanceUID) for ds in instances if str(ds.SeriesInstanceUID) == uid)
        assert "partial" not in members


def test_study_received_once_per_study_when_it_settles(stack, api, svc, tenant):
    """One store request holding two studies: one ``study.received`` each on the events topic,
    once the settle window passed (published by the event sweep), with the documented data."""
    subscriber = pubsub_v1.SubscriberClient(credentials=AnonymousCredentials())
    project = svc.settings.project_id
    subscription = subscriber.subscription_path(project, f"stow-events-{tenant.id}")
    subscriber.create_subscription(
        request={"name": subscription, "topic": subscriber.topic_path(project, svc.settings.topic("events"))}
    )
    events: list[tuple[dict, dict]] = []

    def pulled() -> bool:
        answer = subscriber.pull(request={"subscription": subscription, "max_messages": 50}, timeout=10)
        events.extend(
            (json.loads(m.message.data), dict(m.message.attributes))
            for m in answer.received_messages
            if m.message.attributes.get("tenantId") == tenant.id
        )
        if answer.received_messages:
            subscriber.acknowledge(
                request={"subscription": subscription, "ack_ids": [m.ack_id for m in answer.received_messages]}
            )
        return len(events) >= 2

    try:
        study = generate_uid()
        instances = [ct_instance(study, generate_uid(), n) for n in range(3)] + [ct_instance()]
        body, content_type = multipart([part10_bytes(ds) for ds in instances])
        assert api.post(STOW, data=body, headers={**tenant.headers, "Content-Type": content_type}).status_code == 200
        sweep_until(stack, pulled, what=lambda: f"two study.received events (got {len(events)})")
        by_study = {e["data"]["studyInstanceUID"]: (e, attributes) for e, attributes in events}
        assert len(events) == 2 and set(by_study) == {study, instances[-1].StudyInstanceUID}
        event, attributes = by_study[study]
        assert event["type"] == "study.received" and event["id"].startswith("evt_")
        assert attributes == {"type": "study.received", "tenantId": tenant.id, "eventId": event["id"]}
        assert event["data"] == {
            "studyInstanceUID": study,
            "studyDate": "20040119",
            "modality": "CT",
            "patientId": "1CT1",
            "instanceCount": 3,
            "studyDescription": "e+1",
            "seriesCount": 3,
            "modalities": ["CT"],
            "update": False,
            "previousInstanceCount": 0,
        }
    finally:
        subscriber.delete_subscription(request={"subscription": subscription})
        subscriber.close()


def test_every_store_is_audited(api, svc, tenant):
    ds = ct_instance()
    body, content_type = multipart([part10_bytes(ds)])
    response = api.post(STOW, data=body, headers={**tenant.headers, "Content-Type": content_type})
    request_id = response.headers["X-Request-Id"]
    records = svc.metadata.query(Query(collection=tenant.scope.collection("audit_events")))
    record = next(r.data for r in records if r.data["requestId"] == request_id)
    assert record["eventCode"] == "110107" and record["phi"] is True
    assert record["resources"]["instances"] == [ds.SOPInstanceUID]
    assert record["credentialId"] == tenant.key_id
    assert record["outcome"] == 200


def test_one_request_spanning_several_catalog_batches_is_exact(api, svc, tenant):
    from beamit.catalog.commit import BATCH_INSTANCES
    from beamit.sandbox import SandboxConfig, generate_studies
    from beamit.sandbox import part10_bytes as sandbox_bytes

    count = 2 * BATCH_INSTANCES + 30
    config = SandboxConfig(kinds=("CT",), ct_slices=count, scale=0.0625)
    study = next(iter(generate_studies(3, 1, config)))
    parts = [sandbox_bytes(ds) for ds in study.datasets() if ds.Modality == "CT"]
    assert len(parts) == count
    body, content_type = multipart(parts)
    response = api.post(STOW, data=body, headers={**tenant.headers, "Content-Type": content_type})
    assert response.status_code == 200, response.text[:500]
    record = svc.metadata.get(catalog.study_path(tenant.scope, study.study_uid))
    assert record["instanceCount"] == count
    assert catalog_size(svc, tenant, "instances") == count
    # The precomputed metadata is written in slices while the request streams; all of it is served.
    metadata = api.get(
        f"{STOW}/{study.study_uid}/metadata", headers={**tenant.headers, "Accept": "application/dicom+json"}
    )
    assert metadata.status_code == 200
    served = [item["00080018"]["Value"][0] for item in metadata.json()]
    assert sorted(served) == sorted(str(pydicom.dcmread(io.BytesIO(p)).SOPInstanceUID) for p in parts)
    assert all(item["00200013"]["Value"] for item in metadata.json())
