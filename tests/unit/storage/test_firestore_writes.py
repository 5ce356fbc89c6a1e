"""The raw-protobuf ``create`` writes equal google-cloud-firestore's own, value for value."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from google.cloud import firestore
from google.cloud.firestore_v1 import _helpers

from beamit.storage.firestore import _transforms
from beamit.storage.firestore_internals import batch_writes
from beamit.storage.firestore_writes import create_write
from beamit.storage.protocols import ArrayUnion, Increment, ServerTimestamp

NAME = "projects/p/databases/(default)/documents/tenants/t/instances/1.2.3"

SAMPLES: list[dict[str, Any]] = [
    {},
    {"s": "text", "i": 7, "neg": -3, "big": 2**62, "f": 1.5, "t": True, "no": False, "none": None},
    {"empty_list": [], "empty_map": {}, "nested": {"a": {"b": ["x", 1, None, {"c": 2.0}]}}},
    {
        "unicode": "山田^太郎=やまだ",
        "bytes": b"\x00\x01",
        "when": datetime.datetime(2026, 11, 29, 9, 0, tzinfo=datetime.UTC),
    },
    {"dicom": {"00100010": {"vr": "PN", "Value": [{"Alphabetic": "Doe^Jane"}]}, "00280008": {"vr": "IS"}}},
    {"q": {"sort": "1.2 3.4", "keys": ["Modality=CT"], "words": ["PatientName:p:doe", "PatientName:g:oe"]}},
    {"storedAt": ServerTimestamp(), "name": "x"},
    {"count": Increment(3), "modalities": ArrayUnion(("CT", "MR")), "stats": {"n": Increment(1), "kept": 4}},
    {"only": {"transforms": ServerTimestamp()}},
    {"key with space": 1, "dotted.key": {"`tick`": 2}, "storedAt": ServerTimestamp(), "a b": {"c.d": Increment(1)}},
]


@pytest.mark.parametrize("data", SAMPLES, ids=range(len(SAMPLES)))
def test_create_write_equals_the_library_encoding(data: dict[str, Any]) -> None:
    (expected,) = _helpers.pbs_for_create(NAME, _transforms(data))
    actual = create_write(NAME, data)
    assert actual.update.name == expected.update.name
    assert dict(actual.update.fields) == dict(expected.update.fields)
    assert list(actual.update_transforms) == list(expected.update_transforms)
    assert actual.current_document == expected.current_document
    assert actual == expected


def test_a_real_catalog_document_encodes_identically(svc_free_instance_record: dict[str, Any]) -> None:
    (expected,) = _helpers.pbs_for_create(NAME, _transforms(svc_free_instance_record))
    assert create_write(NAME, svc_free_instance_record) == expected


def test_records_sharing_their_terms_encode_alike_and_stay_apart(svc_free_instance_record: dict[str, Any]) -> None:
    """The second record of a series reuses the first's encoded word terms (a copy of them)."""
    first = create_write(NAME, svc_free_instance_record)
    second_record = {**svc_free_instance_record, "size": 1}
    second = create_write(NAME, second_record)
    (expected,) = _helpers.pbs_for_create(NAME, _transforms(second_record))
    assert second == expected
    assert first.update.fields["q"] == second.update.fields["q"]
    # Changing one document's terms changes neither the other's nor the next encoding.
    words = type(second).pb(second).update.fields["q"].map_value.fields["words"].map_value.fields
    words["extra"].boolean_value = True
    assert "extra" in second.update.fields["q"].map_value.fields["words"].map_value.fields
    assert "extra" not in first.update.fields["q"].map_value.fields["words"].map_value.fields
    assert create_write(NAME, svc_free_instance_record) == first


@pytest.fixture
def svc_free_instance_record() -> dict[str, Any]:
    """An ingest catalog record of a sandbox CT slice, with its QIDO-RS index map."""
    import io

    from beamit.catalog.commit import instance_record
    from beamit.dicomweb.qido.attributes import SearchLevel
    from beamit.dicomweb.qido.index import index_fields
    from beamit.ingest.instance import parse_instance
    from beamit.sandbox import SandboxConfig, generate_studies, part10_bytes

    study = next(iter(generate_studies(5, 1, SandboxConfig(kinds=("CT",), ct_slices=2, scale=0.0625))))
    parsed = parse_instance(io.BytesIO(part10_bytes(next(iter(study.datasets())))))
    record = instance_record(parsed, "tenants/t/studies/x")
    record["q"] = index_fields(SearchLevel.INSTANCE, parsed.study, parsed.series, parsed.instance)
    assert len(record["q"]["words"]) > 50 and record["dicom"]
    return record


def test_a_batch_commits_it_as_create_would() -> None:
    """The write is the one ``WriteBatch.create`` adds (same name, fields and precondition)."""
    client = firestore.Client(project="p", credentials=_anonymous())
    batch = client.batch()
    data = {"a": 1, "storedAt": ServerTimestamp()}
    batch.create(client.document("tenants/t/instances/1.2.3"), _transforms(data))
    assert batch_writes(batch) == [create_write(NAME, data)]


def _anonymous() -> Any:
    from google.auth.credentials import AnonymousCredentials

    return AnonymousCredentials()


def test_subclasses_of_plain_types_encode_as_the_library_encodes_them() -> None:
    import enum

    class Level(enum.IntEnum):
        SERIES = 2

    class Kind(enum.StrEnum):
        CT = "CT"

    data = {"level": Level.SERIES, "kind": Kind.CT, "pairs": (1, "a"), "nested": {"deep": [{"x": Level.SERIES}]}}
    (expected,) = _helpers.pbs_for_create(NAME, _transforms(data))
    assert create_write(NAME, data) == expected
