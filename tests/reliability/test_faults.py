"""Faults in the middle of requests: the client gets a clean error or a success, a retry of the
same request converges, and the consistency scan is clean (after the sweep removed what the
abandoned request left behind)."""

from __future__ import annotations

import io
import threading
import time
import uuid
import zipfile
from datetime import timedelta

import pytest
import requests

from beamit.clock import utcnow
from beamit.consistency.scan import check
from beamit.consistency.sweep import sweep_leftovers
from beamit.failpoints import INGEST_BEFORE_COMMIT, SHARES_AFTER_CODE, arm
from beamit.sandbox import Kind, SandboxConfig, generate_study, part10_bytes
from beamit.shares.service import IDEMPOTENCY, IDEMPOTENCY_LEASE
from beamit.storage import Query
from beamit.uploads.limits import PROCESSING_LEASE
from tests.dicom_samples import multipart
from tests.reliability.faults import FaultResult, Stopwatch, kill_gateway_workers, paused, wait_reached
from tests.share_flow import random_phone
from tests.support import poll_until

NOW = timedelta(0)


def violations(svc, tenant) -> dict[str, int]:
    """Every violation, leftovers included (a grace period of zero: nothing is in flight now)."""
    return dict(check(svc, tenants=[tenant.id], grace=NOW).violations)


def ct_body(seed: int, slices: int) -> tuple[bytes, str, list[str]]:
    study = generate_study(seed, 0, SandboxConfig(kinds=(Kind.CT,), scale=0.25, ct_slices=slices))
    datasets = list(study.datasets())
    body, content_type = multipart([part10_bytes(ds) for ds in datasets])
    return body, content_type, [str(ds.SOPInstanceUID) for ds in datasets]


class Call(threading.Thread):
    """One HTTP request in the background; ``outcome`` is its status or the error's type."""

    def __init__(self, method: str, url: str, **kwargs: object) -> None:
        super().__init__(daemon=True)
        self.args = (method, url)
        self.kwargs = {"timeout": 120, **kwargs}
        self.response: requests.Response | None = None
        self.outcome = ""

    def run(self) -> None:
        try:
            self.response = requests.request(*self.args, **self.kwargs)  # type: ignore[arg-type]
            self.outcome = str(self.response.status_code)
        except requests.RequestException as exc:
            self.outcome = type(exc).__name__


def killed_at(stack, failpoint_dir, failpoint: str, method: str, url: str, **kwargs: object) -> str:
    """Send the request, kill the gateway's workers once it holds at ``failpoint``; what the
    client got (the connection must fail: the request never finished)."""
    reached = arm(failpoint_dir, failpoint)
    call = Call(method, url, **kwargs)
    call.start()
    wait_reached(reached)
    kill_gateway_workers(stack)
    call.join(60)
    assert call.outcome in ("ConnectionError", "ChunkedEncodingError"), call.outcome
    return call.outcome


def test_worker_killed_between_the_objects_and_the_catalog_commit(stack, svc, tenant, failpoint_dir, record):
    """The defect found by hand: a STOW-RS whose worker dies after storing its objects left them
    with no record. The client sees the connection fail; the scan finds the leftovers; the
    sweep removes them; a retry of the same request stores the study."""
    result, clock = FaultResult("SIGKILL of the gateway workers during a STOW-RS (20 instances), "
                                "after its objects are stored, before its catalog commit"), Stopwatch()
    body, content_type, sops = ct_body(seed=61, slices=20)
    headers = {**tenant.headers, "Content-Type": content_type}
    result.client = killed_at(stack, failpoint_dir, INGEST_BEFORE_COMMIT, "POST", f"{stack.url}/v1/dicomweb/studies",
                              data=body, headers=headers)
    result.before = violations(svc, tenant)
    assert result.before.get("object-without-record") == 20  # the leftovers the sweep exists for
    assert set(result.before) <= {"object-without-record", "chunk-without-record"}
    result.swept = sum(sweep_leftovers(svc, tenants=[tenant.id], grace=NOW).removed.values())
    assert violations(svc, tenant) == {}
    retry = requests.post(f"{stack.url}/v1/dicomweb/studies", data=body, headers=headers, timeout=120)
    result.retry = str(retry.status_code)
    assert retry.status_code == 200, retry.text
    found = requests.get(f"{stack.url}/v1/dicomweb/instances", headers=tenant.headers, timeout=60).json()
    assert sorted(item["00080018"]["Value"][0] for item in found) == sorted(sops)
    result.after = violations(svc, tenant)
    result.seconds = clock.seconds
    record(result)
    assert result.after == {}


def test_worker_killed_after_a_share_code_is_claimed(stack, svc, api, tenant, failpoint_dir, record):
    """A share creation whose worker dies after claiming its code and before writing the share:
    the code's directory entry is a leftover (swept), and a retry with the same Idempotency-Key
    creates the share (it was refused for the key's whole 24-hour life before)."""
    result, clock = FaultResult("SIGKILL of the gateway workers during a share creation, after its code is "
                                "claimed, before the share is written"), Stopwatch()
    body, content_type, _ = ct_body(seed=62, slices=2)
    stored = api.post("/v1/dicomweb/studies", data=body, headers={**tenant.headers, "Content-Type": content_type})
    assert stored.status_code == 200
    study = stored.json()["00081190"]["Value"][0].rsplit("/", 1)[-1]
    share = {"studyId": study, "recipientPhone": random_phone(), "message": "Your images", "expiresIn": "7d"}
    headers = {**tenant.headers, "Idempotency-Key": str(uuid.uuid4())}
    result.client = killed_at(stack, failpoint_dir, SHARES_AFTER_CODE, "POST", f"{stack.url}/v1/shares",
                              json=share, headers=headers)
    result.before = violations(svc, tenant)
    assert result.before == {"code-without-share": 1}
    result.swept = sum(sweep_leftovers(svc, tenants=[tenant.id], grace=NOW).removed.values())
    early = requests.post(f"{stack.url}/v1/shares", json=share, headers=headers, timeout=60)
    assert early.status_code == 409 and early.json()["error"]["type"] == "idempotency_in_progress"
    # The key's record stays pending: its request died. Past the lease (2 minutes; the clock is
    # simulated by moving the record's time back), a retry takes the key over.
    key = svc.metadata.query(Query(tenant.scope.collection(IDEMPOTENCY)))[0]
    svc.metadata.update(key.path, {"createdAt": utcnow() - IDEMPOTENCY_LEASE - timedelta(seconds=1)})
    retry = requests.post(f"{stack.url}/v1/shares", json=share, headers=headers, timeout=60)
    result.retry = str(retry.status_code)
    assert retry.status_code == 201, retry.text
    again = requests.post(f"{stack.url}/v1/shares", json=share, headers=headers, timeout=60)
    assert again.status_code == 201 and again.json()["id"] == retry.json()["id"]  # idempotent from now on
    result.after = violations(svc, tenant)
    result.seconds = clock.seconds
    record(result)
    assert result.after == {}


def test_firestore_stopped_during_a_store_commit(stack, svc, tenant, failpoint_dir, record):
    """The Firestore emulator stops answering (SIGSTOP) for 5 s while a STOW-RS is about to
    commit, then comes back: the request waits it out and succeeds, and nothing is left over."""
    result, clock = FaultResult("Firestore emulator stopped for 5 s while a STOW-RS (10 instances) commits"), \
        Stopwatch()
    body, content_type, sops = ct_body(seed=63, slices=10)
    reached = arm(failpoint_dir, INGEST_BEFORE_COMMIT, seconds=0.5)
    call = Call("POST", f"{stack.url}/v1/dicomweb/studies", data=body,
                headers={**tenant.headers, "Content-Type": content_type})
    started = utcnow()
    call.start()
    wait_reached(reached)
    with paused(stack, "firestore"):  # the commit starts 0.5 s later, against a stopped database
        call.join(5)
        assert call.is_alive()
    call.join(90)
    result.client = call.outcome
    result.notes.append(f"answered {(utcnow() - started).total_seconds():.1f} s after it was sent")
    assert call.outcome == "200", call.response.text if call.response is not None else call.outcome
    result.before = violations(svc, tenant)
    result.after = result.before
    result.retry = "not needed"
    result.seconds = clock.seconds
    record(result)
    assert result.after == {}
    assert len(call.response.json()["00081199"]["Value"]) == len(sops)


# -- bucket uploads (make reliability: each waits for a Pub/Sub redelivery) ----------------------------


def _zip_upload(api, tenant, seed: int, slices: int) -> tuple[dict, bytes, list[str]]:
    study = generate_study(seed, 0, SandboxConfig(kinds=(Kind.CT,), scale=0.25, ct_slices=slices))
    datasets = list(study.datasets())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for n, ds in enumerate(datasets):
            archive.writestr(f"IM{n:04d}.dcm", part10_bytes(ds))
    data = buffer.getvalue()
    response = api.post("/v1/uploads", json={"filename": "study.zip", "contentType": "application/zip",
                                              "size": len(data)}, headers=tenant.headers)
    assert response.status_code == 201, response.text
    return response.json(), data, [str(ds.SOPInstanceUID) for ds in datasets]


def _put(upload: dict, data: bytes) -> None:
    response = requests.put(upload["uploadUrl"], data=data, headers=upload["headers"], timeout=60)
    assert response.status_code in (200, 201), response.text


def _job(api, tenant, upload_id: str) -> dict:
    return api.get(f"/v1/uploads/{upload_id}", headers=tenant.headers).json()


@pytest.mark.reliability_full
def test_worker_killed_during_a_bucket_upload_ingest(stack, svc, api, tenant, failpoint_dir, record):
    """The ingest of an uploaded zip dies before its commit: its objects are left, the job stays
    'processing'; once its lease has passed (simulated), the event's redelivery takes the job
    over, stores nothing twice and commits every instance."""
    result, clock = FaultResult("SIGKILL of the gateway workers during a bucket upload's ingest (zip of 10), "
                                "before its catalog commit"), Stopwatch()
    upload, data, sops = _zip_upload(api, tenant, seed=64, slices=10)
    reached = arm(failpoint_dir, INGEST_BEFORE_COMMIT)
    _put(upload, data)
    wait_reached(reached)
    kill_gateway_workers(stack)
    result.client = f"upload {_job(api, tenant, upload['id'])['status']} (the job of a killed ingest)"
    result.before = violations(svc, tenant)
    assert result.before.get("object-without-record") == len(sops)
    path = tenant.scope.document("uploads", upload["id"])
    svc.metadata.update(path, {"claimedAt": utcnow() - PROCESSING_LEASE - timedelta(seconds=1)})
    job = poll_until(lambda: (j := _job(api, tenant, upload["id"]))["status"] in ("completed", "failed") and j,
                     timeout=300, interval=1, what="the upload job's takeover by a redelivery")
    result.retry = f"redelivered: job {job['status']}, {job['counts']['stored']} stored"
    assert job["status"] == "completed" and job["counts"]["stored"] == len(sops), job
    result.after = violations(svc, tenant)
    result.seconds = clock.seconds
    record(result)
    assert result.after == {}


@pytest.mark.reliability_full
def test_cloud_storage_stopped_during_a_bucket_upload_ingest(stack, svc, api, tenant, failpoint_dir, record):
    """fake-gcs-server stops answering for 5 s while an uploaded zip is ingested: the job finishes
    (or its event is redelivered) and the catalog holds every instance, nothing left over."""
    result, clock = FaultResult("Cloud Storage (fake-gcs-server) stopped for 5 s during a bucket upload's ingest "
                                "(zip of 10)"), Stopwatch()
    upload, data, sops = _zip_upload(api, tenant, seed=65, slices=10)
    reached = arm(failpoint_dir, INGEST_BEFORE_COMMIT, seconds=0.2)
    _put(upload, data)
    wait_reached(reached)  # the objects are stored; the commit and the chunks' reads follow
    with paused(stack, "gcs"):
        time.sleep(5)  # the fault's duration
    job = poll_until(lambda: (j := _job(api, tenant, upload["id"]))["status"] in ("completed", "failed") and j,
                     timeout=300, interval=1, what="the upload job's end")
    result.client = f"job {job['status']}"
    assert job["status"] == "completed" and job["counts"]["stored"] == len(sops), job
    result.before = violations(svc, tenant)
    result.after = result.before
    result.retry = "not needed"
    result.seconds = clock.seconds
    record(result)
    assert result.after == {}
