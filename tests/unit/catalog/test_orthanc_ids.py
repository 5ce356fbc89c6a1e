"""Orthanc's study identifiers (beamit.catalog.orthanc_ids) and their lookup."""

from __future__ import annotations

from typing import Any

import pytest

from beamit.catalog import Catalog
from beamit.catalog import fields as catalog
from beamit.catalog.orthanc_ids import is_orthanc_id, orthanc_study_id
from beamit.storage import Document, Query
from beamit.storage.firestore import index_shape
from beamit.tenancy import TenantScope

# (PatientID as stored, StudyInstanceUID) -> the ParentStudy Orthanc 1.10.1 (Debian) answered for
# the instance, POST /instances on loopback: trailing padding is dropped, leading spaces kept, an
# absent PatientID is empty.
ORTHANC_ANSWERS = [
    ("1CT1", "1.2.826.0.1.3680043.8.498.5327639347395661025608059042212761415",
     "fa30d27a-1771c4ba-6d1113fa-52e7d667-b3ce9a82"),
    ("ODD12 ", "1.2.826.0.1.3680043.8.498.62603681741841676437992651723504434821",
     "9a41755e-e3b54fb3-97f07b61-190156e3-b0fcd96d"),
    (" LEAD", "1.2.826.0.1.3680043.8.498.60021705384609831937477794465618377392",
     "f282b484-1d85b634-692d6e8c-4eca82e0-3e8d6b20"),
    (None, "1.2.826.0.1.3680043.8.498.38291571822011530483608645669350186552",
     "ac1a52fd-30e13e4b-4c4bf600-4f9bf728-80544f05"),
]


@pytest.mark.parametrize("patient_id, study_uid, expected", ORTHANC_ANSWERS)
def test_the_identifier_is_orthancs(patient_id, study_uid, expected):
    assert orthanc_study_id(patient_id, study_uid) == expected
    assert is_orthanc_id(expected) and is_orthanc_id(expected.upper())


@pytest.mark.parametrize("value", [
    "ORTHANC_STUDY_ID", "1.2.840.113619.2.55", "fa30d27a-1771c4ba-6d1113fa-52e7d667",
    "fa30d27a-1771c4ba-6d1113fa-52e7d667-b3ce9a8g", " fa30d27a-1771c4ba-6d1113fa-52e7d667-b3ce9a82"])
def test_other_values_are_not_orthanc_identifiers(value):
    assert not is_orthanc_id(value)


class RecordingStore:
    def __init__(self) -> None:
        self.queries: list[Query] = []

    def query(self, query: Query) -> list[Document]:
        self.queries.append(query)
        return []

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"unexpected store call {name}")


def test_the_lookup_is_one_equality_on_a_field_with_an_ascending_single_field_index():
    from tests.infra.terraform_model import parse_terraform

    store = RecordingStore()
    found = Catalog(store, TenantScope("t-1")).study_by_orthanc_id(ORTHANC_ANSWERS[0][2].upper())  # type: ignore[arg-type]
    assert found is None
    (query,) = store.queries
    assert [(f.field, f.op, f.value) for f in query.filters] == [
        (catalog.ORTHANC_STUDY_ID, "==", ORTHANC_ANSWERS[0][2])]
    assert index_shape(query) == (catalog.STUDIES, ())  # no composite index
    settings = parse_terraform().locals()["firestore_field_indexes"].values()
    assert {"collection": catalog.STUDIES, "field": catalog.ORTHANC_STUDY_ID, "orders": ["ASCENDING"]} in [
        {k: v[k] for k in ("collection", "field", "orders")} for v in settings]
