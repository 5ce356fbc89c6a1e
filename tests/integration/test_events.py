"""``study.received`` once per study arrival, end to end: STOW-RS and bucket uploads committing
to the catalog, the ``event-sweep`` scheduled function (called as Cloud Scheduler would), the
events topic, ``webhook-delivery`` and a receiver. The local stack's settle window is 2 s
(``beamit.devstack.stack.LOCAL_EVENT_SETTINGS``)."""

from __future__ import annotations

import json

import pytest
from pydicom.uid import generate_uid

from beamit.catalog import fields as catalog
from beamit.events import STUDY_RECEIVED
from beamit.storage import Filter, Query
from tests.dicom_samples import ct_instance, multipart, part10_bytes
from tests.integration.test_uploads import study_zip, upload_and_wait
from tests.support import sweep_events, sweep_until
from tests.webhook_receiver import Receiver

STOW = "/v1/dicomweb/studies"


@pytest.fixture
def receiver(api, tenant):
    r = Receiver()
    response = api.post("/v1/webhooks", json={"url": r.url, "events": [STUDY_RECEIVED]}, headers=tenant.headers)
    assert response.status_code == 201, response.text
    yield r
    r.close()


def stow(api, tenant, datasets) -> None:
    body, content_type = multipart([part10_bytes(ds) for ds in datasets])
    response = api.post(STOW, data=body, headers={**tenant.headers, "Content-Type": content_type})
    assert response.status_code == 200, response.text


def study_record(svc, tenant, uid) -> dict:
    return svc.metadata.get(catalog.study_path(tenant.scope, uid))


def bodies(receiver, study) -> list[dict]:
    found = [json.loads(r.body) for r in receiver.requests]
    return [b for b in found if b["data"]["studyInstanceUID"] == study]


def recorded_events(svc, tenant, study) -> list[dict]:
    """The study's study.received events in the tenant's outbox: every one ever recorded."""
    docs = svc.metadata.query(Query(tenant.scope.collection("outbox"), filters=(Filter("type", "==", STUDY_RECEIVED),)))
    return [d.data for d in docs if d.data["data"]["studyInstanceUID"] == study]


def test_fifteen_batches_within_the_window_are_one_event_then_one_update(stack, api, svc, tenant, receiver):
    sweep_events(stack)  # what earlier tests left, so each run below is about this study
    study, series = generate_uid(), [generate_uid(), generate_uid()]
    for batch in range(15):
        stow(api, tenant, [ct_instance(study, series[k], 2 * batch + k) for k in range(2)])
        # A scheduled run in the middle of the arrival: the study is not quiet, nothing is announced.
        sweep_events(stack)
        assert study_record(svc, tenant, study)[catalog.ANNOUNCE_PENDING] is True, f"announced after batch {batch}"
    (event,) = sweep_until(stack, lambda: bodies(receiver, study), what="study.received")
    assert event["type"] == STUDY_RECEIVED and event["data"]["instanceCount"] == 30
    assert event["data"]["seriesCount"] == 2 and event["data"]["modalities"] == ["CT"]
    assert event["data"]["update"] is False and event["data"]["previousInstanceCount"] == 0
    record = study_record(svc, tenant, study)
    assert record[catalog.ANNOUNCE_PENDING] is False and record[catalog.ANNOUNCED_INSTANCE_COUNT] == 30
    (recorded,) = recorded_events(svc, tenant, study)  # the one event of the arrival
    assert recorded["id"] == event["id"] and recorded["pending"] is False

    # Two more instances after the event: one more study.received, marked as an update.
    stow(api, tenant, [ct_instance(study, series[0], 100), ct_instance(study, series[1], 101)])
    first, second = sweep_until(stack, lambda: len(bodies(receiver, study)) >= 2 and bodies(receiver, study),
                                what="the update")
    assert first == event and second["id"] != event["id"]
    assert second["data"]["update"] is True and second["data"]["previousInstanceCount"] == 30
    assert second["data"]["instanceCount"] == 32 and second["data"]["seriesCount"] == 2
    assert len(recorded_events(svc, tenant, study)) == 2
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == len(receiver.requests) == 2


def test_a_bucket_upload_and_a_stow_of_one_study_in_one_window_are_one_event(stack, api, svc, tenant, receiver):
    study = generate_uid()
    zipped = [ct_instance(study, generate_uid(), n) for n in range(3)]
    job = upload_and_wait(api, tenant, study_zip(zipped))
    assert job["status"] == "completed", job
    sweep_events(stack)  # a scheduled run between the two: the study is still arriving
    assert study_record(svc, tenant, study)[catalog.ANNOUNCE_PENDING] is True
    stow(api, tenant, [ct_instance(study, generate_uid(), n) for n in range(3, 5)])
    (event,) = sweep_until(stack, lambda: bodies(receiver, study), what="study.received")
    assert event["data"]["instanceCount"] == 5 and event["data"]["seriesCount"] == 5
    assert event["data"]["update"] is False
    assert [e["id"] for e in recorded_events(svc, tenant, study)] == [event["id"]]


def test_storing_the_same_instances_again_is_no_arrival(stack, api, svc, tenant, receiver):
    study = generate_uid()
    instances = [ct_instance(study, generate_uid(), n) for n in range(2)]
    stow(api, tenant, instances)
    (event,) = sweep_until(stack, lambda: bodies(receiver, study), what="study.received")
    announced_at = study_record(svc, tenant, study)[catalog.ANNOUNCED_AT]
    stow(api, tenant, instances)  # an idempotent repeat commits nothing
    record = study_record(svc, tenant, study)
    assert record[catalog.ANNOUNCE_PENDING] is False and record[catalog.ANNOUNCED_AT] == announced_at
    assert event["data"]["instanceCount"] == 2 and record[catalog.INSTANCE_COUNT] == 2
