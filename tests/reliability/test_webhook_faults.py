"""Faults on the way to a webhook receiver: the receiver answers 500, resets the connection,
times out or is down for the whole retry schedule; the gateway worker running a delivery is
killed; Pub/Sub stops while a request publishes. Every event ends delivered exactly once per
endpoint (with the same ``webhook-id`` on every attempt) or in the dead-letter log
(``status=failed``), and the scan's ``event-not-delivered`` is clean.

The retry schedule runs on a simulated clock: each scheduled retry is brought forward
(:func:`tests.webhook_receiver.make_due`) and the ``webhook-retry`` function ticked as Cloud
Scheduler would, so 11 attempts over 72 hours take seconds.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import timedelta

import pytest

from beamit.clock import utcnow
from beamit.consistency.scan import EVENT_STALL, check
from beamit.devstack.scheduler import tick
from beamit.events import STUDY_SHARED, publish_event
from beamit.events.outbox import OUTBOX
from beamit.storage import Query
from beamit.webhooks.schedule import MAX_ATTEMPTS
from beamit.webhooks.transport import ATTEMPT_TIMEOUT_SECONDS
from tests.reliability.faults import FaultResult, Stopwatch, kill_gateway_workers, paused
from tests.share_flow import create_share, store_ct
from tests.support import poll_until, sweep_until
from tests.webhook_receiver import Answer, Receiver, make_due

WEBHOOKS = "/v1/webhooks"


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def violations(svc, tenant, *, later: bool = False) -> dict[str, int]:
    """The scan now, or ``later``: past every grace, as if nothing happened meanwhile."""
    now = utcnow() + EVENT_STALL + timedelta(minutes=11) if later else None
    return dict(check(svc, tenants=[tenant.id], grace=timedelta(0), now=now).violations)


def findings(svc, tenant) -> list[tuple[str, str, str]]:
    """What the scan past every grace found, for a failure's message."""
    report = check(svc, tenants=[tenant.id], grace=timedelta(0), now=utcnow() + EVENT_STALL + timedelta(minutes=11))
    return [(f.invariant, f.subject, f.detail) for f in report.tenants[0].findings]


def register(api, tenant, url: str) -> str:
    response = api.post(WEBHOOKS, json={"url": url, "events": [STUDY_SHARED]}, headers=tenant.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def the_delivery(api, tenant, endpoint: str, done=lambda d: True) -> dict:
    """The endpoint's one delivery, once ``done(delivery)`` holds (attempts are recorded after the answer)."""
    seen: list[dict] = []

    def reached() -> dict | None:
        response = api.get(f"{WEBHOOKS}/{endpoint}/deliveries", headers=tenant.headers)
        assert response.status_code == 200, response.text
        seen[:] = response.json()["data"]
        return seen[0] if len(seen) == 1 and done(seen[0]) else None

    return poll_until(reached, timeout=60, what=lambda: f"the delivery ({seen})")


def retry_until(stack, svc, api, tenant, endpoint: str, done) -> dict:
    """Run the retry schedule on the simulated clock until ``done(delivery)``."""
    for _ in range(MAX_ATTEMPTS + 1):
        delivery = the_delivery(api, tenant, endpoint, lambda d: d["status"] != "pending")
        if done(delivery):
            return delivery
        assert delivery["status"] == "retrying", delivery
        make_due(svc, tenant.id, delivery["id"])
        assert tick(stack, only=("webhook-retry",))["webhook-retry"] == 200
        the_delivery(api, tenant, endpoint, lambda d, n=delivery["attemptCount"]: d["attemptCount"] > n)
    raise AssertionError(f"the delivery did not end within {MAX_ATTEMPTS} attempts")


def event_ids(receiver: Receiver) -> Counter[str]:
    return Counter(r.headers["webhook-id"] for r in receiver.requests)


@pytest.mark.parametrize("fault", ["500", "reset"])
def test_a_failing_receiver_gets_the_event_once_it_recovers(stack, svc, api, tenant, receiver, record, fault):
    """Three attempts answered 500 (or reset by the receiver), then it recovers: the fourth
    attempt succeeds, every attempt carried the same event."""
    names = {"500": "answers 500", "reset": "resets the connection (TCP RST)"}
    result, clock = FaultResult(f"webhook receiver {names[fault]} on 3 attempts, then recovers"), Stopwatch()
    endpoint = register(api, tenant, receiver.url)
    receiver.fail(3) if fault == "500" else receiver.reset(3)
    event = publish_event(svc, tenant.id, STUDY_SHARED, {"studyInstanceUID": "1.2.826.0.1.21.1"})
    first = the_delivery(api, tenant, endpoint, lambda d: d["attemptCount"] == 1)
    result.client = f"attempt 1: {first['attempts'][0]['error']}"
    assert first["status"] == "retrying"
    errors = {"500": "HTTP 500", "reset": "connection error: Connection reset by peer"}
    assert first["attempts"][0]["error"] == errors[fault]
    result.before = violations(svc, tenant)
    done = retry_until(stack, svc, api, tenant, endpoint, lambda d: d["status"] == "succeeded")
    result.retry = f"{done['attemptCount']} attempts, {done['status']}"
    assert done["attemptCount"] == 4 and [a["statusCode"] for a in done["attempts"]][-1] == 200
    assert event_ids(receiver) == {event: 4}
    result.after = violations(svc, tenant, later=True)
    result.seconds = clock.seconds
    record(result)
    assert result.after == {}


def test_a_receiver_down_for_the_whole_retry_schedule(stack, svc, api, tenant, record):
    """Nothing listens at the endpoint for 11 attempts over 72 simulated hours: the delivery
    ends ``failed`` (the dead-letter log), not lost, and a redelivery from the log reaches the
    receiver once it is back."""
    result, clock = FaultResult(f"webhook receiver down for the whole retry schedule ({MAX_ATTEMPTS} attempts, "
                                "simulated clock)"), Stopwatch()
    gone = Receiver()
    url = gone.url
    gone.close()  # connection refused from now on
    endpoint = register(api, tenant, url)
    event = publish_event(svc, tenant.id, STUDY_SHARED, {"studyInstanceUID": "1.2.826.0.1.21.2"})
    failed = retry_until(stack, svc, api, tenant, endpoint, lambda d: d["status"] == "failed")
    result.client = f"{failed['attemptCount']} attempts refused, delivery {failed['status']}"
    assert failed["attemptCount"] == MAX_ATTEMPTS and failed["nextAttemptAt"] is None
    dead = api.get(f"{WEBHOOKS}/{endpoint}/deliveries", params={"status": "failed"}, headers=tenant.headers).json()
    assert [d["eventId"] for d in dead["data"]] == [event]
    report = check(svc, tenants=[tenant.id], grace=timedelta(0), now=utcnow() + EVENT_STALL + timedelta(minutes=11))
    assert report.clean and report.tenants[0].counts["deliveriesDeadLettered"] == 1
    result.before = dict(report.violations)
    result.notes.append("in the dead-letter log (deliveries?status=failed); scan counts it dead-lettered")

    back = Receiver()
    try:
        moved = api.request("PATCH", f"{WEBHOOKS}/{endpoint}", json={"url": back.url}, headers=tenant.headers)
        assert moved.status_code == 200, moved.text
        redone = api.post(f"{WEBHOOKS}/{endpoint}/deliveries/{failed['id']}/redeliver", headers=tenant.headers)
        result.retry = f"redelivered from the log: {redone.status_code} {redone.json().get('status')}"
        assert redone.status_code == 200 and redone.json()["status"] == "succeeded", redone.text
        assert event_ids(back) == {event: 1}
    finally:
        back.close()
    result.after = violations(svc, tenant, later=True)
    result.seconds = clock.seconds
    record(result)
    assert result.after == {}


def test_worker_killed_during_a_webhook_delivery(stack, svc, api, tenant, receiver, record):
    """The gateway worker making a delivery's first attempt is killed while the receiver holds
    the request: Pub/Sub redelivers the push, which finds the delivery recorded and adds none;
    the delivery's lease ends (simulated) and the retry function attempts it again. The receiver
    sees the event twice with the same ``webhook-id`` (its first answer was never read), the
    delivery succeeds, and the scan finds it overdue only while it was stuck."""
    result, clock = FaultResult("SIGKILL of the gateway workers during a webhook delivery's first attempt"), \
        Stopwatch()
    receiver.answers.append(Answer(delay=5))
    endpoint = register(api, tenant, receiver.url)
    event = publish_event(svc, tenant.id, STUDY_SHARED, {"studyInstanceUID": "1.2.826.0.1.21.3"})
    receiver.wait_for(1)
    kill_gateway_workers(stack)
    stuck = the_delivery(api, tenant, endpoint)
    result.client = f"delivery {stuck['status']}, {stuck['attemptCount']} attempts recorded"
    assert stuck["status"] == "pending" and stuck["attemptCount"] == 0
    result.before = violations(svc, tenant, later=True)
    assert result.before == {"event-not-delivered": 1}  # were it never picked up again
    make_due(svc, tenant.id, stuck["id"])  # its 2-minute lease ends
    assert tick(stack, only=("webhook-retry",))["webhook-retry"] == 200
    done = the_delivery(api, tenant, endpoint, lambda d: d["status"] == "succeeded")
    result.retry = f"lease ended: {done['attemptCount']} attempt, {done['status']}"
    assert event_ids(receiver) == {event: 2}
    assert len({r.headers["X-BeamIt-Delivery"] for r in receiver.requests}) == 1
    result.after = violations(svc, tenant, later=True)
    result.seconds = clock.seconds
    record(result)
    assert result.after == {}


@pytest.mark.reliability_full
def test_a_receiver_that_times_out(stack, svc, api, tenant, receiver, record):
    """The receiver holds the first attempt past the 10 s attempt timeout: the attempt is a
    timeout, the retry succeeds, the receiver saw the same event twice."""
    result, clock = FaultResult(f"webhook receiver answers after {ATTEMPT_TIMEOUT_SECONDS + 2:.0f} s "
                                f"(attempt timeout {ATTEMPT_TIMEOUT_SECONDS:.0f} s), then recovers"), Stopwatch()
    receiver.answers.append(Answer(delay=ATTEMPT_TIMEOUT_SECONDS + 2))
    endpoint = register(api, tenant, receiver.url)
    event = publish_event(svc, tenant.id, STUDY_SHARED, {"studyInstanceUID": "1.2.826.0.1.21.4"})
    first = the_delivery(api, tenant, endpoint, lambda d: d["attemptCount"] == 1)
    result.client = f"attempt 1: {first['attempts'][0]['error']}"
    assert first["status"] == "retrying" and first["attempts"][0]["statusCode"] is None
    assert first["attempts"][0]["error"] == "timeout: no answer within the attempt timeout"
    done = retry_until(stack, svc, api, tenant, endpoint, lambda d: d["status"] == "succeeded")
    result.retry = f"{done['attemptCount']} attempts, {done['status']}"
    assert done["attemptCount"] == 2 and event_ids(receiver) == {event: 2}
    result.after = violations(svc, tenant, later=True)
    result.seconds = clock.seconds
    record(result)
    assert result.after == {}


@pytest.mark.reliability_full
def test_pubsub_stopped_while_a_share_is_published(stack, svc, api, tenant, receiver, record):
    """The Pub/Sub emulator stops answering (SIGSTOP) for 10 s while a share is created: the
    request gives up publishing after its 5 s timeout and answers 201 (the event waits in the
    outbox); once Pub/Sub is back, the event sweep publishes it. The receiver gets it once,
    whether or not the request's own publish also went through late."""
    result, clock = FaultResult("Pub/Sub emulator stopped for 10 s while a share creation publishes its event"), \
        Stopwatch()
    study = store_ct(api, tenant, seed=66, slices=1)
    register(api, tenant, receiver.url)
    with paused(stack, "pubsub"):
        started = utcnow()
        share = create_share(api, tenant, study.uid)
        answered = (utcnow() - started).total_seconds()
        result.client = f"201 in {answered:.1f} s"
        outbox = svc.metadata.query(Query(tenant.scope.collection(OUTBOX)))
        assert [r.data["pending"] for r in outbox] == [True]
        result.before = violations(svc, tenant, later=True)
        assert result.before == {"event-not-delivered": 1}  # were the sweep never to run
        time.sleep(max(0.0, 10 - (utcnow() - started).total_seconds()))
    sweep_until(stack, lambda: receiver.requests, timeout=60, what="the event published by the sweep")
    (request,) = receiver.wait_for(1)
    assert json.loads(request.body)["data"]["shareId"] == share["id"]
    poll_until(lambda: not violations(svc, tenant, later=True), timeout=30,
               what=lambda: f"a clean scan (last: {findings(svc, tenant)})")
    result.retry = "not needed: the sweep published it"
    assert len(event_ids(receiver)) == 1 and set(event_ids(receiver).values()) == {1}
    result.after = violations(svc, tenant, later=True)
    result.seconds = clock.seconds
    record(result)
    assert result.after == {}
