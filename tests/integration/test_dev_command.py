"""``beamit dev`` (what ``make dev`` runs): up, healthy, a working sandbox key, the dashboard
and its sandbox sign-in, clean stop."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import signal
import subprocess
import sys
from urllib.parse import urlencode

import requests

from beamit.devstack.processes import free_port
from tests.oauth_flow import Browser, query_of
from tests.support import poll_until


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def sign_in_to_the_dashboard(values: dict[str, str]) -> None:
    """The printed dashboard URL serves the page, and the printed sign-in works: the
    authorization code flow with PKCE of the sandbox's dashboard client, as the page does it."""
    url = values["BEAMIT_DASHBOARD_URL"]
    assert url == f"{values['BEAMIT_URL']}/dashboard/?workspace=sandbox"
    page = requests.get(url, timeout=30)
    assert page.status_code == 200 and 'src="/dashboard/assets/app.js"' in page.text
    workspace = requests.get(f"{values['BEAMIT_URL']}/dashboard/api/workspaces/sandbox", timeout=30).json()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    query = urlencode({"response_type": "code", "client_id": workspace["clientId"], "state": "s1",
                       "redirect_uri": workspace["redirectUri"], "scope": " ".join(workspace["scopes"]),
                       "code_challenge": challenge, "code_challenge_method": "S256"})
    browser = Browser(values["BEAMIT_URL"], requests.Session())
    location = browser.authorize(f"{workspace['authorizationEndpoint']}?{query}", values["BEAMIT_SANDBOX_EMAIL"],
                                 values["BEAMIT_SANDBOX_PASSWORD"])
    assert location.startswith(workspace["redirectUri"]) and query_of(location)["state"] == "s1"
    token = requests.post(workspace["tokenEndpoint"], timeout=30, data={
        "grant_type": "authorization_code", "code": query_of(location)["code"], "client_id": workspace["clientId"],
        "redirect_uri": workspace["redirectUri"], "code_verifier": verifier}).json()
    assert set(token["scope"].split()) == set(workspace["scopes"])  # the sandbox user is an admin
    audit = requests.get(f"{values['BEAMIT_URL']}/v1/audit", timeout=30,
                         headers={"Authorization": f"Bearer {token['access_token']}"})
    assert audit.status_code == 200


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
        sign_in_to_the_dashboard(values)
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
