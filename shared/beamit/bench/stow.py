"""STOW-RS (PS3.18 §10.5): throughput of a CT series in batches, and memory of single large requests.

Throughput: the same data sets (built before the clock starts) stored into each server by
``DICOMwebClient.store_instances``, :attr:`~beamit.bench.modes.BenchMode.stow_batch` per
request, one request at a time; instances/s and MB/s of Part 10 bytes. Each server first
stores a :data:`WARM_UP_SLICES`-slice series of another study, untimed, in
:data:`WARM_UP_SENDERS` requests at a time (every worker process warm): the phase runs first
on freshly started servers, and the emulators' JVMs (Firestore, Pub/Sub) spend their first
seconds compiling, which production services never charge to a request.

Memory: one STOW-RS request of ~100 MB and one of ~1 GB, the body made while it is sent
(chunked transfer coding, never held whole by the client); the peak resident memory of the
BeamIt gateway's gunicorn workers (children of the ``gateway`` process) and of the Orthanc
process during the request. The goal for BeamIt is flat memory: the same peak for both sizes.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import requests
from pydicom.dataset import Dataset

from beamit.bench import workload
from beamit.bench.budget import Deadline
from beamit.bench.context import BenchContext
from beamit.bench.memory import PeakRss, measure_peak_rss
from beamit.bench.peers import Peer, call, failure_cell
from beamit.bench.report import Better, Cell, Measure, Row
from beamit.bench.stats import rate

MB = 1e6
WARM_UP_SLICES = 100
WARM_UP_SENDERS = 4
PROFILE_SECONDS = 30.0
"""At most this long for the profiled repeat of the STOW-RS loop (about 3 s here)."""


def phase_stow(ctx: BenchContext, seconds: float) -> None:
    mode = ctx.mode
    deadline = ctx.deadline.within(seconds)
    datasets = workload.ct_datasets(workload.SERIES_STUDY, mode.ct_slices)
    sizes = [workload.encoded_size(ds) for ds in datasets]
    ctx.ct_study_uid = str(datasets[0].StudyInstanceUID)
    ctx.ct_series_uid = str(datasets[0].SeriesInstanceUID)
    ctx.ct_instance_uids = [str(ds.SOPInstanceUID) for ds in datasets]
    ctx.ct_bytes = sum(sizes)
    ctx.findings.facts["CT series"] = (
        f"{len(datasets)} slices of 512x512 16-bit CT, {ctx.ct_bytes / MB:.0f} MB, "
        f"STOW-RS in batches of {mode.stow_batch}"
    )
    ctx.findings.facts["STOW warm-up"] = (
        f"each server first stores a {WARM_UP_SLICES}-slice CT series of another study, untimed, "
        f"{WARM_UP_SENDERS} requests at a time (so every worker process of BeamIt's gateway has stored)"
    )
    warm_up = workload.ct_datasets(workload.WARM_UP_STUDY, WARM_UP_SLICES)
    ctx.warm_up_study_uid = str(warm_up[0].StudyInstanceUID)
    per_second: dict[str, Cell] = {}
    mb_per_second: dict[str, Cell] = {}
    for peer in ctx.peers:
        client = peer.client()
        try:
            warm_up_stow(peer, [warm_up[i : i + mode.stow_batch] for i in range(0, len(warm_up), mode.stow_batch)])
        except Exception as exc:
            ctx.findings.note(f"{peer.name}: the STOW warm-up failed: {exc}")
        stored = stored_bytes = 0
        try:
            with ctx.charged(peer, f"STOW {len(datasets)}-slice CT, batches of {mode.stow_batch}", "instance") as tally:
                started = time.perf_counter()
                for first in range(0, len(datasets), mode.stow_batch):
                    if deadline.expired():
                        ctx.findings.note(f"{peer.name}: STOW of the CT series stopped by its time budget")
                        break
                    batch = datasets[first : first + mode.stow_batch]
                    call(partial(client.store_instances, batch))
                    stored += len(batch)
                    tally.count = stored
                    stored_bytes += sum(sizes[first : first + mode.stow_batch])
                elapsed = time.perf_counter() - started
        except Exception as exc:
            per_second[peer.name] = mb_per_second[peer.name] = failure_cell(exc)
            ctx.findings.note(f"{peer.name}: STOW of the CT series failed: {exc}")
            continue
        per_second[peer.name] = Measure(rate(stored, elapsed), "inst/s", f"{stored} in {elapsed:.1f} s")
        mb_per_second[peer.name] = Measure(rate(stored_bytes / MB, elapsed), "MB/s")
        print(f"  {peer.name}: {stored} instances in {elapsed:.1f} s", flush=True)
    label = f"STOW {len(datasets)}-slice CT, batches of {mode.stow_batch}"
    _profile_stow(ctx, label, mode.ct_slices, mode.stow_batch, deadline)
    ctx.findings.rows.append(Row(f"{label}: instances/s", per_second["BeamIt"], per_second["Orthanc"], Better.HIGHER))
    ctx.findings.rows.append(Row(f"{label}: MB/s", mb_per_second["BeamIt"], mb_per_second["Orthanc"], Better.HIGHER))


def _profile_stow(ctx: BenchContext, label: str, slices: int, batch: int, deadline: Deadline) -> None:
    """Where BeamIt's CPU goes in the measured loop, from the same loop made again (another CT
    series of the same size, in the profile tenant) under py-spy."""
    datasets = workload.ct_datasets(workload.PROFILE_STUDY, slices)
    client = ctx.profiling.client()
    ctx.profile(ctx.profiling, label,
                (partial(call, partial(client.store_instances, datasets[i:i + batch]))
                 for i in range(0, len(datasets), batch)),
                min(PROFILE_SECONDS, deadline.remaining()))


def warm_up_stow(peer: Peer, batches: list[list[Dataset]]) -> None:
    """Store ``batches`` :data:`WARM_UP_SENDERS` at a time (each sender its own client), so that
    every worker process of the server has stored before the timed loop: one at a time, all of
    them went to one of the gateway's two gunicorn workers, and the other then paid its first
    use (imports, clients; about 0.4 s of CPU, cold start's share) inside the loop."""
    with ThreadPoolExecutor(WARM_UP_SENDERS) as pool:
        clients = [peer.client() for _ in range(WARM_UP_SENDERS)]
        list(pool.map(lambda k: [call(partial(clients[k].store_instances, batch))
                                 for batch in batches[k::WARM_UP_SENDERS]], range(WARM_UP_SENDERS)))


class NotFinished(RuntimeError):
    """A single large STOW-RS request did not finish within its time bound."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"not finished in {seconds:.0f} s")
        self.seconds = seconds


def _stow_streamed(peer: Peer, body: workload.StreamedStow, bound: Deadline) -> requests.Response:
    """POST the streamed body; a body cut by ``bound`` or an answer later than ``bound`` is :class:`NotFinished`."""
    started = time.perf_counter()
    try:
        response = requests.post(
            peer.dicomweb_url + "/studies",
            data=body.body(),
            headers={**peer.headers, "Content-Type": body.content_type},
            timeout=(10, max(5.0, bound.remaining())),
        )
    except requests.Timeout:
        raise NotFinished(time.perf_counter() - started) from None
    if body.cut:
        raise NotFinished(time.perf_counter() - started)
    response.raise_for_status()
    return response


def _memory_cell(peaks: list[PeakRss]) -> Cell:
    if not peaks:
        return "no process to read"
    worst = max(peaks, key=lambda p: p.growth_mib)
    return Measure(worst.growth_mib, "MiB", f"{worst.before_mib:.0f} -> {worst.peak_mib:.0f} MiB")


def _big_stow(ctx: BenchContext, peer: Peer, number: int, slices: int, bound: Deadline) -> tuple[Cell, Cell, float]:
    """One large request to ``peer``: (MB/s, memory growth, seconds taken)."""
    body = workload.StreamedStow(workload.ct_study(workload.BIG_STOW_STUDIES + number, slices), bound)
    pids = peer.memory_pids()
    started = time.perf_counter()
    try:
        _, peaks = measure_peak_rss(pids, partial(call, partial(_stow_streamed, peer, body, bound)))
    except NotFinished as exc:
        ctx.findings.note(f"{peer.name}: the {slices}-slice STOW-RS request was abandoned after {exc.seconds:.0f} s "
                          f"({body.bytes_sent / MB:.0f} MB sent): its time bound")
        return f"not finished in {exc.seconds:.0f} s", f"not finished in {exc.seconds:.0f} s", exc.seconds
    except Exception as exc:
        elapsed = time.perf_counter() - started
        ctx.findings.note(f"{peer.name}: the {slices}-slice STOW-RS request failed after {elapsed:.0f} s: {exc}")
        return failure_cell(exc), failure_cell(exc), elapsed
    elapsed = time.perf_counter() - started
    print(f"  {peer.name}: {body.instances} instances, {body.bytes_sent / MB:.0f} MB in one request, {elapsed:.1f} s;"
          " RSS " + ", ".join(f"pid {p.pid} {p.before_mib:.0f} -> {p.peak_mib:.0f} MiB" for p in peaks), flush=True)
    return Measure(rate(body.bytes_sent / MB, elapsed), "MB/s"), _memory_cell(peaks), elapsed


def phase_memory(ctx: BenchContext, seconds: float) -> None:
    deadline = ctx.deadline.within(seconds)
    per_slice = {peer.name: 0.0 for peer in ctx.peers}  # seconds per slice, from the previous size
    for number, slices in enumerate(ctx.mode.big_stow_slices):
        size = f"~{slices * 0.526:.0f} MB"
        growth: dict[str, Cell] = {}
        throughput: dict[str, Cell] = {}
        for index, peer in enumerate(ctx.peers):
            # Keep what the peers after this one are expected to need (plus a margin).
            reserve = sum(per_slice[p.name] * slices * 1.3 + 5 for p in ctx.peers[index + 1 :])
            bound = deadline.within(max(0.0, deadline.remaining() - reserve))
            if bound.remaining() < 5:
                ctx.findings.note(f"{peer.name}: the {slices}-slice STOW-RS request was skipped: no time left")
                throughput[peer.name] = growth[peer.name] = "skipped (time budget)"
                continue
            throughput[peer.name], growth[peer.name], elapsed = _big_stow(ctx, peer, number, slices, bound)
            per_slice[peer.name] = elapsed / slices
        ctx.findings.rows.append(Row(f"STOW one {size} request ({slices} inst.): MB/s",
                                     throughput["BeamIt"], throughput["Orthanc"], Better.HIGHER))
        ctx.findings.rows.append(Row(f"STOW one {size} request: peak RSS growth of server",
                                     growth["BeamIt"], growth["Orthanc"], Better.LOWER, comparable=False))
