"""Events are never lost, and arrive once per endpoint, through faults of the local stack:

- the Pub/Sub emulator stopped while studies are stored and shared (every request succeeds; the
  events wait in the outbox) and started again: each event is delivered exactly once;
- the gateway killed (SIGKILL) after a request committed its change and event, before the
  event was published: the event sweep publishes it.

Each test leaves the stack as it found it: processes restarted (the Pub/Sub emulator's topics and
push subscriptions provisioned again) and the test client's pooled connections dropped.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import timedelta

import pytest
import requests
from pydicom.uid import generate_uid

from beamit.catalog import fields as catalog
from beamit.clock import utcnow
from beamit.events import STUDY_RECEIVED, STUDY_SHARED
from beamit.storage import Query
from tests.dicom_samples import ct_instance, multipart, part10_bytes
from tests.share_flow import random_phone
from tests.support import poll_until, sweep_events, sweep_until
from tests.webhook_receiver import Receiver

STOW = "/v1/dicomweb/studies"
EVENTS = [STUDY_RECEIVED, STUDY_SHARED]


@pytest.fixture
def restore(stack, api):
    """Whatever a test stops or kills is running again for the tests after it."""
    yield
    for name in ("pubsub", "gateway"):
        if not stack.process(name).running():
            stack.restart(name)
    api.session.close()  # pooled connections to a killed gateway


@pytest.fixture
def make_receiver(api, tenant):
    made: list[Receiver] = []

    def make() -> Receiver:
        made.append(Receiver())
        response = api.post("/v1/webhooks", json={"url": made[-1].url, "events": EVENTS}, headers=tenant.headers)
        assert response.status_code == 201, response.text
        return made[-1]

    yield make
    for r in made:
        r.close()


def stow_study(api, tenant, instances: int = 2) -> str:
    study = generate_uid()
    body, content_type = multipart([part10_bytes(ct_instance(study, generate_uid(), n)) for n in range(instances)])
    response = api.post(STOW, data=body, headers={**tenant.headers, "Content-Type": content_type})
    assert response.status_code == 200, response.text
    return study


def share_request(tenant, study: str) -> dict:
    return {"json": {"studyId": study, "recipientPhone": random_phone(), "expiresIn": "1d"}, "headers": tenant.headers}


def outbox(svc, tenant) -> list[dict]:
    return [d.data for d in svc.metadata.query(Query(tenant.scope.collection("outbox")))]


def delivered_ids(receiver) -> Counter[str]:
    return Counter(r.headers["webhook-id"] for r in receiver.requests)


def settled(svc, tenant, study) -> bool:
    """The study's settle window has passed (the sweep may announce it)."""
    record = svc.metadata.get(catalog.study_path(tenant.scope, study))
    window = timedelta(seconds=svc.settings.study_settle_seconds)
    return bool(record) and record[catalog.LAST_ARRIVAL_AT] + window < utcnow()


def test_events_recorded_while_pubsub_is_down_are_delivered_once_after(stack, api, svc, tenant, make_receiver,
                                                                       restore):
    receiver = make_receiver()
    sweep_events(stack)  # what earlier tests left, published while Pub/Sub is up
    stack.process("pubsub").stop()

    studies = [stow_study(api, tenant) for _ in range(3)]  # STOW-RS never waits for Pub/Sub
    shared = api.post("/v1/shares", **share_request(tenant, studies[0]))  # its publish gives up: 201 all the same
    assert shared.status_code == 201, shared.text
    # Scheduled runs while Pub/Sub is down: the studies are announced (recorded), nothing is published.
    poll_until(lambda: all(settled(svc, tenant, s) for s in studies), timeout=30, what="the settle windows")
    summary = sweep_events(stack)
    assert summary["announced"] >= 3 and summary["published"] == 0 and summary["recovered"] == 0
    recorded = outbox(svc, tenant)
    assert sorted(e["type"] for e in recorded) == [STUDY_RECEIVED] * 3 + [STUDY_SHARED]
    assert all(e["pending"] for e in recorded)

    stack.restart("pubsub")
    sweep_until(stack, lambda: len(delivered_ids(receiver)) >= 4, timeout=90,
                what=lambda: f"4 deliveries (have {dict(delivered_ids(receiver))})")
    ids = {e["id"] for e in recorded}
    assert set(delivered_ids(receiver)) == ids and set(delivered_ids(receiver).values()) == {1}
    assert {json.loads(r.body)["data"]["studyInstanceUID"] for r in receiver.requests} == set(studies)
    poll_until(lambda: not any(e["pending"] for e in outbox(svc, tenant)), what="every event marked published")

    # The same events published again (as a publish whose mark was lost would be): the delivery
    # function creates each (event, endpoint) delivery once, so the first receiver gets nothing
    # more. A receiver registered now is decided in the same fan-out and proves the pushes came.
    second = make_receiver()
    for event in recorded:
        svc.metadata.update(f"tenants/{tenant.id}/outbox/{event['id']}", {"pending": True})
    sweep_until(stack, lambda: len(delivered_ids(second)) >= 4, timeout=60, what="the republished events")
    assert set(delivered_ids(second)) == ids
    assert set(delivered_ids(receiver)) == ids and set(delivered_ids(receiver).values()) == {1}


def test_an_event_committed_by_a_killed_request_is_published_by_the_sweep(stack, api, svc, tenant, make_receiver,
                                                                          restore):
    receiver = make_receiver()
    study = stow_study(api, tenant, instances=1)
    sweep_events(stack)
    # With Pub/Sub down a publish waits (5 s) before giving up: the requests below are held
    # between their commit and their publish, where the gateway is killed.
    stack.process("pubsub").stop()
    poll_until(lambda: settled(svc, tenant, study), timeout=30, what="the settle window")
    calls = [
        threading.Thread(target=lambda: _ignore_crash(lambda: api.post("/v1/shares", **share_request(tenant, study)))),
        threading.Thread(target=lambda: _ignore_crash(lambda: sweep_events(stack))),
    ]
    for call in calls:
        call.start()
    committed = poll_until(lambda: len(outbox(svc, tenant)) == 2 and outbox(svc, tenant), timeout=30,
                           what="the share's and the study's events committed")
    assert all(e["pending"] for e in committed)
    stack.process("gateway").kill()
    for call in calls:
        call.join(timeout=30)

    stack.restart("pubsub")
    stack.restart("gateway")
    sweep_until(stack, lambda: len(delivered_ids(receiver)) >= 2, timeout=90, what="both events delivered")
    assert set(delivered_ids(receiver)) == {e["id"] for e in committed}
    assert set(delivered_ids(receiver).values()) == {1}
    # The share the killed request created stands, with the event that reports it.
    share_id = next(e["data"]["shareId"] for e in committed if e["type"] == STUDY_SHARED)
    assert api.get(f"/v1/shares/{share_id}", headers=tenant.headers).json()["studyId"] == study
    received = next(json.loads(r.body) for r in receiver.requests if r.headers["X-BeamIt-Event"] == STUDY_RECEIVED)
    assert received["data"]["studyInstanceUID"] == study and received["data"]["instanceCount"] == 1


def _ignore_crash(call) -> None:
    """Run a request the test is about to cut off by killing the gateway."""
    try:
        call()
    except (requests.ConnectionError, AssertionError):
        pass
