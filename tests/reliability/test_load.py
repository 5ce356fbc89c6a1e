"""Bounded loopback load: several tenants' mixed traffic at once, then the invariants.

Each client is a thread with its own HTTP session, bound to one tenant, drawing operations by
weight until the run's time is up: STOW-RS of small CT series, QIDO-RS searches, WADO-RS
metadata and frames, share creations and opens of the share links, webhook registrations. The
bar: no 5xx, a clean consistency scan of every tenant afterwards, and every event the load
caused announced, published and fanned out (the time that takes is reported).
"""

from __future__ import annotations

import random
import statistics
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
import requests

from beamit.bench.memory import children, read_status
from beamit.consistency.scan import check
from beamit.devstack.scheduler import tick
from beamit.events.arrivals import next_settle_time
from beamit.events.outbox import OUTBOX
from beamit.sandbox import Kind, SandboxConfig, generate_study, part10_bytes
from beamit.storage import Filter, Query
from beamit.webhooks.deliveries import DELIVERIES, PENDING, RETRYING, SUCCEEDED
from beamit.webhooks.endpoints import WEBHOOKS
from tests.dicom_samples import multipart
from tests.reliability.faults import gateway_master
from tests.reliability.report import LoadFigures, OperationFigures
from tests.share_flow import random_phone
from tests.support import TenantCredentials, client_session, new_tenant, sweep_until
from tests.webhook_receiver import Receiver, make_due


@dataclass
class Tenant:
    credentials: TenantCredentials
    study: str
    series: str
    instances: list[str]
    share_codes: list[str]
    lock: threading.Lock


def _store(base: str, tenant: TenantCredentials, seed: int, index: int, slices: int) -> tuple[str, str, list[str]]:
    study = generate_study(seed, index, SandboxConfig(kinds=(Kind.CT,), scale=0.125, ct_slices=slices))
    datasets = list(study.datasets())
    body, content_type = multipart([part10_bytes(ds) for ds in datasets])
    response = requests.post(f"{base}/v1/dicomweb/studies", data=body, timeout=120,
                             headers={**tenant.headers, "Content-Type": content_type})
    assert response.status_code == 200, response.text
    return study.study_uid, str(datasets[0].SeriesInstanceUID), [str(ds.SOPInstanceUID) for ds in datasets]


def _rss_mib(stack) -> float:
    master = gateway_master(stack)
    total = 0
    for pid in [master, *children(master)]:
        try:
            total += read_status(pid).rss_kib
        except OSError:
            continue
    return total / 1024


class Client(threading.Thread):
    def __init__(self, number: int, base: str, tenant: Tenant, until: float, max_requests: int,
                 record: Callable[[str, str, float], None], hooks: str) -> None:
        super().__init__(daemon=True)
        self.number, self.base, self.tenant, self.until, self.left = number, base, tenant, until, max_requests
        self.hooks = hooks
        self.registrations = 0
        self.record = record
        self.session = client_session()  # its own client IP (per-IP throttles count the socket's address)
        self.random = random.Random(number)
        self.stores = 0

    def call(self, name: str, method: str, path: str, **kwargs: object) -> requests.Response | None:
        started = time.perf_counter()
        try:
            response = self.session.request(method, self.base + path, timeout=120, **kwargs)  # type: ignore[arg-type]
            status = str(response.status_code)
        except requests.RequestException as exc:
            response, status = None, type(exc).__name__
        self.record(name, status, (time.perf_counter() - started) * 1000)
        self.left -= 1
        return response

    def run(self) -> None:
        operations: list[tuple[Callable[[], None], int]] = [
            (self.search, 25), (self.metadata, 15), (self.frame, 30), (self.store, 8), (self.share, 6),
            (self.open_share, 10), (self.webhook, 3), (self.search_by_uid, 3)]
        functions, weights = zip(*operations)
        while time.monotonic() < self.until and self.left > 0:
            self.random.choices(functions, weights)[0]()

    @property
    def headers(self) -> dict[str, str]:
        return self.tenant.credentials.headers

    def search(self) -> None:
        letter = self.random.choice("ABCDEFGHIJKLMNOPRSTW")
        self.call("QIDO-RS studies (PatientName wildcard)", "GET", "/v1/dicomweb/studies",
                  params={"PatientName": f"{letter}*", "limit": "20"}, headers=self.headers)

    def search_by_uid(self) -> None:
        self.call("QIDO-RS instances of a series", "GET",
                  f"/v1/dicomweb/studies/{self.tenant.study}/series/{self.tenant.series}/instances",
                  headers=self.headers)

    def metadata(self) -> None:
        self.call("WADO-RS series metadata", "GET",
                  f"/v1/dicomweb/studies/{self.tenant.study}/series/{self.tenant.series}/metadata",
                  headers={**self.headers, "Accept": "application/dicom+json"})

    def frame(self) -> None:
        sop = self.random.choice(self.tenant.instances)
        self.call("WADO-RS frame", "GET",
                  f"/v1/dicomweb/studies/{self.tenant.study}/series/{self.tenant.series}/instances/{sop}/frames/1",
                  headers={**self.headers, "Accept": 'multipart/related; type="application/octet-stream"'})

    def store(self) -> None:
        self.stores += 1
        study = generate_study(9000 + self.number, self.stores, SandboxConfig(kinds=(Kind.CT,), scale=0.125,
                                                                              ct_slices=4))
        body, content_type = multipart([part10_bytes(ds) for ds in study.datasets()])
        self.call("STOW-RS (4 instances)", "POST", "/v1/dicomweb/studies", data=body,
                  headers={**self.headers, "Content-Type": content_type})

    def share(self) -> None:
        response = self.call("share creation", "POST", "/v1/shares", headers=self.headers, json={
            "studyId": self.tenant.study, "recipientPhone": random_phone(), "message": "Your images",
            "expiresIn": "1d"})
        if response is not None and response.status_code == 201:
            with self.tenant.lock:
                self.tenant.share_codes.append(response.json()["shareCode"])

    def open_share(self) -> None:
        with self.tenant.lock:
            codes = list(self.tenant.share_codes)
        if codes:
            self.call("share link opened", "GET", f"/s/{self.random.choice(codes)}")

    def webhook(self) -> None:
        # One receiver path per endpoint, so what arrived is told apart by (path, webhook-id).
        self.registrations += 1
        self.call("webhook registration", "POST", "/v1/webhooks", headers=self.headers, json={
            "url": f"{self.hooks}/{self.number}/{self.registrations}", "events": ["study.received"]})


def run_load(stack, svc, receiver: Receiver, *, clients: int, tenants: int, seconds: float,
             max_requests: int) -> LoadFigures:
    base = stack.url
    prepared = []
    for index in range(tenants):
        credentials = new_tenant(svc)
        study, series, instances = _store(base, credentials, 8800 + index, 0, 8)
        prepared.append(Tenant(credentials, study, series, instances, [], threading.Lock()))
    samples: dict[str, list[float]] = defaultdict(list)
    statuses: dict[str, Counter[str]] = defaultdict(Counter)
    lock = threading.Lock()

    def record(name: str, status: str, ms: float) -> None:
        with lock:
            samples[name].append(ms)
            statuses[name][status] += 1

    rss_start = _rss_mib(stack)
    until = time.monotonic() + seconds
    threads = [Client(n, base, prepared[n % tenants], until, max_requests // clients, record, receiver.url)
               for n in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 180)
    elapsed = time.monotonic() - started
    rss_end = _rss_mib(stack)
    report = check(svc, tenants=[t.credentials.id for t in prepared], grace=timedelta(0))
    drain = _drain_events(stack, svc, [t.credentials for t in prepared])
    received = Counter((r.path, r.headers["webhook-id"]) for r in receiver.requests)
    operations = {}
    for name, values in samples.items():
        ordered = sorted(values)
        errors = {s: n for s, n in statuses[name].items() if not s.startswith("2")}
        operations[name] = OperationFigures(
            count=len(values), errors=errors, p50_ms=statistics.median(ordered),
            p95_ms=ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
            p99_ms=ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))])
    total: Counter[str] = Counter()
    for counter in statuses.values():
        total.update(counter)
    return LoadFigures(clients, tenants, elapsed, operations, dict(total), (rss_start, rss_end),
                       dict(report.violations), drain.events, drain.deliveries, drain.not_succeeded,
                       len(received), sum(n - 1 for n in received.values()), drain.seconds,
                       drain.retried, drain.first_errors)


@dataclass
class Drain:
    events: int
    deliveries: int
    not_succeeded: int
    retried: int
    """Deliveries whose first attempt failed (their errors: ``first_errors``) and that a retry delivered."""
    first_errors: dict[str, int]
    seconds: float


def _drain_events(stack, svc, tenants: list[TenantCredentials], timeout: float = 600) -> Drain:
    """Tick the event sweep until every study the load stored is announced, every event of its
    tenants is published and fanned out, and every delivery has reached the receiver (the
    webhook-delivery function works through the backlog the load left). A delivery whose
    attempt failed is retried on the simulated clock: brought forward, ``webhook-retry`` ticked."""
    started = time.monotonic()
    waiting = (Filter("fannedOut", "==", False),)

    def unconfirmed() -> int:
        return sum(len(svc.metadata.query(Query(t.scope.collection(OUTBOX), filters=waiting))) for t in tenants)

    def deliveries() -> list[tuple[str, str, dict]]:
        return [(t.id, d.id, d.data) for t in tenants for e in svc.metadata.query(Query(t.scope.collection(WEBHOOKS)))
                for d in svc.metadata.query(Query(f"{e.path}/{DELIVERIES}"))]

    def drained() -> bool:
        if next_settle_time(svc) is not None or unconfirmed():
            return False
        retrying = [(tenant, delivery) for tenant, delivery, data in deliveries() if data.get("status") == RETRYING]
        for tenant, delivery in retrying:
            make_due(svc, tenant, delivery)
        if retrying:
            assert tick(stack, only=("webhook-retry",))["webhook-retry"] == 200
        return all(data.get("status") not in (PENDING, RETRYING) for _, _, data in deliveries())

    sweep_until(stack, drained, timeout=timeout, what=lambda: f"{unconfirmed()} events not fanned out, "
                f"{Counter(data.get('status') for _, _, data in deliveries())} deliveries")
    seconds = time.monotonic() - started
    records = [data for _, _, data in deliveries()]
    first_errors = Counter(str(d["attempts"][0].get("error") or d["attempts"][0].get("status"))
                           for d in records if len(d.get("attempts", [])) > 1)
    events = sum(len(svc.metadata.query(Query(t.scope.collection(OUTBOX)))) for t in tenants)
    return Drain(events, len(records), sum(d.get("status") != SUCCEEDED for d in records),
                 sum(first_errors.values()), dict(first_errors), seconds)


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def assert_held(figures: LoadFigures) -> None:
    assert figures.server_errors == 0, figures.statuses
    assert figures.violations == {}, figures.violations
    # Every event the load caused reached every endpoint subscribed to it; a second copy only
    # where an attempt failed and was retried (at-least-once, the same webhook-id).
    assert figures.deliveries_not_succeeded == 0 and figures.received == figures.deliveries, figures
    assert figures.received_twice <= figures.deliveries_retried, figures


def test_bounded_load(stack, svc, record_load, receiver):
    """The subset make test runs: 8 clients, 2 tenants, 15 s."""
    figures = run_load(stack, svc, receiver, clients=8, tenants=2, seconds=15, max_requests=2000)
    record_load(figures)
    assert figures.requests > 50
    assert_held(figures)


@pytest.mark.reliability_full
def test_load(stack, svc, record_load, receiver):
    """32 clients, 4 tenants, 2 minutes (at most 20,000 requests)."""
    figures = run_load(stack, svc, receiver, clients=32, tenants=4, seconds=120, max_requests=20_000)
    record_load(figures)
    assert_held(figures)
