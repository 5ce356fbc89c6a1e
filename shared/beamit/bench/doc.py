"""``docs/benchmarks.md``: the result of one run, rendered from what the phases found."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from beamit.bench.costs import OperationCost, render_costs_markdown, render_latency_table
from beamit.bench.goals import evaluate, render_goals
from beamit.bench.report import RATIO_NOTE, Row, render_markdown

LOCAL_CAVEAT = (
    "These are local numbers, not production: BeamIt runs on the Google Cloud SDK Firestore and Pub/Sub "
    "emulators, fake-gcs-server (in memory) and the project's KMS emulator, behind the gunicorn dev gateway "
    "(2 workers x 8 threads); Orthanc runs from Debian with its SQLite index; the client and every server "
    "share the same {nproc} cores. The table compares the two on one machine; Cloud Functions, Firestore "
    "and Cloud Storage have other latencies and limits (e.g. 32 MB per request). The Firestore emulator has "
    "no indexes: it answers every query by reading the whole collection, so BeamIt's QIDO-RS latency here "
    "grows with the tenant's size, where production Firestore serves the same queries from its indexes."
)

METHOD = (
    "Each operation runs on both servers in the same run, through the same `dicomweb_client.DICOMwebClient` "
    "(HTTP retries off), on 127.0.0.1 only; every loop is bounded in count and time.",
    "STOW-RS: the CT series (built before the clock starts) stored in batches, one request at a time; "
    "MB/s counts Part 10 bytes.",
    "Single large STOW-RS requests (last phase): the body is generated while it is sent (chunked), never "
    "held whole, and is cut (left without its close delimiter, so nothing is stored) if the request outlives "
    "its share of the phase's time budget; "
    "peak RSS growth is the peak resident memory during the request minus the resident memory before it, "
    "of the busiest gunicorn worker of the BeamIt gateway, and of the Orthanc process "
    "(`VmHWM` after a `clear_refs` reset, and `VmRSS` sampled every 20 ms).",
    "Study events: small CT studies, each stored in 3 STOW-RS requests one study after the other, timed "
    "from the response to a study's last request to the arrival of its event at a receiver on 127.0.0.1: "
    "BeamIt's `study.received` webhook (the `event-sweep` function called every 60 s, each run watching 50 s, "
    "as Cloud Scheduler runs it) and Orthanc's Lua `OnStableStudy` HttpPost; both with a 2 s quiet window "
    "(Orthanc's `StableAge`; BeamIt's production window is 30 s, so add 28 s there).",
    "WADO-RS: study metadata; study retrieve with `transfer-syntax=*` (MB/s of stored bytes, median run); "
    "frame 1 of random instances (the same seeded sequence on both); rendered JPEG of random instances, then "
    "the same requests again (Orthanc renders each request; BeamIt answers both from the renderings its "
    "`prerender` function made when the studies were received, the bench's `prerender` phase, whose cost is "
    "the 'render ahead' row of the CPU table); "
    "time to first frame: from the end of the STOW-RS response of a new 20-slice study to the arrival "
    "of its first frame (polled every 10 ms).",
    "QIDO-RS: the tenant is filled with one metadata-only instance per study (no Pixel Data) from the "
    "sandbox generator, 8 requests of 25 instances in flight, BeamIt then Orthanc, chunk by chunk; the "
    "query mix (PatientName `Family*` wildcard, StudyDate year range + ModalitiesInStudy, StudyInstanceUID, "
    "series of a study, instances of a series; limit 100 on the study searches) runs in the same seeded "
    "order on both.",
    "Cold start: for each HTTP function of `platform.json`, a fresh `functions-framework --target <entryPoint> "
    "--source functions/main.py` on a free port with the stack's environment, timed from process start to "
    "the first successful answer to a representative request, with BeamIt's modules byte-compiled as the "
    "deployed archive carries them (`make package`). Orthanc (dicomweb row): process start, with its data, "
    "to the first QIDO-RS answer. Each the median of 3 starts.",
)

WORKAROUNDS = (
    "Orthanc 1.10's DICOMweb plugin (1.7) does not percent-decode QIDO-RS values: `PatientName=Smith%2A` "
    "matches nothing. dicomweb-client percent-encodes every value, so Orthanc's client sends `* ? - , .` "
    "unencoded (a `DICOMwebClient` subclass); PatientName queries use ASCII family names only.",
    "Orthanc 1.10 answers dicomweb-client's default frame Accept (`multipart/related; type=\"*/*\"`) with 400: "
    "both servers are asked for `multipart/related; type=\"application/octet-stream\"; transfer-syntax=*`.",
    "dicomweb-client writes each data set with `pydicom.dcmwrite` as it is; a data set built in memory has no "
    "PS3.10 preamble and `DICM` prefix. Both servers store such parts (BeamIt adds the preamble, "
    "docs/conformance.md), but then what each stores differs from what was sent: the benchmark gives every "
    "generated data set a 128-byte preamble, so both store the bytes as sent.",
    "Orthanc 1.10 has no option for the listening address: it listens on every interface, and "
    "`\"RemoteAccessAllowed\": false` refuses every client not on loopback. It runs from a generated "
    "configuration (DICOM server off, authentication off, storage and index in a temporary directory), "
    "never as the system service; everything else is Orthanc's default (e.g. `StorageAccessOnFind: Always`).",
    "BeamIt runs with `BEAMIT_STOW_MAX_BYTES` = 2 GiB so that a ~1 GB STOW-RS request is accepted "
    "(production keeps the 32 MB HTTP limit and sends large studies through resumable uploads).",
)

COSTS_NOTE = (
    "CPU: utime + stime from `/proc/<pid>/stat` of each process tree, read before and after the operation's "
    "measured loop on each server in the same run, divided by the operations in it: the BeamIt gateway "
    "(gunicorn master and workers, every function; what a tenant pays for in Cloud Functions), the emulators "
    "(Firestore and Pub/Sub JVMs, fake-gcs-server, the KMS emulator; Google's in production) and Orthanc's "
    "process. Per process, so other work on the machine is charged to neither. Round trips: the bench's "
    "gateway runs with `BEAMIT_TRACE_STORAGE` (`beamit.storage.trace`): every call of the Firestore, Cloud "
    "Storage, Pub/Sub and KMS adapters made before the response starts (credential check, catalog reads, "
    "object reads, the audit append) is recorded with its start and end, and the answer carries the length "
    "of the longest chain of calls that waited for each other (calls that overlapped count once) and that "
    "chain; the column shows the median request's depth and chain (and the worst depth), the next one how "
    "long that chain's calls lasted here (the median over the requests, on the emulators) of the median time "
    "from the gateway's call to the response's start (so what of BeamIt's local latency is storage, the rest "
    "being the gateway's own work and the HTTP exchange), the last column "
    "what that chain waits at the production p50 latencies below. Work handed to a thread pool counts from "
    "its hand-over (not from when a busy core ran it). A STOW-RS request's uploads count one after another "
    "when each instance finished parsing after the previous upload's answer (parsing is the bottleneck on these "
    "cores); at production latencies more of them overlap, so its last column is an upper bound."
)

LATENCY_NOTE = (
    "Production latencies assumed by the last column (Google documents no p50s for these calls; each row says "
    "what its source does say, and which Cloud Monitoring metric of a production project replaces it):"
)

PROFILE_NOTE = (
    "py-spy samples (250/s, `--gil`: only the thread running Python, so waits on sockets and locks are not "
    "counted) of the gateway's processes while the operation's requests are made again after its measured loop "
    "(untimed: sampling costs the sampled processes CPU too; STOW-RS: another CT series of the same size, into "
    "a tenant of its own; rendered: the same requests repeated for 5 s); each function's share of the busy "
    "samples it is on the stack of (inclusive; idle threads and the WSGI, Flask and thread pool plumbing left "
    "out), shown from 100 busy samples."
)

PEER_REFERENCE = (
    "DESIGN.md's reference for Orthanc on a machine of this kind: 200 synthetic 512x512 CT slices (101 MB) "
    "stored through dicomweb-client in batches of 20 at 132 instances/s (67 MB/s), study metadata in 74 ms, "
    "study retrieve at 65 MB/s."
)


@dataclass(frozen=True)
class BenchRecord:
    mode: str
    started: datetime.datetime
    seconds: float
    machine: Mapping[str, str]
    versions: Mapping[str, str]
    facts: Mapping[str, str]
    rows: Sequence[Row]
    qido_rows: Sequence[Row]
    notes: Sequence[str]
    costs: Sequence[OperationCost] = ()
    sections: Mapping[str, Sequence[str]] = field(default_factory=dict)
    profiles: Mapping[str, Sequence[str]] = field(default_factory=dict)


def _escape(cell: str) -> str:
    return cell.replace("|", "\\|")


def _pairs(title: str, values: Mapping[str, str]) -> list[str]:
    lines = [f"## {title}", "", "| | |", "|---|---|"]
    lines += [f"| {key} | {_escape(value)} |" for key, value in values.items()]
    return [*lines, ""]


def render_document(record: BenchRecord) -> str:
    nproc = record.machine.get("nproc", "?")
    when = record.started.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmarks: BeamIt beside Orthanc",
        "",
        f"Generated by `make bench` (`python -m beamit.bench --mode {record.mode}`) on {when}: "
        f"mode **{record.mode}**, {record.seconds / 60:.1f} minutes. Do not edit; run it again "
        "(`make bench` for the full run, `make bench-quick` for the quick subset).",
        "",
        "> " + LOCAL_CAVEAT.format(nproc=nproc),
        "",
        *_pairs("Machine", record.machine),
        *_pairs("Versions", record.versions),
        *_pairs("Data", {"mode": record.mode, **record.facts}),
        "## Goals (issue #22), this run",
        "",
        *render_goals(evaluate(record.rows, {c.operation: c for c in record.costs}, record.profiles)),
        "",
        "## Results",
        "",
        RATIO_NOTE,
        "",
        render_markdown(record.rows),
        "",
    ]
    if record.qido_rows:
        lines += ["### QIDO-RS by query kind", "", render_markdown(record.qido_rows), ""]
    if record.costs:
        lines += ["### CPU and storage round trips per operation", "", COSTS_NOTE, "",
                  render_costs_markdown(record.costs), "", LATENCY_NOTE, "",
                  render_latency_table(), ""]
    for title, items in record.sections.items():
        lines += [f"### {title}", "", *[f"- {item}" for item in items], ""]
    for operation, items in record.profiles.items():
        lines += [f"### Where the gateway's CPU goes: {operation}", "", PROFILE_NOTE, "",
                  *[f"- {item}" for item in items], ""]
    lines += ["## How it was measured", "", *[f"- {item}" for item in METHOD], "", PEER_REFERENCE, ""]
    lines += ["## Workarounds and limits", "", *[f"- {item}" for item in WORKAROUNDS]]
    lines += [f"- {note}" for note in record.notes]
    return "\n".join(lines) + "\n"
