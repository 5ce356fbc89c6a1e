"""Cold start: a fresh ``functions-framework`` process per HTTP function, until it answers.

For each HTTP function of ``platform.json`` (:func:`beamit.deployment.load_manifest`), a new
``functions-framework --target <entryPoint> --source functions/main.py`` process on a free
loopback port, with the stack's environment; the time from starting it to the first
successful answer to a representative request of that function. Orthanc has no function
to start: its row shows the time from starting the Orthanc process (with the data already
loaded) to its first QIDO-RS answer. Beside each time, the CPU time the new process (and its
children) had used by then: on a busy machine the wall-clock time also holds other processes'
turns on the cores, the CPU time does not. Each is the median of :data:`TRIALS` starts.

BeamIt's modules are byte-compiled first, as the deployed archive carries them
(:func:`beamit.deployment.bytecode`, ``make package``): this machine sets
``PYTHONDONTWRITEBYTECODE``, so without it every start would compile them.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

from beamit.bench import workload
from beamit.bench.context import BenchContext
from beamit.bench.cpu import cpu_seconds, process_trees
from beamit.bench.report import Better, Cell, Measure, Row, format_cell
from beamit.deployment import FunctionSpec, bytecode, load_manifest
from beamit.devstack.emulators import REPO_ROOT
from beamit.devstack.processes import ManagedProcess, free_port
from beamit.sandbox import part10_bytes

POLL_INTERVAL = 0.02
READY_TIMEOUT = 60.0
TRIALS = 3


@dataclass(frozen=True)
class Probe:
    """A representative request; ``any_answer`` for functions the bench does not know."""

    description: str
    send: Callable[[str], requests.Response]
    any_answer: bool = False


def _functions_framework() -> str:
    return str(Path(sys.executable).with_name("functions-framework"))


def _dicomweb_probe(ctx: BenchContext, auth: dict[str, str]) -> Probe:
    if ctx.beamit_qido:
        study = ctx.ct_study_uid

        def search(base: str) -> requests.Response:
            return requests.get(f"{base}/v1/dicomweb/studies", params={"StudyInstanceUID": study},
                                headers=auth, timeout=30)

        return Probe("QIDO-RS StudyInstanceUID search", search)
    from beamit.dicomweb.multipart import PartOut, encode_parts, multipart_content_type, new_boundary

    datasets, _ = workload.tiny_studies(workload.COLD_START_TINY, 1)
    part = part10_bytes(datasets[0])
    boundary = new_boundary()
    body = b"".join(encode_parts([PartOut(workload.DICOM, part)], boundary))

    def store(base: str) -> requests.Response:
        return requests.post(f"{base}/v1/dicomweb/studies", data=body, timeout=30,
                             headers={**auth, "Content-Type": multipart_content_type(workload.DICOM, boundary)})

    return Probe("STOW-RS of one instance (QIDO-RS not implemented)", store)


def probe_for(spec: FunctionSpec, ctx: BenchContext) -> Probe:
    auth = {"Authorization": f"Bearer {ctx.api_key}"}
    if spec.name == "platform":
        return Probe("GET /v1/health", lambda base: requests.get(f"{base}/v1/health", timeout=30))
    if spec.name == "api-keys":
        return Probe("GET /v1/api-keys", lambda base: requests.get(f"{base}/v1/api-keys", headers=auth, timeout=30))
    if spec.name == "dicomweb":
        return _dicomweb_probe(ctx, auth)
    if spec.name == "uploads":
        body = json.dumps({"filename": "bench.dcm", "contentType": workload.DICOM, "size": 1024})
        return Probe("POST /v1/uploads (resumable session)", lambda base: requests.post(
            f"{base}/v1/uploads", data=body, timeout=30, headers={**auth, "Content-Type": "application/json"}))
    route = spec.routes[0] if spec.routes else "/"
    return Probe(f"GET {route} (first answer, any status)",
                 lambda base: requests.get(base + route, headers=auth, timeout=30), any_answer=True)


def _time_to_answer(probe: Probe, base: str, process: ManagedProcess, started: float) -> float:
    deadline = started + READY_TIMEOUT
    while time.perf_counter() < deadline:
        if not process.running():
            raise RuntimeError(f"{process.name} exited early:\n{process.tail()}")
        try:
            response = probe.send(base)
        except requests.ConnectionError:
            time.sleep(POLL_INTERVAL)
            continue
        if response.ok or (probe.any_answer and response.status_code < 500):
            return time.perf_counter() - started
        raise RuntimeError(f"{probe.description}: HTTP {response.status_code} {response.text[:200]}")
    raise TimeoutError(f"{process.name} did not answer within {READY_TIMEOUT:.0f} s")


def cold_start(spec: FunctionSpec, ctx: BenchContext, probe: Probe) -> tuple[float, float]:
    """Seconds from process start to the first answer, and the CPU seconds the process used by then."""
    port = free_port()
    argv = [_functions_framework(), "--target", spec.entry_point, "--source", str(REPO_ROOT / "functions" / "main.py"),
            "--host", "127.0.0.1", "--port", str(port), "--signature-type", "http"]
    process = ManagedProcess(f"cold-start-{spec.name}", argv, env=ctx.stack.env, log_dir=ctx.stack.log_dir,
                             cwd=REPO_ROOT)
    started = time.perf_counter()
    process.start()
    try:
        seconds = _time_to_answer(probe, f"http://127.0.0.1:{port}", process, started)
        return seconds, cpu_seconds(process_trees([process.pid] if process.pid else []))
    finally:
        process.stop(grace=1.0)


def orthanc_restart(ctx: BenchContext) -> tuple[float, float]:
    """Stop Orthanc, start it again on its data: time to the first QIDO-RS answer, and its CPU time by then."""
    server = ctx.orthanc_server
    server.stop()
    seconds = server.start(ready_path="/dicom-web/studies?limit=1")
    return seconds, cpu_seconds([server.pid] if server.pid else [])


def compile_like_the_archive() -> None:
    """Write each BeamIt module's bytecode where Python looks for it, as the archive has it."""
    for path in [REPO_ROOT / "functions" / "main.py", *sorted((REPO_ROOT / "shared" / "beamit").rglob("*.py"))]:
        cached = Path(importlib.util.cache_from_source(str(path)))
        cached.parent.mkdir(exist_ok=True)
        cached.write_bytes(bytecode(path.read_bytes(), str(path)))


def median_of_trials(start: Callable[[], tuple[float, float]]) -> tuple[float, float]:
    """(seconds, CPU seconds) of the median of :data:`TRIALS` starts, by seconds."""
    return sorted(start() for _ in range(TRIALS))[TRIALS // 2]


def phase_cold_start(ctx: BenchContext, seconds: float) -> None:
    deadline = ctx.deadline.within(seconds)
    compile_like_the_archive()
    orthanc: Cell
    try:
        seconds_taken, cpu = median_of_trials(lambda: orthanc_restart(ctx))
        orthanc = Measure(seconds_taken * 1000, "ms", f"process start -> first QIDO answer; {cpu * 1000:.0f} ms CPU")
        print(f"  Orthanc restart: {format_cell(orthanc)}", flush=True)
    except Exception as exc:
        orthanc = f"failed ({type(exc).__name__})"
        ctx.findings.note(f"Orthanc restart failed: {exc}")
    for spec in load_manifest().functions:
        if spec.trigger.type != "http":
            continue
        if deadline.expired():
            ctx.findings.note(f"cold start of {spec.name} skipped by the phase's time budget")
            continue
        probe = probe_for(spec, ctx)
        beamit: Cell
        try:
            seconds_taken, cpu = median_of_trials(functools.partial(cold_start, spec, ctx, probe))
            beamit = Measure(seconds_taken * 1000, "ms", f"{probe.description}; {cpu * 1000:.0f} ms CPU")
        except Exception as exc:
            beamit = f"failed ({type(exc).__name__})"
            ctx.findings.note(f"cold start of {spec.name} failed: {exc}")
        print(f"  cold start {spec.name}: {format_cell(beamit)}", flush=True)
        ctx.findings.rows.append(Row(f"cold start: function {spec.name}", beamit,
                                     orthanc if spec.name == "dicomweb" else None, Better.LOWER))
