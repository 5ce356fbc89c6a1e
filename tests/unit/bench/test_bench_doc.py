"""docs/benchmarks.md rendering (beamit.bench.doc)."""

from __future__ import annotations

import datetime

from beamit.bench.context import Findings
from beamit.bench.doc import BenchRecord, render_document
from beamit.bench.report import NOT_IMPLEMENTED, Better, Measure, Row


def test_document_has_machine_versions_mode_sizes_table_and_caveat() -> None:
    record = BenchRecord(
        mode="quick",
        started=datetime.datetime(2026, 3, 1, 12, 30, tzinfo=datetime.UTC),
        seconds=185,
        machine={"nproc": "2", "memory": "23.5 GiB", "CPU": "Intel(R) Xeon(R) Processor"},
        versions={"Python": "3.11.7", "Orthanc (as reported)": "Orthanc 1.10.1, DICOMweb plugin 1.7"},
        facts={"QIDO tenant sizes": "1,000 and 2,500 studies (asked: 1,000 and 5,000)"},
        rows=[Row("study metadata p50", Measure(286, "ms"), Measure(516, "ms"), Better.LOWER)],
        qido_rows=[Row("StudyInstanceUID, 1,000 studies: p50", NOT_IMPLEMENTED, Measure(8.7, "ms"), Better.LOWER)],
        notes=["QIDO: 5,000 studies did not fit"],
    )
    text = render_document(record)
    assert text.startswith("# Benchmarks: BeamIt beside Orthanc\n")
    assert "2026-03-01 12:30 UTC" in text and "mode **quick**" in text and "3.1 minutes" in text
    assert "same 2 cores" in text and "not production" in text
    assert "| nproc | 2 |" in text and "| CPU | Intel(R) Xeon(R) Processor |" in text
    assert "| Orthanc (as reported) | Orthanc 1.10.1, DICOMweb plugin 1.7 |" in text
    assert "| QIDO tenant sizes | 1,000 and 2,500 studies (asked: 1,000 and 5,000) |" in text
    assert "| study metadata p50 | 286 ms | 516 ms | 0.554x | lower |" in text
    assert "| StudyInstanceUID, 1,000 studies: p50 | n/a (not implemented) | 8.70 ms | — | lower |" in text
    assert "percent-decode" in text  # the Orthanc QIDO workaround is recorded
    assert "- QIDO: 5,000 studies did not fit" in text
    assert text.endswith("\n")


def test_notes_are_one_line() -> None:
    findings = Findings()
    findings.note("cold start of x failed: exited early:\n  Traceback ...\n  File ...\nImportError: no name 'X'")
    findings.note("plain")
    assert findings.notes == ["cold start of x failed: exited early: ... ImportError: no name 'X'", "plain"]
