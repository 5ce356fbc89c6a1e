"""QIDO-RS (PS3.18 §10.6) at two tenant sizes, and the time it takes to load them.

The tenant is filled with metadata-only instances (one per study, no Pixel Data) from the
sandbox generator, stored into both servers through ``store_instances`` with
:attr:`~beamit.bench.modes.BenchMode.load_concurrency` requests in flight of
:attr:`~beamit.bench.modes.BenchMode.load_batch` instances each, chunk by chunk: BeamIt,
then Orthanc, the same chunk. The first size is always loaded; the second only as far as
the phase's time budget allows (the size reached is reported).

The query mix, the same list on both servers, in a seeded shuffled order:

- ``PatientName=<family name>*`` (ASCII family names of the loaded patients), limit 100;
- ``StudyDate=<year>0101-<year>1231`` and ``ModalitiesInStudy=<modality>``, limit 100;
- ``StudyInstanceUID=<uid>``;
- the series of a study (``/studies/{uid}/series``);
- the instances of a series (``/studies/{uid}/series/{uid}/instances``).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

from dicomweb_client import DICOMwebClient
from pydicom.dataset import Dataset

from beamit.bench import workload
from beamit.bench.budget import Deadline
from beamit.bench.context import BenchContext
from beamit.bench.costs import record
from beamit.bench.peers import EndpointMissing, Peer, call, failure_cell
from beamit.bench.report import Better, Cell, Measure, Row
from beamit.bench.stats import LatencySummary, rate
from beamit.bench.workload import TinyStudy
from beamit.storage.trace import TraceSummary

STUDY_LIMIT = 100
QUERY_KINDS = (
    "PatientName wildcard",
    "StudyDate range + ModalitiesInStudy",
    "StudyInstanceUID",
    "series of a study",
    "instances of a series",
)
QUERY_TIMEOUT = 60.0
"""Client timeout of one query: a slower answer counts as a failure."""


@dataclass(frozen=True)
class Query:
    kind: str
    filters: dict[str, str] = field(default_factory=dict)
    study_uid: str = ""
    series_uid: str = ""

    def run(self, client: DICOMwebClient) -> int:
        """Send the query; the number of matches returned."""
        if self.kind == "series of a study":
            return len(client.search_for_series(study_instance_uid=self.study_uid))
        if self.kind == "instances of a series":
            return len(client.search_for_instances(study_instance_uid=self.study_uid,
                                                   series_instance_uid=self.series_uid))
        limit = None if self.kind == "StudyInstanceUID" else STUDY_LIMIT
        return len(client.search_for_studies(search_filters=dict(self.filters), limit=limit))


def query_mix(studies: Sequence[TinyStudy], per_kind: int, seed: int = 11) -> list[Query]:
    """``per_kind`` rounds of one query of each kind, parameters drawn from ``studies``; the kinds
    are shuffled within each round, so a mix cut short by its time bound still covers every kind."""
    rng = random.Random(seed)
    families = sorted({s.family_name for s in studies if s.family_name.isascii() and s.family_name.isalpha()})
    years = sorted({s.study_date[:4] for s in studies})
    modalities = sorted({s.modality for s in studies})
    queries = []
    for _ in range(per_kind):
        round_ = []
        if families:
            round_.append(Query(QUERY_KINDS[0], {"PatientName": f"{rng.choice(families)}*"}))
        year = rng.choice(years)
        round_.append(Query(QUERY_KINDS[1], {"StudyDate": f"{year}0101-{year}1231",
                                             "ModalitiesInStudy": rng.choice(modalities)}))
        study = rng.choice(studies)
        round_.append(Query(QUERY_KINDS[2], {"StudyInstanceUID": study.study_uid}))
        study = rng.choice(studies)
        round_.append(Query(QUERY_KINDS[3], study_uid=study.study_uid))
        study = rng.choice(studies)
        round_.append(Query(QUERY_KINDS[4], study_uid=study.study_uid, series_uid=study.series_uid))
        rng.shuffle(round_)
        queries.extend(round_)
    return queries


@dataclass
class MixResult:
    seconds: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=dict)
    traces: dict[str, list[TraceSummary]] = field(default_factory=dict)
    """The storage traces of the answers, by query kind (BeamIt)."""
    matches: list[int] = field(default_factory=list)
    missing: set[str] = field(default_factory=set)
    error: str = ""


def run_mix(peer: Peer, queries: Sequence[Query], deadline: Deadline) -> MixResult:
    client = peer.client(timeout=QUERY_TIMEOUT)
    result = MixResult()
    started = time.perf_counter()
    try:
        _run_queries(peer, client, queries, deadline, result)
    finally:
        result.seconds = time.perf_counter() - started
    return result


def _run_queries(peer: Peer, client: DICOMwebClient, queries: Sequence[Query], deadline: Deadline,
                 result: MixResult) -> None:
    for query in queries:
        if deadline.expired():
            break
        if query.kind in result.missing:
            result.matches.append(-1)
            continue
        started = time.perf_counter()
        try:
            matches = call(partial(query.run, client))
        except EndpointMissing:
            result.missing.add(query.kind)
            result.matches.append(-1)
            continue
        except Exception as exc:
            result.error = f"{query.kind}: {exc}"
            break
        result.latencies.setdefault(query.kind, []).append(time.perf_counter() - started)
        result.traces.setdefault(query.kind, []).extend(peer.take_traces())
        result.matches.append(matches)


def _mix_cell(result: MixResult, kinds: Sequence[str], quantile: str) -> Cell:
    samples = [s for kind in kinds for s in result.latencies.get(kind, [])]
    if not samples:
        if result.missing.issuperset(kinds):
            return failure_cell(EndpointMissing())
        return f"failed ({result.error})" if result.error else "not reached (time bound)"
    summary = LatencySummary.of(samples)
    value = summary.p50 if quantile == "p50" else summary.p95
    detail = f"n={summary.count}" if quantile == "p50" else ""
    if result.missing.intersection(kinds):
        detail = ", ".join(filter(None, [detail, f"without {', '.join(sorted(result.missing))}"]))
    return Measure(value * 1000, "ms", detail)


class TenantLoader:
    """Stores chunks of tiny studies into both servers and keeps the time each took."""

    def __init__(self, ctx: BenchContext) -> None:
        self.ctx = ctx
        self.loaded: list[TinyStudy] = []
        self.seconds = {peer.name: 0.0 for peer in ctx.peers}
        self.failed_requests = {peer.name: 0 for peer in ctx.peers}
        self.generate_seconds = 0.0

    def seconds_per_study(self) -> float:
        """Observed cost of one study (generation and both loads), for pacing."""
        if not self.loaded:
            return 0.05
        return (self.generate_seconds + sum(self.seconds.values())) / len(self.loaded)

    def load(self, count: int) -> None:
        started = time.perf_counter()
        datasets, studies = workload.tiny_studies(len(self.loaded), count)
        self.generate_seconds += time.perf_counter() - started
        for peer in self.ctx.peers:
            started = time.perf_counter()
            errors = _store_all(peer, datasets, self.ctx.mode.load_concurrency, self.ctx.mode.load_batch)
            if errors and not self.failed_requests[peer.name]:
                self.ctx.findings.note(f"{peer.name}: {len(errors)} loading request(s) failed, first: {errors[0]}")
            self.failed_requests[peer.name] += len(errors)
            self.seconds[peer.name] += time.perf_counter() - started
        self.loaded.extend(studies)

    def load_row(self, label: str) -> Row:
        cells: dict[str, Cell] = {}
        for peer in self.ctx.peers:
            seconds = self.seconds[peer.name]
            failed = self.failed_requests[peer.name]
            detail = f"{len(self.loaded)} in {seconds:.0f} s" + (f", {failed} failed requests" if failed else "")
            cells[peer.name] = Measure(rate(len(self.loaded), seconds), "inst/s", detail)
        return Row(label, cells["BeamIt"], cells["Orthanc"], Better.HIGHER)


def _store_all(peer: Peer, datasets: Sequence[Dataset], concurrency: int, batch: int) -> list[str]:
    """Store ``datasets`` with ``concurrency`` requests in flight; why each failed request failed."""
    local = threading.local()

    def store(chunk: Sequence[Dataset]) -> str | None:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = peer.client()
        try:
            client.store_instances(list(chunk))
            return None
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"

    chunks = [datasets[i : i + batch] for i in range(0, len(datasets), batch)]
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=f"load-{peer.name}") as pool:
        return [error for error in pool.map(store, chunks) if error is not None]


def _measure(ctx: BenchContext, loader: TenantLoader, per_kind: int, deadline: Deadline) -> None:
    size = len(loader.loaded)
    queries = query_mix(loader.loaded, per_kind)
    results = {}
    for index, peer in enumerate(ctx.peers):
        # Each server's mix gets its bound, and never more than its share of what is left.
        share = deadline.remaining() / (len(ctx.peers) - index)
        with ctx.charged(peer, f"QIDO mix, {size:,} studies", "query") as tally:
            results[peer.name] = run_mix(peer, queries, deadline.within(min(ctx.mode.qido_seconds, share)))
            tally.count = sum(len(v) for v in results[peer.name].latencies.values())
    for kind, traces in results["BeamIt"].traces.items():
        record(ctx.findings.costs, f"QIDO {kind}, {size:,} studies", "query", {}, 0, traces)
    beamit, orthanc = results["BeamIt"], results["Orthanc"]
    if beamit.latencies:
        ctx.beamit_qido = True
    for quantile in ("p50", "p95"):
        ctx.findings.rows.append(Row(f"QIDO mix {quantile}, {size:,} studies",
                                     _mix_cell(beamit, QUERY_KINDS, quantile),
                                     _mix_cell(orthanc, QUERY_KINDS, quantile), Better.LOWER))
    for kind in QUERY_KINDS:
        ctx.findings.qido_rows.append(Row(f"{kind}, {size:,} studies: p50",
                                          _mix_cell(beamit, [kind], "p50"), _mix_cell(orthanc, [kind], "p50"),
                                          Better.LOWER))
        ctx.findings.qido_rows.append(Row(f"{kind}, {size:,} studies: p95",
                                          _mix_cell(beamit, [kind], "p95"), _mix_cell(orthanc, [kind], "p95"),
                                          Better.LOWER))
    both = [(b, o) for b, o in zip(beamit.matches, orthanc.matches) if b >= 0 and o >= 0]
    if both:
        differ = sum(1 for b, o in both if b != o)
        ctx.findings.facts[f"QIDO matches, {size:,} studies"] = (
            f"{len(both) - differ} of {len(both)} queries returned the same number of matches on both"
        )
    for name, result in results.items():
        if result.error:
            ctx.findings.note(f"{name}: QIDO at {size:,} studies failed: {result.error}")
    for name, r in results.items():
        answered = sum(len(v) for v in r.latencies.values())
        missing = f", not implemented: {', '.join(sorted(r.missing))}" if r.missing else ""
        print(f"  QIDO at {size:,} studies, {name}: {answered} of {len(queries)} queries answered "
              f"in {r.seconds:.0f} s{missing}", flush=True)


def phase_search(ctx: BenchContext, seconds: float) -> None:
    mode = ctx.mode
    deadline = ctx.deadline.within(seconds)
    small, large = mode.qido_sizes
    per_kind = mode.qido_queries_per_kind
    loader = TenantLoader(ctx)
    while len(loader.loaded) < small:
        loader.load(min(mode.load_chunk, small - len(loader.loaded)))
    print(f"  loaded {len(loader.loaded):,} studies: " + ", ".join(
        f"{k} {v:.0f} s" for k, v in loader.seconds.items()), flush=True)
    ctx.findings.rows.append(loader.load_row(f"load {small:,} tiny studies (STOW, {mode.load_concurrency} "
                                             f"x {mode.load_batch}/request)"))
    _measure(ctx, loader, per_kind, deadline)
    query_reserve = len(ctx.peers) * mode.qido_seconds + 5  # the second mix: its full bound on each server
    while len(loader.loaded) < large:
        count = min(mode.load_chunk, large - len(loader.loaded))
        if deadline.remaining() - query_reserve < count * loader.seconds_per_study():
            break
        loader.load(count)
    reached = len(loader.loaded)
    if reached > small:
        print(f"  loaded {reached:,} studies: " + ", ".join(f"{k} {v:.0f} s" for k, v in loader.seconds.items()),
              flush=True)
    ctx.findings.facts["QIDO tenant sizes"] = f"{small:,} and {reached:,} studies (asked: {small:,} and {large:,})"
    if reached < large:
        ctx.findings.note(
            f"QIDO: {large:,} studies did not fit in the phase's {seconds:.0f} s budget on this machine; "
            f"the larger size measured is {reached:,} (the largest that fit; --large-studies sets the target)"
        )
    if reached > small:
        ctx.findings.rows.append(loader.load_row(f"load {reached:,} tiny studies (total)"))
        _measure(ctx, loader, per_kind, deadline)
    ctx.findings.facts["QIDO data"] = (
        "one metadata-only instance (no Pixel Data) per study, from the sandbox generator (all modalities, "
        "four character sets); names in PatientName queries are ASCII family names"
    )

