"""The event sweep's passes, on an in-memory store: one pass, or a watch that announces a study
as its window ends within the run."""

from __future__ import annotations

import time
from datetime import timedelta

from beamit.catalog import fields as f
from beamit.clock import utcnow
from beamit.events import STUDY_SHARED, Event, outbox
from beamit.events.sweep import sweep_events
from beamit.settings import load_settings
from beamit.storage import Services
from beamit.tenancy import TenantScope
from tests.memory_store import MemoryStore
from tests.unit.events.test_outbox import FakeBus

ACME = TenantScope("acme-health")


def services(bus, **env):
    settings = load_settings({"BEAMIT_STUDY_SETTLE_SECONDS": "2", "BEAMIT_OUTBOX_GRACE_SECONDS": "1", **env})
    return Services(settings=settings, blobs=None, metadata=MemoryStore(), events=bus, keys=None)


def arrive(svc, uid, ago):
    svc.metadata.set(f.study_path(ACME, uid), {
        f.STUDY_UID: uid, f.DICOM: {}, f.MODALITIES: ["MR"], f.INSTANCE_COUNT: 4, f.SERIES_COUNT: 1,
        f.LAST_ARRIVAL_AT: utcnow() - timedelta(seconds=ago), f.ANNOUNCE_PENDING: True})


def test_one_pass_publishes_leftovers_and_settled_studies():
    bus = FakeBus()
    svc = services(bus)
    left = Event.new(ACME.tenant_id, STUDY_SHARED, {"shareId": "share_1"}, at=utcnow() - timedelta(seconds=5))
    svc.metadata.commit([outbox.record(left)])
    arrive(svc, "1.1", ago=3)
    arrive(svc, "1.2", ago=0)
    assert sweep_events(svc, watch_seconds=0) == {"passes": 1, "recovered": 1, "announced": 1, "published": 1}
    assert [a["eventId"] for _, a in bus.published][0] == left.id
    assert [a["type"] for _, a in bus.published] == [STUDY_SHARED, "study.received"]


def test_while_pubsub_is_down_a_pass_tries_one_publish():
    bus = FakeBus()
    svc = services(bus)
    left = Event.new(ACME.tenant_id, STUDY_SHARED, {"shareId": "share_2"}, at=utcnow() - timedelta(seconds=5))
    svc.metadata.commit([outbox.record(left)])
    arrive(svc, "1.4", ago=3)
    bus.down = True
    calls = []
    publish_many = bus.publish_many
    bus.publish_many = lambda *a, **k: calls.append(1) or publish_many(*a, **k)
    assert sweep_events(svc, watch_seconds=0) == {"passes": 1, "recovered": 0, "announced": 1, "published": 0}
    assert len(calls) == 1  # the announced event waits for the next pass, not for a second timeout
    bus.down = False
    assert sweep_events(svc, watch_seconds=0)["recovered"] >= 1
    assert left.id in [attributes["eventId"] for _, attributes in bus.published]


def test_a_run_that_watches_announces_a_study_as_it_settles():
    bus = FakeBus()
    svc = services(bus)
    arrive(svc, "1.3", ago=1)  # settles in about a second, within the run
    started = time.monotonic()
    summary = sweep_events(svc, watch_seconds=2.5)
    assert summary["announced"] == 1 and summary["passes"] >= 2
    assert time.monotonic() - started < 2.5 + 1  # the run ends on time


def test_terraform_schedules_the_sweep_every_minute():
    """Cloud Scheduler runs event-sweep every minute (its job comes from platform.json), long
    enough for a run's watch, with grants to read the outbox and catalog and to publish."""
    from tests.infra import terraform_model as tm

    manifest = tm.load_manifest_json()
    (sweep,) = [fn for fn in manifest["functions"] if fn["name"] == "event-sweep"]
    assert sweep["trigger"] == {"type": "scheduler", "schedule": "* * * * *"}
    assert sweep["timeoutSeconds"] >= load_settings({}).event_sweep_watch_seconds + 60
    tf = tm.parse_terraform()
    assert tm.check_triggers(manifest, tf) == []
    assert tm.check_functions(manifest, tf) == []
