"""The goals of the performance issue (#22), each checked against the same run's results.

Each goal reads rows and costs the phases recorded; a goal not met says what the profile of
the run shows and what the next cut is. Ratios and counts only, as the rows are.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from beamit.bench.costs import OperationCost
from beamit.bench.report import Measure, Row, format_number, ratio


@dataclass(frozen=True)
class GoalResult:
    goal: str
    target: str
    measured: str
    met: bool | None
    """None: not measured in this run."""
    next_cut: str = ""


def _row(rows: Sequence[Row], prefix: str) -> Row | None:
    return next((row for row in rows if row.operation.startswith(prefix)), None)


def _cost(costs: Mapping[str, OperationCost], prefix: str) -> OperationCost | None:
    return next((cost for name, cost in costs.items() if name.startswith(prefix)), None)


_STOW_PARTS = (
    ("parsing", "parse_instance"),
    ("the catalog commit", "Catalog.commit"),
    ("reading the body into parts", "iter_parts"),
    ("the uploads", "GcsBlobStore.put"),
    ("the metadata chunks", "write_chunks"),
)
"""What a STOW-RS request's profile is told in (its function's inclusive share of the samples)."""

_PROFILE_LINE = re.compile(r"(\d+)% `([^ ]+) ")


def _shares(profile: Sequence[str]) -> dict[str, int]:
    """Inclusive shares by function name, from a profile's lines (``26% `name (file)```)."""
    found: dict[str, int] = {}
    for line in profile:
        match = _PROFILE_LINE.match(line)
        if match:
            found.setdefault(match.group(2), int(match.group(1)))
    return found


def _stow(rows: Sequence[Row], costs: Mapping[str, OperationCost], profiles: Mapping[str, Sequence[str]]) -> GoalResult:
    goal, target = "STOW-RS: gateway CPU per instance", "at or below Orthanc's CPU per instance"
    cost = _cost(costs, "STOW ")
    gateway = cost.cpu_ms.get("gateway") if cost else None
    orthanc = cost.cpu_ms.get("Orthanc") if cost else None
    if gateway is None or not orthanc:
        return GoalResult(goal, target, "not measured", None)
    profile = next((lines for name, lines in profiles.items() if name.startswith("STOW ")), [])
    shares = _shares(profile)
    told = [f"{label} {shares[name]}%" for label, name in _STOW_PARTS if name in shares]
    where = (f"in the profile below (samples of the thread running Python, inclusive): {', '.join(told)}; "
             if told else "")
    return GoalResult(goal, target, f"{format_number(gateway)} ms vs {format_number(orthanc)} ms "
                      f"({format_number(gateway / orthanc)}x)", gateway <= orthanc,
                      f"{where}the rest is gunicorn's and Flask's request handling, above all reading the body "
                      "off the socket (gunicorn copies it several times; functions-framework serves production "
                      "with the same gunicorn). Next: parse each part once (pydicom reads the data set, then the "
                      "DICOM JSON and the index terms are made from it in two more passes: one pass over the "
                      "raw elements could give all three), and keep the study and series QIDO-RS terms on their "
                      "own documents only (about 450 of a CT slice's document's values: smaller commits, and "
                      "fewer index entries for Firestore to write; a tenant-wide instance search on a study or "
                      "series attribute then finds the series first, a change of that query plan and its order)")


def _rendered(rows: Sequence[Row], costs: Mapping[str, OperationCost],
              profiles: Mapping[str, Sequence[str]]) -> GoalResult:
    goal, target = "Rendered JPEG p50", "within 1.5x Orthanc"
    first = _row(rows, "rendered JPEG (instance) p50")
    again = _row(rows, "rendered JPEG (instance), the same again p50")
    values: list[tuple[str, float]] = []
    for label, row in (("first request", first), ("asked again", again)):
        value = ratio(row) if row is not None else None
        if value is not None:
            values.append((label, value))
    if not values:
        return GoalResult(goal, target, "not measured", None)
    measured = "; ".join(f"{label} {format_number(value)}x" for label, value in values)
    return GoalResult(goal, target, measured, all(value <= 1.5 for _, value in values), _rendered_gap(costs))


def _rendered_gap(costs: Mapping[str, OperationCost]) -> str:
    """Where a rendered answer's time goes, from this run's traces and CPU."""
    cost = costs.get("rendered JPEG (instance)")  # the first request's row (not "..., the same again")
    trips = cost.trips if cost else None
    parts = ["both rows are answered from the renderings the prerender function made when the study was "
             "received (the 'render ahead' row of the CPU table is its cost)"]
    if trips is not None and trips.wait_ms is not None and trips.served_ms is not None:
        parts.append(f"of BeamIt's median {format_number(trips.served_ms)} ms from the gateway's call to the "
                     f"response's start, {format_number(trips.wait_ms)} ms is the wait for "
                     f"{' then '.join(trips.chain)} on the emulators: the instance's record, which must be "
                     "read (a deleted instance's kept image is never answered), then the audit record, which "
                     "must be committed before PHI is answered")
    if cost is not None and cost.cpu_ms.get("gateway") is not None and cost.cpu_ms.get("Orthanc"):
        parts.append(f"the gateway's CPU per request is {format_number(cost.cpu_ms['gateway'])} ms against "
                     f"Orthanc's {format_number(cost.cpu_ms['Orthanc'])} ms for its whole answer")
    parts.append("a read of the record and a commit of the audit record, one after the other, are the floor of "
                 "this design (30 ms at the production latencies of the last column, where Orthanc has none); "
                 "what is left to cut is the gateway's own work per request (Flask and the router, the audit "
                 "record's canonical JSON and hash, the record's protobuf decoding) and the emulators' time "
                 "for the two calls, which production does not run on these cores")
    return "; ".join(parts)


def _trips(costs: Mapping[str, OperationCost]) -> list[GoalResult]:
    results = []
    for label, prefix in (("frame", "single frame"),
                          ("rendered (cache hit)", "rendered JPEG (instance), the same"),
                          ("study metadata", "study metadata"),
                          ("QIDO-RS by StudyInstanceUID", "QIDO StudyInstanceUID")):
        cost = _cost(costs, prefix)
        goal, target = f"Critical-path round trips: {label}", "at most 2 sequential"
        if cost is None or cost.trips is None:
            results.append(GoalResult(goal, target, "not measured", None))
            continue
        chain = " → ".join(cost.trips.chain)
        cut = {
            "frame": "a frame is read beside the record when the process has read the record before, or when it "
                     "is frame 1 within the object's first MiB (read by its name); any other frame waits for the "
                     "record: keep each instance's frame ranges in a derived object named by its UIDs, read beside "
                     "the record",
            "study metadata": "the first read after an ingest lists and reads the chunks, then compacts them: "
                              "compact from the study.received event instead, so every read finds one object",
        }.get(label, "")
        results.append(GoalResult(goal, target, f"{cost.trips.median:g} ({chain})", cost.trips.median <= 2, cut))
    return results


def _measure_of(rows: Sequence[Row], prefix: str) -> Measure | None:
    row = _row(rows, prefix)
    return row.beamit if row is not None and isinstance(row.beamit, Measure) else None


def _viewer(rows: Sequence[Row], costs: Mapping[str, OperationCost],
            profiles: Mapping[str, Sequence[str]]) -> GoalResult:
    goal, target = "Share link to first image in the patient viewer (after the one-time code)", "under 1 s"
    found = _measure_of(rows, "viewer:")
    if found is None:
        return GoalResult(goal, target, "not measured", None)
    return GoalResult(goal, target, f"{format_number(found.value)} ms", found.value < 1000,
                      "the requests listed below: session, manifest, then the first slices' renderings in a row")


def _cold_start(rows: Sequence[Row], costs: Mapping[str, OperationCost],
                profiles: Mapping[str, Sequence[str]]) -> GoalResult:
    goal, target = "Cold start of the dicomweb function", "under 500 ms"
    found = _measure_of(rows, "cold start: function dicomweb")
    if found is None:
        return GoalResult(goal, target, "not measured", None)
    detail = found.detail.rpartition("; ")[2] if "CPU" in found.detail else ""
    measured = f"{format_number(found.value)} ms" + (f" ({detail})" if detail else "")
    return GoalResult(goal, target, measured, found.value < 500,
                      "imports on the first search's path (no pydicom, numpy, Pillow or Authlib since "
                      "docs/architecture.md's cold start section): functions-framework and Flask (with Jinja), "
                      "google-cloud-firestore with gRPC and protobuf (about 175 ms), and BeamIt's own ~80 "
                      "modules (about 70 ms from bytecode). Next: build the Firestore client from its generated "
                      "GAPIC layer only (not the package's async client, bulk writer and helpers), and import "
                      "the catalog's commit path with the first store")


def _memory(rows: Sequence[Row], costs: Mapping[str, OperationCost],
            profiles: Mapping[str, Sequence[str]]) -> GoalResult:
    goal, target = "Memory of 1 GB STOW-RS requests", "flat peak RSS (kept)"
    growth = [row.beamit for row in rows if row.operation.startswith("STOW one") and "RSS" in row.operation]
    measured = [g for g in growth if isinstance(g, Measure)]
    if not measured:
        return GoalResult(goal, target, "not measured", None)
    text = " / ".join(f"{format_number(g.value)} MiB" for g in measured)
    flat = max(g.value for g in measured) <= 2 * min(g.value for g in measured) + 16
    return GoalResult(goal, target, f"peak growth {text} (100 MB / 1 GB)", flat)


CHECKS: tuple[Callable[[Sequence[Row], Mapping[str, OperationCost], Mapping[str, Sequence[str]]], GoalResult],
              ...] = (
    _stow, _rendered, _viewer, _cold_start, _memory)


def evaluate(rows: Sequence[Row], costs: Mapping[str, OperationCost],
             profiles: Mapping[str, Sequence[str]] | None = None) -> list[GoalResult]:
    """Each goal against this run's rows, costs and (for the texts of goals not met) profiles."""
    profiles = profiles or {}
    results = [check(rows, costs, profiles) for check in CHECKS[:2]]
    results += _trips(costs)
    results += [check(rows, costs, profiles) for check in CHECKS[2:]]
    return results


def _status(result: GoalResult) -> str:
    return "not measured" if result.met is None else ("met" if result.met else "not met")


def render_goals(results: Sequence[GoalResult]) -> list[str]:
    lines = ["| goal | target | this run | status |", "|---|---|---|---|"]
    lines += [f"| {r.goal} | {r.target} | {r.measured.replace('|', '/')} | {_status(r)} |" for r in results]
    cuts = [r for r in results if r.met is False and r.next_cut]
    if cuts:
        lines += ["", "Not met, and the next cut:", ""]
        lines += [f"- **{r.goal}**: {r.next_cut}." for r in cuts]
    return lines
