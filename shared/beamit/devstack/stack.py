"""The whole product locally: emulators, provisioned resources, the gateway.

``LocalStack`` starts every emulator on a free loopback port (in parallel), creates the
buckets, topics, subscriptions and keys of ``platform.json``, and serves the functions
behind one gateway with gunicorn. Its :attr:`env` is the environment a function needs to
reach the stack; :meth:`stop` ends every process it started.
"""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from beamit.deployment import load_manifest
from beamit.devstack import emulators, provision
from beamit.devstack.processes import ManagedProcess, free_port, http_ready
from beamit.settings import Settings, load_settings

PROJECT = "beamit-local"
LOCAL_API_KEY_BUDGET = "1000000"

LOCAL_EVENT_SETTINGS = {
    "BEAMIT_STUDY_SETTLE_SECONDS": "2",
    "BEAMIT_OUTBOX_GRACE_SECONDS": "1",
    "BEAMIT_EVENT_SWEEP_WATCH_SECONDS": "0",
}
"""The event sweep locally, unless the environment says otherwise: a short settle window, and
one pass per tick (the dev stack and tests tick it themselves, see
:mod:`beamit.devstack.scheduler`)."""


class LocalStack:
    def __init__(
        self,
        *,
        state_dir: Path,
        gateway_port: int | None = None,
        workers: int = 2,
        threads: int = 8,
        extra_env: dict[str, str] | None = None,
        kms_state: bool = False,
    ) -> None:
        self.state_dir = state_dir
        self.log_dir = state_dir / "logs"
        self.gateway_port = gateway_port or free_port()
        self.workers = workers
        self.threads = threads
        self.extra_env = extra_env or {}
        self.kms_state = kms_state
        self.processes: list[ManagedProcess] = []
        self.env: dict[str, str] = {}
        self._ready_urls: dict[str, str] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    @property
    def settings(self) -> Settings:
        return load_settings(self.env)

    def start(self, timeout: float = 90.0) -> LocalStack:
        try:
            self._start(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, timeout: float) -> None:
        base_env = {k: v for k, v in os.environ.items() if not k.endswith("_EMULATOR_HOST")}
        base_env.update({"GOOGLE_CLOUD_PROJECT": PROJECT, "CLOUDSDK_CORE_PROJECT": PROJECT})
        prefix = f"{PROJECT}-beamit"
        fs = emulators.firestore(PROJECT, base_env, self.log_dir)
        ps = emulators.pubsub(PROJECT, base_env, self.log_dir)
        kms_file = self.state_dir / "kms-state.json" if self.kms_state else None
        km = emulators.kms(base_env, self.log_dir, kms_file)
        gcs_env = {**base_env, "PUBSUB_EMULATOR_HOST": ps.host_port}
        gc = emulators.gcs(
            PROJECT, f"{prefix}-{provision.INBOX_NOTIFICATIONS}", f"{prefix}-inbox", gcs_env, self.log_dir
        )
        self.env = {
            **base_env,
            "BEAMIT_ENV": "local",
            "BEAMIT_PUBLIC_URL": self.url,
            "BEAMIT_RESOURCE_PREFIX": prefix,
            "FIRESTORE_EMULATOR_HOST": fs.host_port,
            "PUBSUB_EMULATOR_HOST": ps.host_port,
            "STORAGE_EMULATOR_HOST": f"http://{gc.host_port}",
            "BEAMIT_KMS_ENDPOINT": f"http://{km.host_port}",
            **{name: base_env.get(name, value) for name, value in LOCAL_EVENT_SETTINGS.items()},
            # One sandbox key serves OHIF (a request per frame), the benchmarks and the tests: a
            # budget no local use reaches (the budget tests give their tenants their own).
            "BEAMIT_API_KEY_REQUESTS_PER_MINUTE": LOCAL_API_KEY_BUDGET,
            **self.extra_env,
        }
        self._ready_urls = {e.name: e.ready_url for e in (fs, ps, km, gc)}
        ordered = [fs, ps, km]
        for emu in ordered:
            self.processes.append(emu.process.start())
        with ThreadPoolExecutor(max_workers=len(ordered)) as pool:
            futures = [pool.submit(e.process.wait_ready, http_ready(e.ready_url), timeout) for e in ordered]
            for future in futures:
                future.result()
        settings = self.settings
        _with_env(self.env, provision.create_topics, settings)
        self.processes.append(gc.process.start())
        gc.process.wait_ready(http_ready(gc.ready_url), timeout)
        _with_env(self.env, provision.create_buckets, settings)
        _with_env(self.env, provision.create_kms_keys, settings)
        self._subscribe_triggers(settings)
        self._start_gateway(timeout)
        self._record_processes()

    def _record_processes(self) -> None:
        """``processes.json``: what this stack started (for operators and the lifecycle test)."""
        import json

        pids = {p.name: p.pid for p in self.processes}
        (self.state_dir / "processes.json").write_text(json.dumps(pids))

    def _subscribe_triggers(self, settings: Settings) -> None:
        for spec in load_manifest().functions:
            endpoint = f"{self.url}/_triggers/{spec.name}"
            if spec.trigger.type == "gcs-finalize":
                _with_env(
                    self.env,
                    provision.create_push_subscription,
                    settings,
                    provision.INBOX_NOTIFICATIONS,
                    spec.name,
                    endpoint,
                )
            elif spec.trigger.type == "pubsub-push" and spec.trigger.topic:
                _with_env(
                    self.env, provision.create_push_subscription, settings, spec.trigger.topic, spec.name, endpoint
                )

    def _start_gateway(self, timeout: float) -> None:
        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{self.gateway_port}",
            "--workers",
            str(self.workers),
            "--threads",
            str(self.threads),
            "--worker-class",
            "gthread",
            "--timeout",
            "0",
            "--graceful-timeout",
            "5",
            "beamit.devstack.wsgi:app",
        ]
        gateway = ManagedProcess("gateway", argv, env=self.env, log_dir=self.log_dir, cwd=emulators.REPO_ROOT).start()
        self.processes.append(gateway)
        self._ready_urls["gateway"] = f"{self.url}/v1/health"
        gateway.wait_ready(http_ready(self._ready_urls["gateway"]), timeout)

    # -- faults (tests stop, kill and restart one process of a running stack) -----------------------

    def process(self, name: str) -> ManagedProcess:
        """The stack's process ``name``: firestore, pubsub, kms, gcs or gateway."""
        for process in self.processes:
            if process.name == name:
                return process
        raise KeyError(name)

    def restart(self, name: str, timeout: float = 90.0) -> None:
        """Start a process of the stack that was stopped or killed, on the same port, and wait
        until it answers. The Pub/Sub emulator keeps topics and subscriptions in memory only:
        they are created again."""
        process = self.process(name)
        if process.running():
            process.stop()
        process.start()
        process.wait_ready(http_ready(self._ready_urls[name]), timeout)
        if name == "pubsub":
            settings = self.settings
            _with_env(self.env, provision.create_topics, settings)
            self._subscribe_triggers(settings)
        self._record_processes()

    def wait_healthy(self, timeout: float = 60.0) -> dict[str, Any]:
        import json
        import urllib.error
        import urllib.request

        deadline = time.monotonic() + timeout
        last: dict[str, Any] = {}
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/v1/health", timeout=10) as resp:
                    return dict(json.loads(resp.read()))
            except urllib.error.HTTPError as err:
                last = json.loads(err.read() or b"{}")
            except OSError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"stack not healthy after {timeout:.0f}s: {last}")

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _with_env(env: dict[str, str], fn: Any, *args: Any) -> Any:
    """Run a provisioning call with the emulator variables the client libraries read."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return fn(*args)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
