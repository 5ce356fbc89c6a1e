"""beamit.bench.goals and beamit.bench.profile: goals read from the run's rows, profiles summarised."""

from __future__ import annotations

import datetime

from beamit.bench.costs import OperationCost, RoundTrips
from beamit.bench.doc import BenchRecord, render_document
from beamit.bench.goals import evaluate, render_goals
from beamit.bench.profile import summarise
from beamit.bench.report import Better, Measure, Row
from beamit.storage.trace import TraceSummary


def costs() -> dict[str, OperationCost]:
    stow = OperationCost("STOW 300-slice CT, batches of 20", "instance", {"gateway": 7.0, "Orthanc": 6.0})
    frame = OperationCost("single frame, 100 random", "request",
                          trips=RoundTrips.of([TraceSummary(3, 3, ("firestore.get", "gcs.read", "firestore.commit"))]))
    uid = OperationCost("QIDO StudyInstanceUID, 1,000 studies", "query",
                        trips=RoundTrips.of([TraceSummary(2, 2, ("firestore.get", "firestore.commit"))]))
    return {c.operation: c for c in (stow, frame, uid)}


def rows() -> list[Row]:
    return [
        Row("rendered JPEG (instance) p50", Measure(12, "ms"), Measure(4, "ms"), Better.LOWER),
        Row("rendered JPEG (instance), the same again p50", Measure(5, "ms"), Measure(4, "ms"), Better.LOWER),
        Row("viewer: one-time code submitted -> first image painted (Chromium)", Measure(640, "ms"), None,
            Better.LOWER),
        Row("cold start: function dicomweb", Measure(620, "ms"), Measure(150, "ms"), Better.LOWER),
    ]


def test_goals_say_met_not_met_or_not_measured():
    found = {result.goal: result for result in evaluate(rows(), costs())}
    assert found["STOW-RS: gateway CPU per instance"].met is False
    assert found["Rendered JPEG p50"].met is False  # 3x on the first request
    assert found["Critical-path round trips: frame"].met is False
    assert found["Critical-path round trips: QIDO-RS by StudyInstanceUID"].met is True
    assert found["Critical-path round trips: study metadata"].met is None
    assert found["Share link to first image in the patient viewer (after the one-time code)"].met is True
    assert found["Cold start of the dicomweb function"].met is False
    text = "\n".join(render_goals(list(found.values())))
    assert "next cut" in text and "| not measured |" in text


def test_the_rendered_gap_is_told_from_the_run_s_waits_and_cpu():
    measured = costs()
    measured["rendered JPEG (instance)"] = OperationCost(
        "rendered JPEG (instance)", "request", {"gateway": 3.25, "Orthanc": 2.5},
        trips=RoundTrips.of([TraceSummary(2, 2, ("firestore.get", "firestore.commit"), 3.4, 4.6)]))
    found = {result.goal: result for result in evaluate(rows(), measured)}
    gap = found["Rendered JPEG p50"].next_cut
    assert "of BeamIt's median 4.60 ms from the gateway's call to the response's start, 3.40 ms" in gap
    assert "firestore.get then firestore.commit" in gap and "3.25 ms against Orthanc's 2.50 ms" in gap
    without = {result.goal: result for result in evaluate(rows(), costs())}["Rendered JPEG p50"].next_cut
    assert "of BeamIt's median" not in without  # no traces: no numbers made up
    measured["rendered JPEG (instance), the same again"] = measured.pop("rendered JPEG (instance)")
    again = {result.goal: result for result in evaluate(rows(), measured)}["Rendered JPEG p50"].next_cut
    assert "of BeamIt's median" not in again  # the first request's row, not the repeated one


def test_the_stow_gap_is_told_from_the_run_s_profile():
    profile = ["76% `Router.dispatch (beamit/web/router.py)`", "27% `parse_instance (beamit/ingest/instance.py)`",
               "23% `Catalog.commit (beamit/catalog/repository.py)`", "15% `iter_parts (beamit/dicomweb/multipart.py)`"]
    found = {r.goal: r for r in evaluate(rows(), costs(), {"STOW 300-slice CT, batches of 20": profile})}
    gap = found["STOW-RS: gateway CPU per instance"].next_cut
    assert "parsing 27%, the catalog commit 23%, reading the body into parts 15%;" in gap
    assert "the uploads" not in gap  # not in this profile: not told
    without = {r.goal: r for r in evaluate(rows(), costs())}["STOW-RS: gateway CPU per instance"].next_cut
    assert "%" not in without and "Next:" in without  # no profile: no shares made up


def test_profile_summary_leaves_idle_and_plumbing_out():
    raw = "\n".join([
        "Thread.run (threading.py:1);Router.dispatch (beamit/web/router.py:9);commit (beamit/catalog/commit.py:3) 30",
        "Thread.run (threading.py:1);Router.dispatch (beamit/web/router.py:9);parse (beamit/ingest/instance.py:5) 10",
        "Thread.run (threading.py:1);wait (threading.py:320) 500",
    ])
    profile = summarise(raw)
    assert profile.busy == 40
    shares = dict(profile.shares)
    assert shares["Router.dispatch (beamit/web/router.py)"] == 100
    assert shares["commit (beamit/catalog/commit.py)"] == 75
    assert not any("threading" in name for name in shares)
    assert not profile.enough  # 40 busy samples: too few to show


def test_a_profile_is_shown_from_100_busy_samples():
    line = "Thread.run (threading.py:1);Router.dispatch (beamit/web/router.py:9);commit (beamit/catalog/commit.py:3)"
    assert not summarise(f"{line} 99").enough
    assert summarise(f"{line} 100").enough
    assert not summarise("Thread.run (threading.py:1);wait (threading.py:320) 5000").enough  # idle only


def test_the_document_renders_goals_costs_and_profiles():
    record = BenchRecord(mode="quick", started=datetime.datetime(2026, 12, 4, tzinfo=datetime.UTC), seconds=60,
                         machine={"nproc": "2"}, versions={}, facts={}, rows=rows(), qido_rows=[], notes=[],
                         costs=list(costs().values()), sections={"Viewer": ["`/s/api/session`: 0 -> 20 ms"]},
                         profiles={"STOW 300-slice CT, batches of 20": ["40% `commit (beamit/catalog/commit.py)`"]})
    text = render_document(record)
    assert "## Goals (issue #22), this run" in text
    assert "### CPU and storage round trips per operation" in text
    assert "### Where the gateway's CPU goes: STOW 300-slice CT" in text
    assert "| Firestore read" in text
