"""DELETE of studies, series and instances, through dicomweb-client and raw HTTP."""

from __future__ import annotations

import pytest
from dicomweb_client import DICOMwebClient
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from requests import HTTPError

from beamit.auth.roles import ROLE_SCOPES
from beamit.auth.scopes import ALL_SCOPES, STUDIES_DELETE, STUDIES_READ, STUDIES_WRITE
from beamit.catalog import Catalog
from beamit.catalog import fields as catalog
from beamit.dicomweb.uri import ResourceRef
from beamit.storage import Query
from tests.dicom_samples import ct_instance, multipart, part10_bytes
from tests.share_flow import create_share

STUDIES = "/v1/dicomweb/studies"
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"


def tiny(study: str, series: str, number: int, modality: str = "OT") -> Dataset:
    """A small instance without pixel data, built in memory."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = SECONDARY_CAPTURE
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
    ds.PatientID, ds.PatientName, ds.Modality, ds.InstanceNumber = "DEL-1", "DELETE^ME", modality, number
    return ds


def client(stack, tenant) -> DICOMwebClient:
    return DICOMwebClient(f"{stack.url}/v1/dicomweb", headers=tenant.headers)


def objects(svc, tenant, bucket: str) -> list[str]:
    return [b.name for b in svc.blobs.list(svc.settings.bucket(bucket), f"{tenant.id}/")]


def records(svc, tenant, collection: str) -> int:
    return svc.metadata.count(Query(collection=tenant.scope.collection(collection)))


def audit_of(svc, tenant, request_id: str) -> dict:
    found = svc.metadata.query(Query(collection=tenant.scope.collection("audit_events")))
    return next(r.data for r in found if r.data["requestId"] == request_id)


@pytest.fixture
def two_series(api, tenant):
    """A study of a CT series (3 images) and an OT series (2 tiny instances)."""
    study, ct_series, ot_series = generate_uid(), generate_uid(), generate_uid()
    cts = [ct_instance(study, ct_series, number=n) for n in (1, 2, 3)]
    ots = [tiny(study, ot_series, n) for n in (1, 2)]
    body, content_type = multipart([part10_bytes(ds) for ds in cts + ots])
    response = api.post(STUDIES, data=body, headers={**tenant.headers, "Content-Type": content_type})
    assert response.status_code == 200, response.text
    return study, ct_series, ot_series, cts, ots


def test_dicomweb_client_deletes_a_study_with_its_data_and_shares(api, stack, svc, tenant, two_series):
    study, ct_series, _, cts, _ = two_series
    dw = client(stack, tenant)
    assert api.get(f"{STUDIES}/{study}/series/{ct_series}/thumbnail", headers=tenant.headers).status_code == 200
    share = create_share(api, tenant, study)
    assert objects(svc, tenant, "dicom") and objects(svc, tenant, "derived")

    dw.delete_study(study)

    assert dw.search_for_studies(search_filters={"StudyInstanceUID": study}) == []
    assert api.get(f"{STUDIES}/{study}/metadata", headers=tenant.headers).status_code == 404
    assert objects(svc, tenant, "dicom") == [] and objects(svc, tenant, "derived") == []
    for collection in ("studies", "series", "instances", "series_members"):
        assert records(svc, tenant, collection) == 0, collection
    assert api.get(f"/v1/shares/{share['id']}", headers=tenant.headers).json()["status"] == "revoked"
    # Idempotent: a second DELETE (a retry after a timeout) is 204 and changes nothing.
    again = api.delete(f"{STUDIES}/{study}", headers=tenant.headers)
    assert again.status_code == 204 and again.content == b""
    record = audit_of(svc, tenant, again.headers["X-Request-Id"])
    assert record["eventCode"] == "110105" and record["resources"]["studies"] == [study]
    assert record["details"]["action"] == "study.deleted" and record["details"]["instancesDeleted"] == 0
    # The first DELETE's record names what went.
    deletes = [r.data for r in svc.metadata.query(Query(collection=tenant.scope.collection("audit_events")))
               if r.data["eventCode"] == "110105"]
    assert sorted(r["details"]["instancesDeleted"] for r in deletes) == [0, len(cts) + 2]
    assert [r["details"].get("sharesRevoked") for r in deletes if r["details"]["instancesDeleted"]] == [[share["id"]]]


def test_deleting_series_and_instances_keeps_counts_lists_and_search_exact(api, stack, svc, tenant, two_series):
    study, ct_series, ot_series, cts, ots = two_series
    dw = client(stack, tenant)
    share = create_share(api, tenant, study)

    dw.delete_instance(study, ct_series, cts[0].SOPInstanceUID)

    found = dw.search_for_studies(search_filters={"StudyInstanceUID": study})[0]
    assert found["00201208"]["Value"] == [4] and found["00201206"]["Value"] == [2]
    members = svc.metadata.get(catalog.series_members_path(tenant.scope, ct_series))
    assert sorted(members[catalog.MEMBERS]) == sorted(ds.SOPInstanceUID for ds in cts[1:])
    served = [item["00080018"]["Value"][0] for item in dw.retrieve_study_metadata(study)]
    assert cts[0].SOPInstanceUID not in served and len(served) == 4
    with pytest.raises(HTTPError):
        dw.retrieve_instance(study, ct_series, cts[0].SOPInstanceUID)

    dw.delete_series(study, ot_series)

    found = dw.search_for_studies(search_filters={"StudyInstanceUID": study})[0]
    assert found["00201208"]["Value"] == [2] and found["00201206"]["Value"] == [1]
    assert found["00080061"]["Value"] == ["CT"]
    assert dw.search_for_studies(search_filters={"ModalitiesInStudy": "OT", "PatientID": "DEL-1"}) == []
    assert svc.metadata.get(catalog.study_path(tenant.scope, study))[catalog.SERIES_UIDS] == [ct_series]
    assert not [n for n in objects(svc, tenant, "dicom") + objects(svc, tenant, "derived") if ot_series in n]
    assert api.get(f"/v1/shares/{share['id']}", headers=tenant.headers).json()["status"] == "active"

    # The study goes with its last instance, and its shares are revoked.
    for ds in cts[1:]:
        assert api.delete(f"{STUDIES}/{study}/series/{ct_series}/instances/{ds.SOPInstanceUID}",
                          headers=tenant.headers).status_code == 204
    assert records(svc, tenant, "studies") == 0 and records(svc, tenant, "series") == 0
    assert objects(svc, tenant, "dicom") == []
    assert api.get(f"/v1/shares/{share['id']}", headers=tenant.headers).json()["status"] == "revoked"


def test_a_deletion_stopped_half_way_is_finished_by_the_next_delete(api, svc, tenant):
    """More than one page of instances; the first request "crashed" after removing some records
    and after deleting some objects whose records it did not remove."""
    from beamit.catalog.removal import PAGE

    study, series = generate_uid(), generate_uid()
    datasets = [tiny(study, series, n) for n in range(PAGE + 30)]
    body, content_type = multipart([part10_bytes(ds) for ds in datasets])
    assert api.post(STUDIES, data=body, headers={**tenant.headers, "Content-Type": content_type}).status_code == 200
    page = Catalog(svc.metadata, tenant.scope).instance_page(ResourceRef(study), limit=10)
    for instance in page:
        svc.blobs.delete(svc.settings.bucket("dicom"), instance.blob)
    Catalog(svc.metadata, tenant.scope).remove([i.sop_instance for i in page[:5]])
    assert svc.metadata.get(catalog.study_path(tenant.scope, study))[catalog.INSTANCE_COUNT] == PAGE + 25

    response = api.delete(f"{STUDIES}/{study}", headers=tenant.headers)

    assert response.status_code == 204
    for collection in ("studies", "series", "instances", "series_members"):
        assert records(svc, tenant, collection) == 0, collection
    assert objects(svc, tenant, "dicom") == [] and objects(svc, tenant, "derived") == []
    assert audit_of(svc, tenant, response.headers["X-Request-Id"])["details"]["instancesDeleted"] == PAGE + 25


def test_refused_deletes_change_nothing(api, svc, make_tenant, tenant, two_series):
    study, ct_series, _, cts, _ = two_series
    before = (objects(svc, tenant, "dicom"), records(svc, tenant, "instances"))
    path = f"{STUDIES}/{study}"
    assert api.delete(path).status_code == 401
    assert api.delete(path, headers={"Authorization": "Bearer bk_local_not_a_key"}).status_code == 401
    writer = make_tenant([STUDIES_READ, STUDIES_WRITE])
    other_with_the_uid = make_tenant(ALL_SCOPES)
    body, content_type = multipart([part10_bytes(cts[0])])
    assert api.post(STUDIES, data=body, headers={**writer.headers, "Content-Type": content_type}).status_code == 200
    refused = api.delete(f"{STUDIES}/{study}", headers=writer.headers)
    assert refused.status_code == 403 and "studies:delete" in refused.json()["error"]["message"]
    assert records(svc, writer, "instances") == 1
    # Another tenant's DELETE of the same UIDs deletes nothing of this tenant's.
    assert api.delete(path, headers=other_with_the_uid.headers).status_code == 204
    for bad in ("1.2.abc", "1." + "2" * 80, "01.2"):
        response = api.delete(f"{STUDIES}/{bad}", headers=tenant.headers)
        assert response.status_code == 400, bad
    assert api.delete(f"{STUDIES}/{study}/series/{ct_series}/instances/1.2.x", headers=tenant.headers
                      ).status_code == 400
    assert (objects(svc, tenant, "dicom"), records(svc, tenant, "instances")) == before


def test_only_the_admin_role_may_hold_the_delete_scope():
    assert [role for role, scopes in ROLE_SCOPES.items() if STUDIES_DELETE in scopes] == ["admin"]


def test_metadata_kept_before_a_deletion_is_never_served_after_it(stack, svc, tenant):
    """Study and series metadata are kept compacted after a consistent read. Deleting one
    instance and storing another gives the same count: what was kept (with the deleted
    instance) must not be served, nor kept, and the deleted instance's renderings are gone."""
    web = client(stack, tenant)
    study, series = generate_uid(), generate_uid()
    first, second, third = (ct_instance(study, series, number=n) for n in (1, 2, 3))
    web.store_instances([first, second])
    for _ in range(2):  # the second read is served from what the first kept
        assert {m["00080018"]["Value"][0] for m in web.retrieve_study_metadata(study)} == \
            {first.SOPInstanceUID, second.SOPInstanceUID}
        assert len(web.retrieve_series_metadata(study, series)) == 2
    web.retrieve_instance_rendered(study, series, first.SOPInstanceUID, media_types=("image/jpeg",))
    web.delete_instance(study, series, first.SOPInstanceUID)
    web.store_instances([third])
    expected = {second.SOPInstanceUID, third.SOPInstanceUID}
    for _ in range(2):
        assert {m["00080018"]["Value"][0] for m in web.retrieve_study_metadata(study)} == expected
        assert {m["00080018"]["Value"][0] for m in web.retrieve_series_metadata(study, series)} == expected
    assert not [name for name in objects(svc, tenant, "derived") if first.SOPInstanceUID in name.split("/")]
