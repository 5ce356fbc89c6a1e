"""The ingest function's event parsing and per-file outcome mapping (no emulators needed)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from beamit.dicomweb.stow import (
    DUPLICATE_SOP_INSTANCE,
    PROCESSING_FAILURE,
    FailedInstance,
    ReferencedInstance,
    StoreResult,
)
from beamit.ingest.bucket_upload import FinalizedObject, _File, audit_outcome, resolve_outcomes
from beamit.ingest.instance import ParsedInstance
from beamit.uploads.upload import FileOutcome

# The data of the CloudEvent the gateway builds from fake-gcs-server's OBJECT_FINALIZE
# notification (the Cloud Storage JSON API object resource, as Eventarc delivers it).
FINALIZED = {
    "kind": "storage#object",
    "id": "beamit-local-beamit-inbox/uploads/acme/upl_aaaaaaaaaaaaaaaaaaaa/upload.zip#1795928943108917",
    "name": "uploads/acme/upl_aaaaaaaaaaaaaaaaaaaa/upload.zip",
    "bucket": "beamit-local-beamit-inbox",
    "generation": "1795928943108917",
    "contentType": "application/zip",
    "timeCreated": "2026-11-29T05:09:03.108906Z",
    "updated": "2026-11-29T05:09:03.108909Z",
    "storageClass": "STANDARD",
    "size": "3",
    "md5Hash": "kAFQmDzST7DWlj99KOF/cg==",
    "crc32c": "Nks/tw==",
}


def test_finalized_object_from_event():
    obj = FinalizedObject.from_event(FINALIZED)
    assert obj == FinalizedObject(
        bucket="beamit-local-beamit-inbox",
        name="uploads/acme/upl_aaaaaaaaaaaaaaaaaaaa/upload.zip",
        generation=1795928943108917,
        size=3,
        content_type="application/zip",
        time_created=datetime(2026, 11, 29, 5, 9, 3, 108906, tzinfo=UTC),
    )


def test_an_odd_timestamp_does_not_drop_the_event():
    obj = FinalizedObject.from_event({**FINALIZED, "timeCreated": "yesterday"})
    assert obj.time_created is None
    naive = FinalizedObject.from_event({**FINALIZED, "timeCreated": "2026-11-29T05:09:03"})
    assert naive.time_created is not None and naive.time_created.tzinfo is UTC


@pytest.mark.parametrize("missing", ["bucket", "name", "generation"])
def test_malformed_event(missing):
    with pytest.raises(ValueError):
        FinalizedObject.from_event({k: v for k, v in FINALIZED.items() if k != missing})


def parsed(sop: str) -> ParsedInstance:
    return ParsedInstance(
        study_uid="1.2.3", series_uid="1.2.3.4", sop_instance_uid=sop, sop_class_uid="1.2.840.10008.5.1.4.1.1.2",
        transfer_syntax_uid="1.2.840.10008.1.2.1", size=1, md5_b64="", crc32c_b64="", study={}, series={},
        instance={}, metadata={}, pixel_index=None, instance_number=None, modality="CT",
    )  # fmt: skip


def file(index: int) -> _File:
    return _File(index, f"IM{index}", open=lambda: None, quarantine=lambda _r: "")  # type: ignore[arg-type,return-value]


def test_outcomes_are_keyed_by_sop_instance_uid_and_tell_same_uid_failures_apart():
    # File 0 and file 2 hold the same SOP Instance UID with different bytes: the core refused
    # file 2 at once; then storing file 0 failed too (a different instance is stored already).
    refused_at_once = FailedInstance(DUPLICATE_SOP_INSTANCE, "two different instances", None, "1.1")
    stored_later_failure = FailedInstance(DUPLICATE_SOP_INSTANCE, "a different instance is stored", None, "1.1")
    result = StoreResult(
        stored=[ReferencedInstance("1.2.3", "1.2.3.4", "1.2", "1.2.840.10008.5.1.4.1.1.2", False)],
        failed=[refused_at_once, stored_later_failure],
    )
    early = {2: FileOutcome(2, "IM2", "failed", failure_reason=DUPLICATE_SOP_INSTANCE, message="two")}
    outcomes = resolve_outcomes(
        early, [(file(0), parsed("1.1")), (file(1), parsed("1.2")), (file(3), parsed("1.3"))], result,
        {id(refused_at_once)},
    )  # fmt: skip
    assert outcomes[0].status == "failed" and outcomes[0].message == "a different instance is stored"
    assert outcomes[1].status == "stored" and outcomes[1].already_stored is True
    assert outcomes[1].study_uid == "1.2.3" and outcomes[1].sop_instance_uid == "1.2"
    assert outcomes[2] is early[2]
    assert outcomes[3].status == "failed" and outcomes[3].failure_reason == PROCESSING_FAILURE


@pytest.mark.parametrize(
    ("status", "counts", "outcome"),
    [
        ("completed", {"stored": 3, "failed": 0}, 200),
        ("completed", {"stored": 3, "failed": 1}, 202),
        ("completed", {"stored": 0, "failed": 1}, 409),
        ("completed", {"stored": 0, "failed": 0, "skipped": 1}, 409),
        ("failed", {"stored": 0, "failed": 0}, 409),
    ],
)
def test_audit_outcome(status, counts, outcome):
    assert audit_outcome(status, counts) == outcome
