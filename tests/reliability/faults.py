"""Fault injection on the local stack: kill gateway workers, pause an emulator, and the record
of what each fault did (for docs/reliability.md)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from beamit.bench.memory import children
from beamit.devstack.stack import LocalStack
from tests.support import poll_until


def gateway_master(stack: LocalStack) -> int:
    (gateway,) = [p for p in stack.processes if p.name == "gateway"]
    assert gateway.pid is not None
    return gateway.pid


def kill_gateway_workers(stack: LocalStack) -> list[int]:
    """SIGKILL every gateway worker (gunicorn's master starts new ones); waits until the
    gateway answers again. Returns the killed pids."""
    master = gateway_master(stack)
    workers = children(master)
    assert workers, "the gateway has no workers"
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    poll_until(lambda: set(children(master)) - set(workers) and _healthy(stack), timeout=60,
               what="the gateway's new workers")
    return workers


def _healthy(stack: LocalStack) -> bool:
    try:
        return requests.get(f"{stack.url}/v1/health", timeout=5).status_code == 200
    except requests.RequestException:
        return False


@contextmanager
def paused(stack: LocalStack, name: str) -> Iterator[None]:
    """SIGSTOP the process group of one emulator (``firestore``, ``pubsub``, ``gcs``, ``kms``) for
    the block: it keeps its data and its sockets, and answers nothing until SIGCONT."""
    (process,) = [p for p in stack.processes if p.name == name]
    assert process.pid is not None
    os.killpg(process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.killpg(process.pid, signal.SIGCONT)


def wait_reached(marker: Path, timeout: float = 60.0) -> None:
    poll_until(marker.exists, timeout=timeout, interval=0.05, what=f"failpoint {marker.stem}")


@dataclass
class FaultResult:
    """One fault's row of docs/reliability.md."""

    fault: str
    client: str = ""
    """What the client got."""
    before: dict[str, int] = field(default_factory=dict)
    """Invariant violations right after the fault (before any sweep or retry)."""
    swept: int = 0
    retry: str = ""
    after: dict[str, int] = field(default_factory=dict)
    """Violations at the end (must be none)."""
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"fault": self.fault, "client": self.client, "before": self.before, "swept": self.swept,
                "retry": self.retry, "after": self.after, "seconds": round(self.seconds, 1), "notes": self.notes}


@dataclass
class Stopwatch:
    started: float = field(default_factory=time.monotonic)

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started
