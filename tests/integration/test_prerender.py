"""The ``prerender`` function: a settled study's first images are rendered before anyone asks.

End to end on the local stack: STOW-RS, the event sweep announcing ``study.received`` on the
events topic, the emulator pushing it to ``prerender``, renderings and thumbnails in the
derived bucket under the names WADO-RS reads, and the answers those reads then give.
"""

from __future__ import annotations

import base64
import io
import json

import pytest
import requests
from PIL import Image
from pydicom.uid import generate_uid

from beamit.retrieve import Retrieval, prerender
from beamit.retrieve.prerender import first_frame_object, prerender_study
from beamit.retrieve.rendered_cache import kept_object
from beamit.retrieve.thumbnails import default_thumbnail_params, representative, thumbnail_object
from tests.dicom_samples import ct_instance, multipart, part10_bytes
from tests.support import sweep_until

ROOT = "/v1/dicomweb"


def stow(api, tenant, datasets) -> None:
    body, content_type = multipart([part10_bytes(ds) for ds in datasets])
    response = api.post(f"{ROOT}/studies", data=body, headers={**tenant.headers, "Content-Type": content_type})
    assert response.status_code == 200, response.text


def derived_names(svc, tenant, study) -> set[str]:
    """The study's renderings and thumbnails in the derived bucket (not its metadata chunks)."""
    found = svc.blobs.list(svc.settings.bucket("derived"), f"{tenant.scope.tenant_id}/{study}/")
    return {i.name for i in found if "/rendered/" in i.name or "/thumbnails/" in i.name}


def retrieval(svc, tenant) -> Retrieval:
    return Retrieval.for_tenant(svc, tenant.scope)


def test_a_received_study_has_its_first_images_rendered_as_wado_rs_answers_them(stack, api, svc, tenant):
    study, series = generate_uid(), [generate_uid(), generate_uid()]
    datasets = [ct_instance(study, series[k % 2], k) for k in range(5)]
    stow(api, tenant, datasets)
    instances = retrieval(svc, tenant).catalog.study_instances(study)
    expected = {first_frame_object(tenant.scope.tenant_id, i) for i in instances}
    thumbnails = {
        thumbnail_object(tenant.scope.tenant_id, chosen, 1, default_thumbnail_params(), "image/jpeg")
        for s in series if (chosen := representative([i for i in instances if i.series == s])) is not None
    }
    assert len(expected) == 5 and len(thumbnails) == 2
    assert not (expected | thumbnails) & derived_names(svc, tenant, study)  # nothing asked for yet

    sweep_until(stack, lambda: (expected | thumbnails) <= derived_names(svc, tenant, study),
                what="the study's renderings")

    derived = svc.settings.bucket("derived")
    # The read path answers from what was rendered ahead: a kept image it could not have made
    # (asked for before anything else of the instance, so no process holds it in memory yet).
    target, others = instances[0], instances[1:]
    marker = io.BytesIO()
    Image.new("L", (7, 3), 200).save(marker, "JPEG")
    name = first_frame_object(tenant.scope.tenant_id, target)
    svc.blobs.put(derived, name, kept_object(target.md5, marker.getvalue()), content_type="application/octet-stream")
    answer = api.get(f"{ROOT}/studies/{study}/series/{target.series}/instances/{target.sop_instance}/frames/1/rendered",
                     headers={**tenant.headers, "Accept": "image/jpeg"})
    assert answer.status_code == 200 and answer.content == marker.getvalue()

    for instance in others:
        kept = svc.blobs.read(derived, first_frame_object(tenant.scope.tenant_id, instance))
        answer = api.get(f"{ROOT}/studies/{study}/series/{instance.series}/instances/{instance.sop_instance}/rendered",
                         headers={**tenant.headers, "Accept": "image/jpeg"})
        assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("image/jpeg")
        assert kept == kept_object(instance.md5, answer.content)  # the same image, tagged with its instance
        with Image.open(io.BytesIO(answer.content)) as image:
            assert image.format == "JPEG" and image.size == (128, 128)  # CT_small is 128x128
    for s in series:
        answer = api.get(f"{ROOT}/studies/{study}/series/{s}/thumbnail", headers=tenant.headers)
        assert answer.status_code == 200
        (name,) = [t for t in thumbnails if f"/{s}/thumbnails/" in t]
        assert svc.blobs.read(derived, name) == answer.content



def test_an_update_renders_only_the_new_instances(api, svc, tenant):
    study, series = generate_uid(), generate_uid()
    stow(api, tenant, [ct_instance(study, series, k) for k in range(3)])
    first = prerender_study(retrieval(svc, tenant), study)
    assert (first.rendered, first.thumbnails, first.already, first.failed) == (3, 1, 0, 0)

    stow(api, tenant, [ct_instance(study, series, 10), ct_instance(study, series, 11)])
    again = prerender_study(retrieval(svc, tenant), study)
    # The two new slices; the series' middle instance changed, so its thumbnail is new too.
    assert (again.rendered, again.thumbnails, again.already, again.failed) == (2, 1, 3, 0)
    assert prerender_study(retrieval(svc, tenant), study).summary() == {
        "rendered": 0, "thumbnails": 0, "already": 5, "skipped": 0, "failed": 0}


def test_a_frame_larger_than_the_limit_is_left_to_its_request(api, svc, tenant, monkeypatch):
    study = generate_uid()
    stow(api, tenant, [ct_instance(study, number=1)])  # CT_small: one 128x128 16-bit frame, 32 KiB
    monkeypatch.setattr(prerender, "MAX_FRAME_BYTES", (32 << 10) - 1)
    result = prerender_study(retrieval(svc, tenant), study)
    assert result.summary() == {"rendered": 0, "thumbnails": 0, "already": 0, "skipped": 1, "failed": 0}
    assert not derived_names(svc, tenant, study)
    (instance,) = retrieval(svc, tenant).catalog.study_instances(study)
    answer = api.get(f"{ROOT}/studies/{study}/series/{instance.series}/instances/{instance.sop_instance}/rendered",
                     headers={**tenant.headers, "Accept": "image/jpeg"})
    assert answer.status_code == 200 and answer.content.startswith(b"\xff\xd8")  # rendered on request


def test_a_study_of_another_tenant_or_none_renders_nothing(api, svc, tenant, make_tenant):
    study = generate_uid()
    stow(api, tenant, [ct_instance(study)])
    other = make_tenant()
    assert prerender_study(retrieval(svc, other), study).summary() == {
        "rendered": 0, "thumbnails": 0, "already": 0, "skipped": 0, "failed": 0}
    assert not derived_names(svc, other, study) and not derived_names(svc, tenant, study)
    assert prerender_study(retrieval(svc, tenant), generate_uid()).rendered == 0


def push(data: object, attributes: dict[str, str] | None = None) -> bytes:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return json.dumps({"message": {"data": base64.b64encode(raw).decode(), "messageId": "1",
                                   "attributes": attributes or {}}}).encode()


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        push(b"not json"),
        push({"id": "evt_x"}),  # not an event
        push({"id": "evt_abcdefgh12345678", "type": "share.accessed", "createdAt": "2026-12-05T00:00:00Z",
              "tenantId": "acme", "data": {"studyInstanceUID": "1.2.3"}}),  # not study.received
        push({"id": "evt_abcdefgh12345678", "type": "study.received", "createdAt": "2026-12-05T00:00:00Z",
              "tenantId": "acme", "data": {}}),  # no study
    ],
)
def test_pushes_it_has_nothing_to_do_with_are_acknowledged(stack, body):
    response = requests.post(f"{stack.url}/_triggers/prerender", data=body,
                             headers={"Content-Type": "application/json"}, timeout=30)
    assert response.status_code == 204


def test_a_pushed_event_of_one_tenant_renders_that_tenant_s_study_only(stack, api, svc, tenant, make_tenant):
    study = generate_uid()
    stow(api, tenant, [ct_instance(study)])
    other = make_tenant()
    event = {"id": "evt_abcdefgh12345678", "type": "study.received", "createdAt": "2026-12-05T00:00:00Z",
             "tenantId": other.scope.tenant_id, "data": {"studyInstanceUID": study}}
    response = requests.post(f"{stack.url}/_triggers/prerender", data=push(event), timeout=30)
    assert response.status_code == 204
    assert not derived_names(svc, tenant, study)  # the study is not the other tenant's
    event["tenantId"] = tenant.scope.tenant_id
    assert requests.post(f"{stack.url}/_triggers/prerender", data=push(event), timeout=30).status_code == 204
    (instance,) = retrieval(svc, tenant).catalog.study_instances(study)
    assert first_frame_object(tenant.scope.tenant_id, instance) in derived_names(svc, tenant, study)
