"""The upload job state machine, upload object names and the file outcome records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from beamit.storage.firestore import index_shape
from beamit.uploads import naming
from beamit.uploads.jobs import decide
from beamit.uploads.limits import PROCESSING_LEASE
from beamit.uploads.upload import FileOutcome, Upload, files_query

NOW = datetime(2026, 2, 20, 10, 30, tzinfo=UTC)
GEN = 1700000000000001


@pytest.mark.parametrize(
    ("record", "action"),
    [
        ({"status": "pending"}, "process"),
        ({}, "process"),
        ({"status": "processing", "claimedAt": NOW - timedelta(seconds=5), "objectGeneration": GEN}, "busy"),
        ({"status": "processing", "claimedAt": NOW - timedelta(seconds=5), "objectGeneration": GEN + 1}, "busy"),
        ({"status": "processing", "claimedAt": NOW - PROCESSING_LEASE, "objectGeneration": GEN}, "process"),
        ({"status": "processing", "claimedAt": None, "objectGeneration": GEN}, "process"),  # released after an error
        ({"status": "completed", "objectGeneration": GEN}, "done"),
        ({"status": "failed", "objectGeneration": GEN}, "done"),
        ({"status": "completed", "objectGeneration": GEN - 1}, "superseded"),
        ({"status": "failed", "objectGeneration": None}, "superseded"),
    ],
)
def test_decide(record, action):
    assert decide(record, GEN, NOW) == action


def test_lease_outlasts_the_ingest_function_timeout():
    from beamit.deployment import load_manifest

    assert PROCESSING_LEASE.total_seconds() > load_manifest().function("ingest").timeout_seconds


def test_inbox_object_names_are_chosen_by_the_server_and_parse_back():
    upload_id = "upl_" + "a1" * 10
    assert naming.inbox_object("acme", upload_id, "application/zip") == f"uploads/acme/{upload_id}/upload.zip"
    assert naming.inbox_object("acme", upload_id, "application/x-zip-compressed").endswith("/upload.zip")
    assert naming.inbox_object("acme", upload_id, "application/dicom").endswith("/upload.dcm")
    assert naming.inbox_object("acme", upload_id, "application/octet-stream").endswith("/upload.bin")
    parsed = naming.parse_inbox_object(f"uploads/acme/{upload_id}/upload.zip")
    assert parsed == naming.InboxObject("acme", upload_id)


@pytest.mark.parametrize(
    "name",
    [
        "acme/study.zip",
        "uploads/acme/upl_short/upload.zip",
        "uploads/Acme/upl_aaaaaaaaaaaaaaaaaaaa/upload.zip",
        "uploads/acme/upl_aaaaaaaaaaaaaaaaaaaa/sub/upload.zip",
        "uploads/acme/upl_aaaaaaaaaaaaaaaaaaaa/",
        "uploads/../upl_aaaaaaaaaaaaaaaaaaaa/upload.zip",
    ],
)
def test_other_inbox_names_are_no_upload(name):
    assert naming.parse_inbox_object(name) is None


def test_unregistered_quarantine_name_does_not_carry_the_object_name():
    name = naming.quarantined_unregistered("acme/Doe^John/ct.dcm", 42)
    assert name.startswith("unregistered/") and name.endswith("-42/object") and "Doe" not in name


def test_file_outcome_round_trip_and_json_leaves_out_empty_fields():
    outcome = FileOutcome(
        3, "CD/IM1", "failed", failure_reason=0xC000, message="not DICOM", quarantine_object="gs://q/x"
    )
    assert FileOutcome.from_record(outcome.to_record()) == outcome
    assert outcome.to_json() == {
        "index": 3, "name": "CD/IM1", "status": "failed", "failureReason": 0xC000, "message": "not DICOM",
        "quarantineObject": "gs://q/x",
    }  # fmt: skip


def test_files_query_needs_no_composite_index():
    upload = Upload("upl_" + "a" * 20, "acme", {"counts": {"files": 12}})
    shape = index_shape(files_query(upload, limit=10, starting_after=4))
    assert shape == ("files", (("index", "ASCENDING"),))
