"""Study events: from a study's last STOW-RS response to its "study has arrived" event.

Each server gets the same :attr:`~beamit.bench.modes.BenchMode.event_studies` small CT studies
(:data:`SLICES` slices each, sent in :data:`REQUESTS` STOW-RS requests, one study after the
other); the time is from the response to a study's last request to the arrival of its event at
a receiver on loopback in this process, p50 and p95.

- BeamIt: ``study.received`` to a webhook endpoint of the bench tenant. The stack's settle
  window is :data:`SETTLE_SECONDS` (production: 30 s) and the ``event-sweep`` function runs as
  deployed: called every 60 s (Cloud Scheduler's period, by a thread here), each run watching
  50 s (:data:`STACK_ENV`). The delay is the window, the sweep's pass (it wakes when the
  earliest pending study settles) and the delivery (the events topic, ``webhook-delivery``).
- Orthanc: its own notion of the same thing, a "stable study" (no new instance for
  ``StableAge`` seconds, set to the same window), delivered by a Lua ``OnStableStudy``
  callback that POSTs the StudyInstanceUID to the receiver (:data:`ORTHANC_LUA`). Only studies
  with :data:`MARKER` as their description are posted.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import partial

import requests
from pydicom.dataset import Dataset

from beamit.bench import workload
from beamit.bench.budget import Deadline
from beamit.bench.context import BenchContext
from beamit.bench.peers import Peer, call, failure_cell
from beamit.bench.receiver import BEAMIT_PATH, ORTHANC_PATH, EventReceiver
from beamit.bench.report import Better, Cell, Measure, Row, format_cell
from beamit.bench.stats import LatencySummary

SETTLE_SECONDS = 2
SWEEP_EVERY_SECONDS = 60.0
SWEEP_WATCH_SECONDS = 50
STACK_ENV = {"BEAMIT_STUDY_SETTLE_SECONDS": str(SETTLE_SECONDS),
             "BEAMIT_EVENT_SWEEP_WATCH_SECONDS": str(SWEEP_WATCH_SECONDS)}
"""The bench stack's event settings: the short window, the sweep's watch as deployed."""
SLICES = 6
REQUESTS = 3
MARKER = "BEAMIT BENCH EVENTS"
EVENT_WAIT = 60.0
ORTHANC_LUA = """
function OnStableStudy(studyId, tags, metadata)
  if tags['StudyDescription'] == '%(marker)s' then
    HttpPost('%(url)s', tags['StudyInstanceUID'])
  end
end
"""


def orthanc_lua(receiver: EventReceiver) -> str:
    """The Lua script Orthanc runs (its configuration's ``LuaScripts``)."""
    return ORTHANC_LUA % {"marker": MARKER, "url": receiver.url(ORTHANC_PATH)}


StudyRequests = list[list[Dataset]]
"""One study as its STOW-RS requests (each a list of data sets)."""


def event_studies(start: int, count: int) -> list[StudyRequests]:
    """``count`` small CT studies (described by :data:`MARKER`), each as its STOW-RS requests."""
    studies = []
    for index in range(start, start + count):
        datasets = [workload.with_preamble(ds) for ds in workload.small_ct_study(index, SLICES).datasets()]
        for dataset in datasets:
            dataset.StudyDescription = MARKER
        size = -(-len(datasets) // REQUESTS)
        studies.append([datasets[i : i + size] for i in range(0, len(datasets), size)])
    return studies


class SweepTicker:
    """Cloud Scheduler for the bench: calls ``event-sweep`` now and every 60 s until stopped."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="event-sweep-ticker", daemon=True)
        self.failures: list[str] = []

    def __enter__(self) -> SweepTicker:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()

    def _run(self) -> None:
        started = time.monotonic()
        runs = 0
        while not self._stop.is_set():
            threading.Thread(target=self._call, daemon=True).start()  # a run lasts up to its watch
            runs += 1
            self._stop.wait(max(0.0, started + runs * SWEEP_EVERY_SECONDS - time.monotonic()))

    def _call(self) -> None:
        try:
            requests.post(self._url, json={}, timeout=SWEEP_EVERY_SECONDS * 2).raise_for_status()
        except requests.RequestException as exc:
            self.failures.append(str(exc))


def _latencies(peer: Peer, studies: list[StudyRequests], receiver: EventReceiver, path: str,
               deadline: Deadline) -> tuple[Cell, Cell]:
    client = peer.client()
    stored: dict[str, float] = {}
    for requests_of_study in studies:
        if deadline.expired():
            break
        for batch in requests_of_study:
            call(partial(client.store_instances, batch))
        stored[str(requests_of_study[0][0].StudyInstanceUID)] = time.time()
    arrived = receiver.wait_for(path, set(stored), deadline.within(EVENT_WAIT))
    if not arrived:
        return "no event arrived", None
    delays = [arrived[s] - stored[s] for s in stored if s in arrived]
    summary = LatencySummary.of(delays)
    missing = len(stored) - len(arrived)
    detail = f"n={summary.count}" + (f", {missing} never arrived" if missing else "")
    return Measure(summary.p50, "s", detail), Measure(summary.p95, "s")


def _register_webhook(ctx: BenchContext, url: str) -> None:
    response = requests.post(f"{ctx.stack.url}/v1/webhooks", json={"url": url, "events": ["study.received"]},
                             headers={"Authorization": f"Bearer {ctx.api_key}"}, timeout=30)
    response.raise_for_status()


def phase_events(ctx: BenchContext, seconds: float) -> None:
    deadline = ctx.deadline.within(seconds)
    receiver = ctx.event_receiver
    count = ctx.mode.event_studies
    ctx.findings.facts["study events"] = (
        f"{count} CT studies of {SLICES} slices, each in {REQUESTS} STOW-RS requests; quiet window "
        f"{SETTLE_SECONDS} s on both (BeamIt's production default is 30 s); BeamIt: study.received to a "
        f"webhook, event-sweep called every {SWEEP_EVERY_SECONDS:.0f} s and watching {SWEEP_WATCH_SECONDS} s, "
        f"as deployed; Orthanc: StableAge {SETTLE_SECONDS} s and a Lua OnStableStudy HttpPost"
    )
    p50: dict[str, Cell] = {}
    p95: dict[str, Cell] = {}
    runs: dict[str, Callable[[Deadline], tuple[Cell, Cell]]] = {
        "BeamIt": partial(_latencies, ctx.beamit, event_studies(workload.EVENT_STUDIES, count), receiver,
                          BEAMIT_PATH),
        "Orthanc": partial(_latencies, ctx.orthanc, event_studies(workload.EVENT_STUDIES + count, count), receiver,
                           ORTHANC_PATH),
    }
    for name, run in runs.items():
        bound = deadline.within(deadline.remaining() / 2 if name == "BeamIt" else deadline.remaining())
        try:
            if name == "BeamIt":
                _register_webhook(ctx, receiver.url(BEAMIT_PATH))
                with SweepTicker(f"{ctx.stack.url}/_triggers/event-sweep"):
                    p50[name], p95[name] = run(bound)
            else:
                p50[name], p95[name] = run(bound)
        except Exception as exc:
            p50[name] = p95[name] = failure_cell(exc)
            ctx.findings.note(f"{name}: the study event measurement failed: {exc}")
        print(f"  {name}: last STOW-RS -> study event p50 {format_cell(p50[name])}, p95 {format_cell(p95[name])}",
              flush=True)
    label = f"study event after its last STOW-RS ({count} studies, quiet {SETTLE_SECONDS} s)"
    ctx.findings.rows.append(Row(f"{label} p50", p50["BeamIt"], p50["Orthanc"], Better.LOWER))
    ctx.findings.rows.append(Row(f"{label} p95", p95["BeamIt"], p95["Orthanc"], Better.LOWER))
