"""What an operation costs beyond its latency: CPU per operation, and storage round trips.

- **CPU ms per operation**: utime + stime (:mod:`beamit.bench.cpu`) of the BeamIt gateway's
  processes (what a tenant pays for in Cloud Functions), of the emulators (in production,
  Google's), and of Orthanc's process, spent during the operation's measured loop on each
  server, divided by the operations in it. Per process: other work on the machine is not
  charged to either server.
- **Sequential storage round trips**: the gateway runs with ``BEAMIT_TRACE_STORAGE``
  (:mod:`beamit.storage.trace`) and answers each request with its trace; the median request's
  depth (calls that overlapped count once), the worst one, how long the chains' calls lasted
  here (medians; beside the median time from the gateway's call to the response's start, what
  of a request's local latency is storage), and what that median chain would wait at
  production latencies (:data:`PRODUCTION_P50`).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from beamit.bench.report import format_number
from beamit.storage.trace import TraceSummary


@dataclass(frozen=True)
class ServiceLatency:
    """A documented or published p50 latency of one kind of call, seen from a function in
    the same region."""

    kind: str
    calls: tuple[str, ...]
    """Trace names (``service.operation``) this latency stands for."""
    p50_ms: float
    source: str


PRODUCTION_P50: tuple[ServiceLatency, ...] = (
    ServiceLatency(
        "Firestore read (document get, batch get, query of a few documents)",
        ("firestore.get", "firestore.get_many", "firestore.query", "firestore.count"),
        10,
        "assumed: Google publishes no p50 for these calls. Replace with production's p50 of Cloud Monitoring's "
        "`firestore.googleapis.com/api/request_latencies`; what raises it: "
        "https://cloud.google.com/firestore/native/docs/resolve-latency",
    ),
    ServiceLatency(
        "Firestore commit (create, set, update, delete, batch commit)",
        ("firestore.commit", "firestore.create", "firestore.set", "firestore.update", "firestore.delete"),
        20,
        "assumed: a write is applied to every replica and index before it returns "
        "(https://cloud.google.com/firestore/native/docs/understand-reads-writes-scale), taken as twice a read; "
        "replace with the same metric's p50 for Commit",
    ),
    ServiceLatency(
        "Cloud Storage read, first byte of a small object (media GET, range GET, metadata, listing)",
        ("gcs.read", "gcs.read_range", "gcs.stream", "gcs.stat", "gcs.list"),
        30,
        "assumed in-region; a published measurement (https://gist.github.com/markvincze/6b652e5c2052a3fd9932b8df75d6cafe,"
        " client location not stated) has metadata reads of 1 KB objects at 35-75 ms and their downloads at "
        "110-230 ms after the first request; replace with `storage.googleapis.com/api/request_latencies`",
    ),
    ServiceLatency(
        "Cloud Storage write of a small object (single-request upload)",
        ("gcs.put", "gcs.delete", "gcs.copy", "gcs.create_upload_session"),
        50,
        "assumed in-region; the same measurement has 100 KB uploads at 190-450 ms",
    ),
    ServiceLatency(
        "Pub/Sub publish (one request, batch of messages)",
        ("pubsub.publish", "pubsub.publish_many"),
        20,
        "assumed; replace with production's p50 of `pubsub.googleapis.com/topic/send_request_latencies`",
    ),
    ServiceLatency(
        "Cloud KMS encrypt or decrypt (software key)",
        ("kms.encrypt", "kms.decrypt", "kms.ping"),
        15,
        "assumed (https://cloud.google.com/kms/docs/faq states quotas, no latency); never on a DICOMweb read",
    ),
)
"""What one call of each kind waits in production, at the median. Google documents no such
figures for these APIs: these are assumptions, each with what its source does say, to be
replaced by the Cloud Monitoring p50s of a production project."""

_BY_CALL = {call: latency for latency in PRODUCTION_P50 for call in latency.calls}
UNKNOWN_CALL_MS = 20.0


def production_ms(chain: Iterable[str]) -> float:
    """What a chain of sequential calls waits at :data:`PRODUCTION_P50` (unknown calls: 20 ms)."""
    return sum(_BY_CALL[name].p50_ms if name in _BY_CALL else UNKNOWN_CALL_MS for name in chain)


@dataclass(frozen=True)
class RoundTrips:
    """The sequential storage round trips of an operation's requests."""

    requests: int
    median: float
    worst: int
    chain: tuple[str, ...]
    """The chain of the request with the median depth."""
    wait_ms: float | None = None
    """Median over the requests of how long their chain's calls lasted here (on the emulators)."""
    served_ms: float | None = None
    """Median over the requests of the time from the gateway's call to the response's start."""

    @classmethod
    def of(cls, traces: Sequence[TraceSummary]) -> RoundTrips | None:
        if not traces:
            return None
        ordered = sorted(traces, key=lambda t: t.depth)
        middle = ordered[(len(ordered) - 1) // 2]
        waits = [t.wait_ms for t in traces if t.wait_ms is not None]
        served = [t.served_ms for t in traces if t.served_ms is not None]
        return cls(len(traces), statistics.median(t.depth for t in traces), ordered[-1].depth, middle.chain,
                   statistics.median(waits) if waits else None, statistics.median(served) if served else None)

    def describe_wait(self) -> str:
        """``3.1 of 4.5 ms``: waited for storage, of the time to the response's start (medians)."""
        if self.wait_ms is None:
            return "—"
        if self.served_ms is None:
            return f"{format_number(self.wait_ms)} ms"
        return f"{format_number(self.wait_ms)} of {format_number(self.served_ms)} ms"

    @property
    def production_ms(self) -> float:
        return production_ms(self.chain)

    def describe(self) -> str:
        text = f"{self.median:g}"
        if self.worst != self.median:
            text += f" (max {self.worst})"
        return text + (": " + " → ".join(self.chain) if self.chain else "")


@dataclass
class OperationCost:
    """One operation's CPU per operation on each side, and BeamIt's round trips."""

    operation: str
    per: str
    cpu_ms: dict[str, float] = field(default_factory=dict)
    """CPU ms per operation by process group: ``gateway``, ``emulators``, ``Orthanc``."""
    trips: RoundTrips | None = None


GROUPS = ("gateway", "emulators", "Orthanc")
HEADERS = ("operation", "BeamIt gateway CPU", "emulators CPU", "Orthanc CPU", "gateway/Orthanc",
           "sequential round trips (median request)", "waited on them here, of time to response",
           "at assumed production p50")


def record(costs: dict[str, OperationCost], operation: str, per: str, spent: Mapping[str, float],
           operations: int, traces: Sequence[TraceSummary] = ()) -> None:
    """Add one server's measurement of ``operation`` (CPU seconds by group over ``operations``)."""
    entry = costs.setdefault(operation, OperationCost(operation, per))
    if operations > 0:
        for group, seconds in spent.items():
            entry.cpu_ms[group] = seconds * 1000 / operations
    if traces:
        entry.trips = RoundTrips.of(traces)


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{format_number(value)} ms"


def cost_cells(entry: OperationCost) -> tuple[str, ...]:
    gateway, orthanc = entry.cpu_ms.get("gateway"), entry.cpu_ms.get("Orthanc")
    ratio = f"{format_number(gateway / orthanc)}x" if gateway is not None and orthanc else "—"
    trips = entry.trips
    return (
        f"{entry.operation} (per {entry.per})",
        _ms(gateway),
        _ms(entry.cpu_ms.get("emulators")),
        _ms(orthanc),
        ratio,
        trips.describe() if trips else "—",
        trips.describe_wait() if trips else "—",
        _ms(trips.production_ms) if trips else "—",
    )


def render_costs_markdown(entries: Iterable[OperationCost]) -> str:
    lines = ["| " + " | ".join(HEADERS) + " |", "|---|---:|---:|---:|---:|---|---:|---:|"]
    for entry in entries:
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cost_cells(entry)) + " |")
    return "\n".join(lines)


def render_costs_text(entries: Iterable[OperationCost]) -> str:
    rows = [HEADERS, *(cost_cells(entry) for entry in entries)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS))]
    out = [" | ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    out.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(out)


def render_latency_table() -> str:
    """The production latencies the last column uses, with their sources (for the doc)."""
    lines = ["| call | assumed p50 | calls of the trace | source |", "|---|---:|---|---|"]
    for latency in PRODUCTION_P50:
        calls = ", ".join(f"`{call}`" for call in latency.calls)
        lines.append(f"| {latency.kind} | {format_number(latency.p50_ms)} ms | {calls} | {latency.source} |")
    return "\n".join(lines)
