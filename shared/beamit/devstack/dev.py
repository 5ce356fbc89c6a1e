"""``make dev`` / ``beamit dev``: the whole product on emulators, with a sandbox tenant.

Starts the stack on BEAMIT_PORT (default 8080), creates the ``sandbox`` tenant, an API key
holding every scope, the integration dashboard's client and an ``admin`` user with a new
random password, writes them to ``.beamit/sandbox.env``, seeds synthetic studies, and runs
until Ctrl-C or SIGTERM, then stops every process it started.
"""

from __future__ import annotations

import os
import secrets
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from beamit.devstack.emulators import REPO_ROOT
from beamit.devstack.stack import LocalStack
from beamit.sandbox.load import SeedReport, seed_sandbox

SANDBOX_TENANT = "sandbox"
EVENT_SWEEP_SECONDS = 2.0
SANDBOX_ADMIN = "admin@sandbox.beamit.test"  # RFC 2606 .test: never a real mailbox
LOCAL_VIEWER_ORIGINS = "http://127.0.0.1:3000,http://localhost:3000"


@dataclass(frozen=True)
class SandboxAccess:
    """What ``make dev`` prints and writes to ``.beamit/sandbox.env``."""

    url: str
    api_key: str
    email: str
    password: str

    @property
    def dashboard_url(self) -> str:
        return f"{self.url}/dashboard/?workspace={SANDBOX_TENANT}"


def bootstrap_sandbox(stack: LocalStack) -> SandboxAccess:
    """Create the sandbox tenant, an all-scope API key, the dashboard's client and an admin user."""
    from beamit.auth.api_keys import create_key
    from beamit.auth.scopes import ALL_SCOPES
    from beamit.auth.users import create_user
    from beamit.dashboard.workspaces import register_dashboard_client
    from beamit.settings import reset_settings
    from beamit.storage import reset_services, services
    from beamit.tenancy import TenantScope, ensure_tenant

    os.environ.update(stack.env)
    reset_settings()
    reset_services()
    svc = services()
    ensure_tenant(svc.metadata, SANDBOX_TENANT, "BeamIt sandbox")
    issued = create_key(
        svc.metadata,
        env_prefix=svc.settings.api_key_prefix,
        tenant=TenantScope(SANDBOX_TENANT),
        name="sandbox (make dev)",
        scopes=ALL_SCOPES,
        created_by="make-dev",
    )
    register_dashboard_client(svc.metadata, SANDBOX_TENANT, svc.settings.public_base_url, created_by="make-dev")
    password = secrets.token_urlsafe(12)
    create_user(svc.metadata, TenantScope(SANDBOX_TENANT), email=SANDBOX_ADMIN, role="admin", password=password,
                created_by="make-dev")
    return SandboxAccess(stack.url, issued.token, SANDBOX_ADMIN, password)


def write_sandbox_env(path: Path, access: SandboxAccess) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(
            f"BEAMIT_URL={access.url}\nBEAMIT_API_KEY={access.api_key}\n"
            f"BEAMIT_DASHBOARD_URL={access.dashboard_url}\n"
            f"BEAMIT_SANDBOX_EMAIL={access.email}\nBEAMIT_SANDBOX_PASSWORD={access.password}\n"
        )
    os.replace(tmp, path)


def print_sms_outbox(stop: threading.Event, every: float = 1.0) -> None:
    """Print each new message of the local SMS outbox (beamit.sms.outbox) on the dev console."""
    from beamit.clock import utcnow
    from beamit.sms.outbox import new_messages
    from beamit.storage import services

    since = utcnow()
    while not stop.wait(every):
        try:
            messages = new_messages(services().metadata, since)
        except Exception as exc:  # the emulator stopping under us at Ctrl-C
            print(f"  (SMS outbox not read: {type(exc).__name__})", flush=True)
            continue
        for message in messages:
            since = max(since, message["createdAt"])
            body = message["body"].replace("\n", " | ")
            print(f"SMS to {message['to']} ({message['purpose']}): {body}", flush=True)


def seed_stack(stack: LocalStack, api_key: str) -> SeedReport:
    """What ``make dev`` loads: a small deterministic sandbox of every modality, through STOW-RS."""
    report = seed_sandbox(stack.url, api_key)
    print(
        f"  sandbox data: {report.instances} instances of {report.studies} synthetic studies "
        f"({report.bytes / 1e6:.0f} MB)"
        + (f", {report.failed_requests} failed requests" if report.failed_requests else ""),
        flush=True,
    )
    return report


def run(
    port: int,
    seed: Callable[[LocalStack, str], Any] | None = None,
    tick_seconds: float = 60.0,
    state_dir: Path | None = None,
) -> int:
    state_dir = state_dir or REPO_ROOT / ".beamit"
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    started = time.monotonic()
    # Browser viewers served locally (make ohif on :3000) may call DICOMweb unless told otherwise.
    origins = os.environ.get("BEAMIT_CORS_ORIGINS") or LOCAL_VIEWER_ORIGINS
    stack = LocalStack(state_dir=state_dir, gateway_port=port, extra_env={"BEAMIT_CORS_ORIGINS": origins})
    try:
        stack.start()
        health = stack.wait_healthy()
        access = bootstrap_sandbox(stack)
        env_file = state_dir / "sandbox.env"
        write_sandbox_env(env_file, access)
        print(f"BeamIt is up at {stack.url} ({time.monotonic() - started:.1f}s): health {health['status']}")
        print(f"  sandbox tenant: {SANDBOX_TENANT}")
        print(f"  API key (all scopes): {access.api_key}")
        print(f"  dashboard: {access.dashboard_url}")
        print(f"    sign in as {access.email} with password {access.password} (role admin)")
        print(f"  written to {env_file}; logs in {state_dir / 'logs'}")
        if seed is not None and not stop.is_set():
            seed(stack, access.api_key)
        threading.Thread(target=print_sms_outbox, args=(stop,), name="sms-outbox", daemon=True).start()
        print("Ctrl-C stops everything.", flush=True)
        from beamit.devstack.scheduler import EVENT_SWEEP, tick

        # Every scheduled function each tick_seconds, and the event sweep every few seconds (so
        # study.received follows the local settle window closely; production: every minute,
        # each run watching for settling studies, see beamit.events.sweep).
        every = max(1, round(tick_seconds / EVENT_SWEEP_SECONDS))
        ticks = 0
        while not stop.wait(EVENT_SWEEP_SECONDS):
            ticks += 1
            tick(stack, only=None if ticks % every == 0 else (EVENT_SWEEP,))
        return 0
    finally:
        print("stopping BeamIt ...", flush=True)
        stack.stop()
