"""``beamit dev`` (what ``make dev`` runs): up, healthy, a working sandbox key, clean stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import requests

from beamit.devstack.processes import free_port
from tests.support import poll_until


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_dev_command_serves_the_sandbox_and_stops_everything(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.endswith("_EMULATOR_HOST")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "beamit.cli", "dev", "--no-seed", "--port", str(port), "--state-dir", str(tmp_path)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        env_file = tmp_path / "sandbox.env"

        def up() -> bool:
            assert proc.poll() is None, "beamit dev exited early"
            return env_file.exists()

        poll_until(up, timeout=90, interval=0.2, what="make dev coming up (sandbox.env written)")
        values = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
        assert values["BEAMIT_URL"] == f"http://127.0.0.1:{port}"
        assert (env_file.stat().st_mode & 0o077) == 0  # the key file is private to its owner
        health = requests.get(f"{values['BEAMIT_URL']}/v1/health", timeout=30)
        assert health.status_code == 200
        keys = requests.get(
            f"{values['BEAMIT_URL']}/v1/api-keys",
            headers={"Authorization": f"Bearer {values['BEAMIT_API_KEY']}"},
            timeout=30,
        )
        assert keys.status_code == 200
        children = json.loads((tmp_path / "processes.json").read_text())
        assert set(children) == {"firestore", "pubsub", "kms", "gcs", "gateway"}
        assert all(_alive(pid) for pid in children.values())
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    poll_until(lambda: not any(_alive(pid) for pid in children.values()), timeout=10, interval=0.2,
               what=lambda: f"the end of {[name for name, pid in children.items() if _alive(pid)]}")
    try:
        requests.get(f"http://127.0.0.1:{port}/v1/health", timeout=2)
        raise AssertionError("the gateway still answers after Ctrl-C")
    except requests.ConnectionError:
        pass
