"""WADO-RS (PS3.18 §10.4) on the CT series stored by :mod:`beamit.bench.stow`.

- study metadata: ``retrieve_study_metadata`` latency, p50/p95;
- study retrieve: ``retrieve_study`` with ``Accept: multipart/related; type="application/dicom";
  transfer-syntax=*`` (the bytes as stored, both servers support it), MB/s of Part 10 bytes;
- single frames: ``retrieve_instance_frames`` of frame 1 of random instances (the same
  seeded sequence on both), p50/p95. Accept ``multipart/related; type="application/octet-stream";
  transfer-syntax=*``: dicomweb-client's default (``type="*/*"``) gets 400 from Orthanc 1.10;
- rendered: ``retrieve_instance_rendered`` as ``image/jpeg``, p50/p95; then the same requests
  again (BeamIt keeps each rendering in the derived bucket: the cache-hit path);
- time to first frame: a new 20-slice study stored in one request, then frame 1 of its
  first instance requested until it comes back; from the end of the STOW-RS response to the
  frame's arrival.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import requests
from dicomweb_client import DICOMwebClient

from beamit.bench import workload
from beamit.bench.budget import Deadline, bounded
from beamit.bench.context import BenchContext
from beamit.bench.peers import EndpointMissing, Peer, call, failure_cell
from beamit.bench.report import Better, Cell, Measure, Row, format_cell
from beamit.bench.stats import LatencySummary, percentile, rate

FRAME_MEDIA_TYPES = (("application/octet-stream", "*"),)
STUDY_MEDIA_TYPES = (("application/dicom", "*"),)
RENDERED_MEDIA_TYPES = ("image/jpeg",)
FIRST_FRAME_SLICES = 20
FIRST_FRAME_WAIT = 30.0
MB = 1e6
RENDERED_PROFILE_SECONDS = 5.0
"""How long the rendered requests repeat under py-spy (the measured loop is 40 requests of a few ms)."""


def timed(operation: Callable[[int], Any], count: int, deadline: Deadline) -> list[float]:
    """Latency of each of up to ``count`` calls of ``operation(i)``, stopping at ``deadline``."""
    samples = []
    for index in bounded(count, deadline):
        started = time.perf_counter()
        call(partial(operation, index))
        samples.append(time.perf_counter() - started)
    return samples


def latency_rows(label: str, results: dict[str, LatencySummary | Cell]) -> list[Row]:
    """Two rows, p50 and p95, from each peer's summary (or the reason it has none)."""
    rows = []
    for name in ("p50", "p95"):
        cells: dict[str, Cell] = {}
        for peer, result in results.items():
            if isinstance(result, LatencySummary):
                value = result.p50 if name == "p50" else result.p95
                cells[peer] = Measure(value * 1000, "ms", f"n={result.count}" if name == "p50" else "")
            else:
                cells[peer] = result
        rows.append(Row(f"{label} {name}", cells["BeamIt"], cells["Orthanc"], Better.LOWER))
    return rows


def _latencies(ctx: BenchContext, label: str, measure: Callable[[Peer], list[float]]) -> None:
    results: dict[str, LatencySummary | Cell] = {}
    for peer in ctx.peers:
        try:
            with ctx.charged(peer, label, "request") as tally:
                samples = measure(peer)
                tally.count = len(samples)
            results[peer.name] = LatencySummary.of(samples)
        except Exception as exc:
            results[peer.name] = failure_cell(exc)
            if not isinstance(exc, EndpointMissing):
                ctx.findings.note(f"{peer.name}: {label} failed: {exc}")
    ctx.findings.rows.extend(latency_rows(label, results))
    print(f"  {label}: " + "; ".join(f"{name} {_describe(result)}" for name, result in results.items()), flush=True)


def _describe(result: LatencySummary | Cell) -> str:
    if isinstance(result, LatencySummary):
        return f"p50 {result.p50 * 1000:.1f} ms, p95 {result.p95 * 1000:.1f} ms (n={result.count})"
    return format_cell(result)


def phase_retrieve(ctx: BenchContext, seconds: float) -> None:
    mode = ctx.mode
    deadline = ctx.deadline.within(seconds)
    study, series, instances = ctx.ct_study_uid, ctx.ct_series_uid, ctx.ct_instance_uids
    if not instances:
        ctx.findings.note("retrieve: skipped, the CT series was not stored")
        return
    slices = len(instances)

    def metadata(peer: Peer) -> list[float]:
        client = peer.client()
        return timed(lambda _: client.retrieve_study_metadata(study), mode.metadata_calls, deadline.within(20))

    _latencies(ctx, f"study metadata ({slices} instances)", metadata)

    retrieve_cells: dict[str, Cell] = {}
    for peer in ctx.peers:
        client = peer.client()

        def retrieve(_: int, client: DICOMwebClient = client) -> object:
            return client.retrieve_study(study, media_types=STUDY_MEDIA_TYPES)

        try:
            with ctx.charged(peer, f"study retrieve ({ctx.ct_bytes / MB:.0f} MB)", "request") as tally:
                samples = timed(retrieve, mode.retrieve_calls, deadline.within(40))
                tally.count = len(samples)
            best = percentile(samples, 50)
            retrieve_cells[peer.name] = Measure(rate(ctx.ct_bytes / MB, best), "MB/s", f"median of {len(samples)}")
            print(f"  study retrieve: {peer.name} {format_cell(retrieve_cells[peer.name])}", flush=True)
        except Exception as exc:
            retrieve_cells[peer.name] = failure_cell(exc)
            ctx.findings.note(f"{peer.name}: study retrieve failed: {exc}")
    ctx.findings.rows.append(Row(f"study retrieve ({ctx.ct_bytes / MB:.0f} MB, transfer-syntax=*)",
                                 retrieve_cells["BeamIt"], retrieve_cells["Orthanc"], Better.HIGHER))

    picks = random.Random(7)
    frame_targets = [picks.choice(instances) for _ in range(mode.frame_calls)]
    rendered_targets = [picks.choice(instances) for _ in range(mode.rendered_calls)]

    def frames(peer: Peer) -> list[float]:
        client = peer.client()
        return timed(
            lambda i: client.retrieve_instance_frames(study, series, frame_targets[i], [1],
                                                      media_types=FRAME_MEDIA_TYPES),
            len(frame_targets), deadline.within(20),
        )

    _latencies(ctx, f"single frame, {len(frame_targets)} random", frames)

    def rendered(peer: Peer) -> list[float]:
        client = peer.client()
        return timed(
            lambda i: client.retrieve_instance_rendered(study, series, rendered_targets[i],
                                                        media_types=RENDERED_MEDIA_TYPES),
            len(rendered_targets), deadline.within(20),
        )

    _latencies(ctx, "rendered JPEG (instance)", rendered)
    _latencies(ctx, "rendered JPEG (instance), the same again", rendered)
    client = ctx.beamit.client()
    ctx.profile(ctx.beamit, "rendered JPEG (instance), the same again",
                itertools.cycle([partial(client.retrieve_instance_rendered, study, series, target,
                                         media_types=RENDERED_MEDIA_TYPES) for target in rendered_targets]),
                RENDERED_PROFILE_SECONDS)
    _first_frame(ctx, deadline)


def _first_frame_once(peer: Peer, index: int, deadline: Deadline) -> float:
    datasets = workload.ct_datasets(workload.FIRST_FRAME_STUDIES + index, FIRST_FRAME_SLICES)
    first = datasets[0]
    client = peer.client()
    call(partial(client.store_instances, datasets))
    stored = time.perf_counter()
    wait = deadline.within(FIRST_FRAME_WAIT)
    while True:
        try:
            call(partial(client.retrieve_instance_frames, str(first.StudyInstanceUID), str(first.SeriesInstanceUID),
                         str(first.SOPInstanceUID), [1], media_types=FRAME_MEDIA_TYPES))
            return time.perf_counter() - stored
        except requests.HTTPError as exc:
            if exc.response is None or exc.response.status_code != 404 or wait.expired():
                raise
            time.sleep(0.01)


def _first_frame(ctx: BenchContext, deadline: Deadline) -> None:
    results: dict[str, LatencySummary | Cell] = {}
    for peer in ctx.peers:
        try:
            samples = [_first_frame_once(peer, i, deadline) for i in bounded(ctx.mode.first_frame_trials, deadline)]
            results[peer.name] = LatencySummary.of(samples)
        except Exception as exc:
            results[peer.name] = failure_cell(exc)
            if not isinstance(exc, EndpointMissing):
                ctx.findings.note(f"{peer.name}: time to first frame failed: {exc}")
    cells: dict[str, Cell] = {
        name: Measure(r.p50 * 1000, "ms", f"median of {r.count}") if isinstance(r, LatencySummary) else r
        for name, r in results.items()
    }
    ctx.findings.rows.append(Row("time to first frame of a new study (STOW end -> frame)",
                                 cells["BeamIt"], cells["Orthanc"], Better.LOWER))
    print("  time to first frame: " + "; ".join(f"{name} {_describe(r)}" for name, r in results.items()), flush=True)
