"""study.received from study arrivals, on an in-memory store: when a study counts as settled,
what the event says (first arrival and updates), and that one announcement takes one arrival."""

from __future__ import annotations

from datetime import timedelta

import pytest

from beamit.catalog import fields as f
from beamit.catalog.arrivals import Arrival, take_settled
from beamit.catalog.repository import StudySummary
from beamit.clock import utcnow
from beamit.events import STUDY_RECEIVED, arrivals, outbox
from beamit.settings import load_settings
from beamit.storage import Services
from beamit.tenancy import TenantScope
from tests.memory_store import MemoryStore

ACME = TenantScope("acme-health")
DICOM = {"00080020": {"vr": "DA", "Value": ["20260220"]}, "00100020": {"vr": "LO", "Value": ["patient_xyz"]},
         "00081030": {"vr": "LO", "Value": ["CT ABDOMEN"]}, "00100010": {"vr": "PN", "Value": [{"Alphabetic": "X"}]}}


@pytest.fixture
def svc():
    settings = load_settings({"BEAMIT_STUDY_SETTLE_SECONDS": "30"})
    return Services(settings=settings, blobs=None, metadata=MemoryStore(), events=None, keys=None)


def arrive(svc, uid, *, ago, count, series=1, scope=ACME, announced=None):
    """A study record as ingest's commits leave it: last arrival ``ago`` seconds back."""
    record = {f.STUDY_UID: uid, f.DICOM: DICOM, f.MODALITIES: ["CT", "SR"] if series > 1 else ["CT"],
              f.INSTANCE_COUNT: count, f.SERIES_COUNT: series, f.LAST_ARRIVAL_AT: utcnow() - timedelta(seconds=ago),
              f.ANNOUNCE_PENDING: True}
    if announced is not None:
        record.update({f.ANNOUNCED_INSTANCE_COUNT: announced, f.ANNOUNCED_AT: utcnow() - timedelta(minutes=5)})
    svc.metadata.set(f.study_path(scope, uid), record)




def test_the_data_is_the_documented_fields_then_the_additions():
    study = StudySummary("1.2.3", DICOM, ("CT", "SR"), 300, 4)
    assert arrivals.study_received_data(Arrival(study, None)) == {
        "studyInstanceUID": "1.2.3", "studyDate": "20260220", "modality": "CT\\SR", "patientId": "patient_xyz",
        "instanceCount": 300, "studyDescription": "CT ABDOMEN", "seriesCount": 4, "modalities": ["CT", "SR"],
        "update": False, "previousInstanceCount": 0}
    update = arrivals.study_received_data(Arrival(study, 256))
    assert update["update"] is True and update["previousInstanceCount"] == 256 and update["instanceCount"] == 300


def test_only_studies_quiet_for_the_window_are_announced(svc):
    arrive(svc, "1.1", ago=31, count=300, series=2)
    arrive(svc, "1.2", ago=5, count=20)  # still arriving
    arrive(svc, "1.3", ago=45, count=7, scope=TenantScope("beta-clinic"))
    announced = arrivals.announce_settled_studies(svc, utcnow(), limit=1)
    assert sorted((e.tenant_id, e.data["studyInstanceUID"]) for e in announced) == [
        ("acme-health", "1.1"), ("beta-clinic", "1.3")]
    assert all(e.type == STUDY_RECEIVED for e in announced)
    first = next(e for e in announced if e.data["studyInstanceUID"] == "1.1")
    assert first.data["instanceCount"] == 300 and first.data["seriesCount"] == 2 and first.data["update"] is False
    # Recorded in the outbox (pending: the caller publishes), and the arrivals marked announced.
    recorded = svc.metadata.get(outbox.outbox_path("acme-health", first.id))
    assert recorded["pending"] is True and recorded["data"] == first.data
    study = svc.metadata.get(f.study_path(ACME, "1.1"))
    assert study[f.ANNOUNCE_PENDING] is False and study[f.ANNOUNCED_INSTANCE_COUNT] == 300
    # A second sweep finds nothing more; the next settle time is the study still arriving.
    assert arrivals.announce_settled_studies(svc, utcnow()) == []
    due = arrivals.next_settle_time(svc)
    assert due is not None and timedelta(seconds=20) < due - utcnow() <= timedelta(seconds=25)


def test_instances_after_the_announcement_give_one_update(svc):
    arrive(svc, "1.4", ago=40, count=17, announced=15)
    (update,) = arrivals.announce_settled_studies(svc, utcnow())
    assert update.data["update"] is True and update.data["previousInstanceCount"] == 15
    assert update.data["instanceCount"] == 17


def test_the_transaction_checks_the_arrival_again(svc):
    arrive(svc, "1.5", ago=40, count=3)
    now = utcnow()
    settled_by = now - timedelta(seconds=30)
    # New instances landed after the sweep's query: not settled any more.
    arrive(svc, "1.5", ago=1, count=4)
    assert svc.metadata.run_transaction(lambda txn: take_settled(txn, ACME, "1.5", settled_by, now)) is None
    # Settled: the first transaction takes it, a concurrent second finds it announced.
    arrive(svc, "1.6", ago=40, count=3)
    taken = svc.metadata.run_transaction(lambda txn: take_settled(txn, ACME, "1.6", settled_by, now))
    assert taken is not None and taken.study.instance_count == 3 and taken.previous_count is None
    assert svc.metadata.run_transaction(lambda txn: take_settled(txn, ACME, "1.6", settled_by, now)) is None
    # A study deleted meanwhile is not announced.
    assert svc.metadata.run_transaction(lambda txn: take_settled(txn, ACME, "9.9", settled_by, now)) is None
