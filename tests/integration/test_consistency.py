"""The consistency scan finds each broken invariant, and the sweep removes what abandoned
requests left behind (``beamit check``, ``beamit sweep``, the ``consistency-sweep`` function)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest

from beamit.audit.chain import EVENTS
from beamit.catalog import fields as catalog
from beamit.clock import utcnow
from beamit.consistency.scan import EVENT_STALL, check
from beamit.consistency.sweep import sweep_leftovers
from beamit.devstack.scheduler import tick
from beamit.events import outbox
from beamit.events.event import Event
from beamit.events.outbox import FANOUT_GRACE, OUTBOX
from beamit.ingest import layout
from beamit.shares.share import code_path, share_path
from beamit.storage import Query
from beamit.webhooks.deliveries import DELIVERIES, RETRYING
from beamit.webhooks.endpoints import create_endpoint, endpoint_path
from tests.share_flow import create_share, store_ct
from tests.support import TenantCredentials, poll_until

HOUR = timedelta(hours=1)


def scan(svc, tenant: TenantCredentials, grace: timedelta = HOUR, **kwargs):
    return check(svc, tenants=[tenant.id], grace=grace, **kwargs)


def _outbox(svc, tenant):
    return svc.metadata.query(Query(tenant.scope.collection(OUTBOX)))


def _all_fanned_out(svc, tenant):
    records = _outbox(svc, tenant)
    return records if records and all(r.data.get("fannedOut") is True for r in records) else None


@pytest.fixture
def stored(api, svc, tenant):
    """A stored and shared study whose events have reached the delivery function, so a scan
    "hours later" sees the settled state, not an event still on its way."""
    study = store_ct(api, tenant, seed=41, slices=3)
    create_share(api, tenant, study.uid)
    poll_until(lambda: _all_fanned_out(svc, tenant), what=lambda: [r.data for r in _outbox(svc, tenant)])
    return study


def test_a_stored_and_shared_study_is_clean(svc, tenant, stored):
    report = scan(svc, tenant)
    assert report.clean, report.to_json()
    counts = report.tenants[0].counts
    assert (counts["studies"], counts["series"], counts["instances"], counts["objects"]) == (1, 1, 3, 3)
    assert counts["shares"] == 1 and counts["shareCodes"] == 1 and counts["auditRecords"] >= 2


def test_each_broken_invariant_is_found(svc, tenant, stored):
    scope, dicom = tenant.scope, svc.settings.bucket("dicom")
    first, second, third = stored.instances
    orphan = layout.instance_object(tenant.id, stored.uid, stored.series, "1.2.826.0.1.9999")
    svc.blobs.put(dicom, orphan, b"DICM", content_type="application/dicom")
    assert scan(svc, tenant).clean  # young: a request may still commit it
    svc.blobs.delete(dicom, layout.instance_object(tenant.id, stored.uid, stored.series, first))
    series_path = catalog.series_path(scope, stored.series)
    svc.metadata.update(series_path, {catalog.INSTANCE_COUNT: 4})
    svc.metadata.update(catalog.series_members_path(scope, stored.series), {catalog.MEMBERS: [first, second]})
    instance = svc.metadata.get(catalog.instance_path(scope, third))
    terms = instance[catalog.TERMS]
    terms["keys"] = dict(list(terms["keys"].items())[1:])
    svc.metadata.update(catalog.instance_path(scope, third), {catalog.TERMS: terms})
    share = svc.metadata.query(Query(scope.collection("shares")))[0]
    svc.metadata.update(share.path, {"studies": ["1.2.826.0.1.404"]})
    svc.metadata.create(code_path("f" * 64), {"tenantId": tenant.id, "shareId": "share_" + "x" * 20,
                                               "state": "active", "createdAt": utcnow() - 2 * HOUR})
    record = svc.metadata.query(Query(scope.collection(EVENTS), limit=1))[0]
    svc.metadata.update(record.path, {"outcome": 599})

    report = scan(svc, tenant, grace=timedelta(0))
    assert dict(report.violations) == {
        "object-without-record": 1,
        "record-without-object": 1,
        "count-mismatch": 1,
        "child-list-mismatch": 1,
        "index-terms-mismatch": 1,
        "share-without-study": 1,
        "code-without-share": 1,
        "audit-chain": 1,
    }, report.to_json()
    subjects = {(f.invariant, f.subject) for f in report.tenants[0].findings}
    assert ("object-without-record", orphan) in subjects and ("record-without-object", first) in subjects
    assert ("count-mismatch", stored.series) in subjects and ("index-terms-mismatch", third) in subjects


def test_the_sweep_removes_only_leftovers_older_than_the_grace_period(svc, tenant, stored):
    dicom, derived = svc.settings.bucket("dicom"), svc.settings.bucket("derived")
    old_object = layout.instance_object(tenant.id, stored.uid, stored.series, "1.2.826.0.1.7001")
    chunk = layout.series_metadata_chunk(tenant.id, stored.uid, stored.series, "chunk_abandoned")
    svc.blobs.put(dicom, old_object, b"DICM", content_type="application/dicom")
    svc.blobs.put(derived, chunk, json.dumps([{"00080018": {"vr": "UI", "Value": ["1.2.826.0.1.7001"]}}]).encode(),
                  content_type="application/json")
    svc.metadata.create(code_path("e" * 64), {"tenantId": tenant.id, "shareId": "share_" + "y" * 20,
                                               "state": "active", "createdAt": utcnow()})

    assert sweep_leftovers(svc, tenants=[tenant.id]).removed == {}  # all younger than the 2-hour default
    later = utcnow() + 3 * HOUR
    assert dict(scan(svc, tenant, now=later).violations) == {"object-without-record": 1, "chunk-without-record": 1,
                                                             "code-without-share": 1}
    result = sweep_leftovers(svc, tenants=[tenant.id], now=later)
    assert result.removed == {tenant.id: 3}
    assert svc.blobs.stat(dicom, old_object) is None and svc.blobs.stat(derived, chunk) is None
    assert svc.metadata.get(code_path("e" * 64)) is None
    assert scan(svc, tenant, now=later).clean
    # The stored study is untouched, and the removal is in the tenant's audit trail.
    assert all(svc.blobs.stat(dicom, layout.instance_object(tenant.id, stored.uid, stored.series, sop))
               for sop in stored.instances)
    records = svc.metadata.query(Query(tenant.scope.collection(EVENTS)))
    (sweep,) = [r.data for r in records if r.data["action"] == "SWEEP leftovers"]
    assert sweep["principal"] == "system:consistency-sweep" and sweep["resources"]["instances"] == ["1.2.826.0.1.7001"]
    assert sweep["details"]["removedObjects"] == 2 and sweep["details"]["removedShareCodes"] == 1


def test_the_sweep_keeps_an_object_committed_since_the_scan(svc, tenant, stored):
    share = svc.metadata.query(Query(tenant.scope.collection("shares")))[0]
    assert svc.metadata.get(share_path(tenant.scope, share.id)) is not None
    # Every object of the stored study has its record: nothing to remove however old.
    assert sweep_leftovers(svc, tenants=[tenant.id], now=utcnow() + 3 * HOUR).removed == {}


def test_the_sweep_runs_on_the_scheduler(stack):
    assert tick(stack)["consistency-sweep"] == 200


def test_beamit_check_exits_1_on_a_violation(stack, svc, tenant, stored):
    env = {**os.environ, **stack.env}
    command = [sys.executable, "-m", "beamit.cli", "check", "--tenant", tenant.id, "--json"]
    clean = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert clean.returncode == 0, clean.stderr
    assert json.loads(clean.stdout)["clean"] is True
    orphan = layout.instance_object(tenant.id, stored.uid, stored.series, "1.2.826.0.1.8001")
    svc.blobs.put(svc.settings.bucket("dicom"), orphan, b"DICM", content_type="application/dicom")
    dirty = subprocess.run([*command, "--grace-seconds", "0"], env=env, capture_output=True, text=True, timeout=120)
    assert dirty.returncode == 1
    assert json.loads(dirty.stdout)["violations"] == {"object-without-record": 1}


def test_a_dropped_event_is_found_and_the_sweep_publishes_it_again(svc, tenant, stored):
    """Every event the stack published reaches the delivery function, which confirms it; one
    that Pub/Sub dropped (published, never confirmed), one never published, and a delivery
    whose retry is overdue are each ``event-not-delivered``; the event sweep publishes the
    dropped one again and the real delivery function confirms it."""
    records = poll_until(lambda: _all_fanned_out(svc, tenant), what=lambda: [r.data for r in _outbox(svc, tenant)])
    past_every_grace = utcnow() + FANOUT_GRACE + EVENT_STALL + timedelta(minutes=1)
    assert scan(svc, tenant, now=past_every_grace).clean

    dropped = records[0]
    svc.metadata.update(dropped.path, {"fannedOut": False})  # as if Pub/Sub dead-lettered its push
    never = Event.new(tenant.id, "share.expired", {"shareId": "share_" + "z" * 20})
    svc.metadata.commit([outbox.record(never)])  # as if the request and every sweep died before publishing
    receiver = create_endpoint(svc, tenant.scope, {"url": "https://receiver.example/hooks",
                                                   "events": ["share.expired"]}).endpoint
    stalled = "dlv_" + "b" * 24
    svc.metadata.create(f"{endpoint_path(tenant.scope, receiver.id)}/{DELIVERIES}/{stalled}", {
        "status": RETRYING, "nextAttemptAt": utcnow(), "createdAt": utcnow(), "eventId": never.id})

    assert scan(svc, tenant).clean  # each may still be on its way
    report = scan(svc, tenant, now=past_every_grace)
    assert dict(report.violations) == {"event-not-delivered": 3}, report.to_json()
    found = {f.subject: f.detail for f in report.tenants[0].findings}
    assert found == {dropped.id: "published, never fanned out", never.id: "never published",
                     stalled: "delivery retrying, its attempt overdue"}

    assert outbox.republish_unconfirmed(svc, utcnow() + FANOUT_GRACE) == 1
    poll_until(lambda: svc.metadata.get(dropped.path).get("fannedOut") is True, what="the republished event confirmed")
    subjects = {f.subject for f in scan(svc, tenant, now=past_every_grace).tenants[0].findings}
    assert dropped.id not in subjects and {never.id, stalled} <= subjects
