"""beamit.bench.costs and beamit.bench.cpu: round-trip summaries, production cost, CPU deltas."""

from __future__ import annotations

import os

from beamit.bench.costs import (
    PRODUCTION_P50,
    UNKNOWN_CALL_MS,
    OperationCost,
    RoundTrips,
    cost_cells,
    production_ms,
    record,
    render_costs_markdown,
    render_latency_table,
)
from beamit.bench.cpu import ProcessGroup, cpu_delta, cpu_during, process_trees
from beamit.storage.trace import TraceSummary


def test_every_traced_call_kind_has_one_production_latency():
    calls = [call for latency in PRODUCTION_P50 for call in latency.calls]
    assert len(calls) == len(set(calls))
    assert all(latency.source for latency in PRODUCTION_P50)


def test_production_cost_adds_the_chain():
    read = next(x.p50_ms for x in PRODUCTION_P50 if "firestore.get" in x.calls)
    commit = next(x.p50_ms for x in PRODUCTION_P50 if "firestore.commit" in x.calls)
    assert production_ms(["firestore.get", "firestore.commit"]) == read + commit
    assert production_ms(["something.else"]) == UNKNOWN_CALL_MS
    assert production_ms([]) == 0


def test_round_trips_of_the_median_request():
    traces = [TraceSummary(2, 3, ("firestore.get", "firestore.commit")),
              TraceSummary(3, 4, ("firestore.get", "gcs.read", "firestore.commit")),
              TraceSummary(2, 3, ("gcs.read", "firestore.commit"))]
    trips = RoundTrips.of(traces)
    assert trips is not None
    assert trips.median == 2 and trips.worst == 3 and trips.requests == 3
    assert trips.chain[-1] == "firestore.commit"
    assert trips.describe().startswith("2 (max 3): ")
    assert trips.describe_wait() == "—"  # traces without times (an older gateway)
    assert RoundTrips.of([]) is None


def test_round_trips_say_how_long_the_chains_waited_of_the_time_to_the_response():
    traces = [TraceSummary(2, 2, ("firestore.get", "firestore.commit"), wait, served)
              for wait, served in ((3.0, 4.0), (3.5, 5.0), (9.0, 12.0))]
    trips = RoundTrips.of(traces)
    assert trips is not None and trips.wait_ms == 3.5 and trips.served_ms == 5.0
    assert trips.describe_wait() == "3.50 of 5.00 ms"


def test_record_divides_cpu_by_operations_and_keeps_both_sides():
    costs: dict[str, OperationCost] = {}
    record(costs, "frame", "request", {"gateway": 0.5, "emulators": 0.25}, 100,
           [TraceSummary(2, 2, ("firestore.get", "firestore.commit"))])
    record(costs, "frame", "request", {"Orthanc": 0.2}, 100)
    entry = costs["frame"]
    assert entry.cpu_ms == {"gateway": 5.0, "emulators": 2.5, "Orthanc": 2.0}
    cells = cost_cells(entry)
    assert cells[4] == "2.50x"
    assert entry.trips is not None and entry.trips.median == 2
    assert "| frame (per request) |" in render_costs_markdown(costs.values())
    assert render_latency_table().count("\n") == len(PRODUCTION_P50) + 1


def test_cpu_delta_counts_new_processes_from_zero_and_never_negative():
    assert cpu_delta({1: 1.0, 2: 2.0}, {1: 1.5, 3: 0.25}) == 0.75
    assert cpu_delta({1: 2.0}, {1: 1.0}) == 0


def test_this_process_is_charged_for_its_work():
    group = ProcessGroup("me", lambda: [os.getpid()])
    assert os.getpid() in process_trees([os.getpid()])

    def spin() -> int:
        total = 0
        for i in range(2_000_000):
            total += i
        return total

    _, spent = cpu_during([group], spin)
    assert spent["me"] > 0
