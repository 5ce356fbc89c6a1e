"""Events are never lost, and arrive once per endpoint, through faults of the local stack:

- the Pub/Sub emulator stopped while studies are stored and shared (every request succeeds; the
  events wait in the outbox) and started again: each event is delivered exactly once;
- the gateway killed (SIGKILL) while a request is held by the ``events.before-publish``
  failpoint (:mod:`beamit.failpoints`), after its commit and before its publish: a sweep run
  that announced a study, and a share creation. The next sweep publishes both.

Each test leaves the stack as it found it: processes restarted (the Pub/Sub emulator's topics and
push subscriptions provisioned again) and the test client's pooled connections dropped.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from pydicom.uid import generate_uid

from beamit.catalog import fields as catalog
from beamit.clock import utcnow
from beamit.events import STUDY_RECEIVED, STUDY_SHARED
from beamit.failpoints import EVENTS_BEFORE_PUBLISH, arm
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
    sweep_events(stack)  # what earlier tests left, so the runs below publish only this test's events
    failpoints = Path(stack.env["BEAMIT_FAILPOINT_DIR"])

    def killed_between_commit_and_publish(request) -> None:
        """Run ``request`` until a failpoint holds it after its commit, before its publish; then
        SIGKILL the gateway (master and workers) and start it again."""
        reached = arm(failpoints, EVENTS_BEFORE_PUBLISH)
        call = threading.Thread(target=_ignore_crash, args=(request,))
        call.start()
        poll_until(reached.exists, timeout=60, interval=0.05, what="the request held before its publish")
        stack.process("gateway").kill()
        call.join(timeout=30)
        stack.restart("gateway")
        api.session.close()  # its pooled connections went with the gateway

    # A sweep run that has just announced the study (its transaction recorded study.received) ...
    poll_until(lambda: settled(svc, tenant, study), timeout=30, what="the settle window")
    killed_between_commit_and_publish(lambda: sweep_events(stack))
    # ... and a share request that has just committed the share with its study.shared.
    killed_between_commit_and_publish(lambda: api.post("/v1/shares", **share_request(tenant, study)))
    committed = outbox(svc, tenant)
    assert sorted(e["type"] for e in committed) == [STUDY_RECEIVED, STUDY_SHARED]
    assert all(e["pending"] for e in committed) and receiver.requests == []

    # The next scheduled run publishes both; each is delivered once.
    sweep_until(stack, lambda: len(delivered_ids(receiver)) >= 2, timeout=60, what="both events delivered")
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
