"""One benchmark run: start both servers, run the phases within their budgets, report.

Every process started here (the local stack's emulators and gateway, Orthanc, the
cold-start function processes) runs in its own process group and is stopped at the end,
also on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import datetime
import logging
import os
import signal
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from beamit.bench.budget import Deadline
from beamit.bench.coldstart import phase_cold_start
from beamit.bench.context import BENCH_TENANT, PROFILE_TENANT, BenchContext, Findings
from beamit.bench.costs import render_costs_text
from beamit.bench.cpu import ProcessGroup
from beamit.bench.doc import BenchRecord, render_document
from beamit.bench.events import SETTLE_SECONDS, STACK_ENV, orthanc_lua, phase_events
from beamit.bench.machine import machine_facts, software_versions
from beamit.bench.memory import children
from beamit.bench.modes import BenchMode
from beamit.bench.orthanc import OrthancPeer, ensure_installed
from beamit.bench.peers import Peer
from beamit.bench.prerender import phase_prerender
from beamit.bench.receiver import EventReceiver
from beamit.bench.report import RATIO_NOTE, render_text
from beamit.bench.retrieve import phase_retrieve
from beamit.bench.search import phase_search
from beamit.bench.stow import phase_memory, phase_stow
from beamit.bench.viewer import phase_viewer
from beamit.devstack.stack import LocalStack

STOW_MAX_BYTES = 2 << 30
"""2 GiB: room for the ~1 GB single STOW-RS request."""

Phase = Callable[[BenchContext, float], None]
PHASES: tuple[tuple[str, Phase], ...] = (
    ("stow", phase_stow),
    ("prerender", phase_prerender),
    ("events", phase_events),
    ("retrieve", phase_retrieve),
    ("viewer", phase_viewer),
    ("search", phase_search),
    ("cold-start", phase_cold_start),
    ("memory", phase_memory),
)


def create_bench_tenant(stack: LocalStack, tenant: str = BENCH_TENANT) -> str:
    """The ``bench`` tenant (or ``tenant``) and an API key with every scope; returns the key."""
    from beamit.auth.api_keys import create_key
    from beamit.auth.scopes import ALL_SCOPES
    from beamit.settings import reset_settings
    from beamit.storage import reset_services, services
    from beamit.tenancy import TenantScope, create_tenant

    saved = dict(os.environ)
    os.environ.update(stack.env)
    reset_settings()
    reset_services()
    try:
        svc = services()
        create_tenant(svc.metadata, tenant, "BeamIt benchmark")
        issued = create_key(
            svc.metadata,
            env_prefix=svc.settings.api_key_prefix,
            tenant=TenantScope(tenant),
            name="make bench",
            scopes=ALL_SCOPES,
            created_by="make-bench",
        )
        return issued.token
    finally:
        os.environ.clear()
        os.environ.update(saved)
        reset_settings()
        reset_services()


def _gateway_workers(stack: LocalStack) -> list[int]:
    for process in stack.processes:
        if process.name == "gateway" and process.pid is not None:
            return children(process.pid)
    return []


EMULATORS = ("firestore", "pubsub", "gcs", "kms")


def _stack_roots(stack: LocalStack, names: tuple[str, ...]) -> list[int]:
    return [p.pid for p in stack.processes if p.name in names and p.pid is not None]


def beamit_cpu_groups(stack: LocalStack) -> tuple[ProcessGroup, ...]:
    """The gateway (gunicorn master and workers: every function) and the emulators' process trees."""
    return (ProcessGroup("gateway", lambda: _stack_roots(stack, ("gateway",))),
            ProcessGroup("emulators", lambda: _stack_roots(stack, EMULATORS)))


def _on_sigterm(signum: int, frame: object) -> NoReturn:
    raise KeyboardInterrupt("SIGTERM")


def phase_budget(nominal: dict[str, float], name: str, remaining: float) -> float:
    """The phase's nominal budget, or more: what is left of the run after reserving the later phases'."""
    names = [phase for phase, _ in PHASES]
    later = sum(nominal[phase] for phase in names[names.index(name) + 1 :])
    return max(nominal[name], remaining - later)


def _run_phases(ctx: BenchContext) -> None:
    for name, phase in PHASES:
        budget = phase_budget(ctx.mode.phase_seconds, name, ctx.deadline.remaining())
        if ctx.deadline.expired():
            ctx.findings.note(f"phase {name} skipped: the run's {ctx.mode.total_seconds:.0f} s budget is spent")
            continue
        print(f"== {name} (budget {budget:.0f} s)", flush=True)
        started = time.monotonic()
        try:
            phase(ctx, budget)
        except Exception as exc:  # one failing phase must not lose the others' numbers
            ctx.findings.note(f"phase {name} failed: {type(exc).__name__}: {exc}")
        print(f"   {name} took {time.monotonic() - started:.0f} s", flush=True)


def run(mode: BenchMode, doc_path: Path | None, large_studies: int | None = None) -> int:
    if large_studies is not None:
        mode = BenchMode(**{**mode.__dict__, "qido_sizes": (mode.qido_sizes[0], large_studies)})
    started_at = datetime.datetime.now(datetime.UTC)
    started = time.monotonic()
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    state_dir = Path(tempfile.mkdtemp(prefix="beamit-bench-"))
    log_dir = state_dir / "logs"
    log_dir.mkdir(parents=True)
    logging.getLogger("dicomweb_client").setLevel(logging.ERROR)  # "299 ... additional results" warnings
    print(f"BeamIt benchmark, {mode.name} mode (budget {mode.total_seconds / 60:.0f} min); logs in {log_dir}",
          flush=True)
    machine = machine_facts()
    findings = Findings()
    ensure_installed(log_dir / "apt.log")
    receiver = EventReceiver()
    orthanc_server = OrthancPeer(log_dir, lua=orthanc_lua(receiver), stable_age=SETTLE_SECONDS)
    stack = LocalStack(state_dir=state_dir, extra_env={"BEAMIT_STOW_MAX_BYTES": str(STOW_MAX_BYTES), **STACK_ENV,
                                                       "BEAMIT_TRACE_STORAGE": "true"})
    orthanc_version = None
    try:
        print("== start", flush=True)
        orthanc_first = orthanc_server.start()
        orthanc_version = orthanc_server.version()
        stack_started = time.monotonic()
        stack.start(timeout=mode.phase_seconds["start"])
        findings.facts["start"] = (
            f"local stack ready in {time.monotonic() - stack_started:.1f} s; "
            f"Orthanc (empty) answered in {orthanc_first * 1000:.0f} ms"
        )
        print(f"   {findings.facts['start']}", flush=True)
        key = create_bench_tenant(stack)
        profile_key = create_bench_tenant(stack, PROFILE_TENANT)
        ctx = BenchContext(
            mode=mode,
            stack=stack,
            beamit=Peer("BeamIt", f"{stack.url}/v1/dicomweb", {"Authorization": f"Bearer {key}"},
                        memory_pids=lambda: _gateway_workers(stack), cpu_groups=beamit_cpu_groups(stack),
                        profiled_pid=lambda: next(iter(_stack_roots(stack, ("gateway",))), None)),
            orthanc=Peer("Orthanc", orthanc_server.dicomweb_url, unencoded_queries=True,
                         memory_pids=lambda: [pid for pid in [orthanc_server.pid] if pid is not None],
                         cpu_groups=(ProcessGroup("Orthanc", lambda: [p for p in [orthanc_server.pid] if p]),)),
            api_key=key,
            profiling=Peer("BeamIt", f"{stack.url}/v1/dicomweb", {"Authorization": f"Bearer {profile_key}"},
                           profiled_pid=lambda: next(iter(_stack_roots(stack, ("gateway",))), None)),
            orthanc_server=orthanc_server,
            deadline=Deadline(mode.total_seconds - (time.monotonic() - started)),
            event_receiver=receiver,
            findings=findings,
        )
        _run_phases(ctx)
    finally:
        print("== stopping the stack and Orthanc", flush=True)
        stack.stop()
        orthanc_server.cleanup()
        receiver.close()
        signal.signal(signal.SIGTERM, previous)
    seconds = time.monotonic() - started
    print()
    print(render_text(findings.rows))
    if findings.qido_rows:
        print()
        print(render_text(findings.qido_rows))
    if findings.costs:
        print()
        print(render_costs_text(findings.costs.values()))
    print()
    print(RATIO_NOTE)
    for note in findings.notes:
        print(f"note: {note}")
    record = BenchRecord(
        mode=mode.name,
        started=started_at,
        seconds=seconds,
        machine=machine,
        versions=software_versions(orthanc_version),
        facts=findings.facts,
        rows=findings.rows,
        qido_rows=findings.qido_rows,
        notes=findings.notes,
        costs=list(findings.costs.values()),
        sections=findings.sections,
        profiles=findings.profiles,
    )
    if doc_path is not None:
        doc_path.write_text(render_document(record))
        print(f"wrote {doc_path}")
    print(f"bench ({mode.name}) took {seconds:.0f} s ({seconds / 60:.1f} min)")
    return 0
