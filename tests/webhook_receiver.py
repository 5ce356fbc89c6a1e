"""A webhook receiver for tests: an HTTP server on loopback that records every request and
answers as told (fail N times, 410, slow, Retry-After, connection reset), the verification
snippets of ``docs/webhooks.md`` loaded as a receiver would copy them, and the simulated clock of
the retry queue (:func:`make_due`)."""

from __future__ import annotations

import re
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from beamit.clock import utcnow
from beamit.storage import Services
from beamit.webhooks import deliveries

DOCS = Path(__file__).resolve().parents[1] / "docs" / "webhooks.md"


def docs_snippet(language: str) -> str:
    """The code block after ``<!-- snippet: {language} -->`` in docs/webhooks.md."""
    text = DOCS.read_text("utf-8")
    match = re.search(rf"<!-- snippet: {language} -->\s*```\w+\n(.*?)```", text, re.S)
    assert match, f"no {language} snippet in {DOCS}"
    return match.group(1)


def python_verifier() -> dict[str, Any]:
    """The docs' Python snippet, executed: ``verify_webhook`` and ``InvalidWebhook``."""
    namespace: dict[str, Any] = {}
    exec(compile(docs_snippet("python"), "<docs/webhooks.md: python snippet>", "exec"), namespace)
    return namespace


@dataclass
class Received:
    """A request as it arrived (``at``: arrival time, before any delay of the answer)."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Answer:
    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    reset: bool = False
    """Read the request, then reset the connection (TCP RST) instead of answering."""


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # a production receiver's listen backlog, not socketserver's 5
    daemon_threads = True


class Receiver:
    """``answers`` are used in order, then ``default`` for every later request."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.answers: list[Answer] = []
        self.default = Answer()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver._arrived:
                    answer = receiver.answers.pop(0) if receiver.answers else receiver.default
                    receiver.requests.append(Received(self.path, dict(self.headers.items()), body, time.time()))
                    receiver._arrived.notify_all()
                if answer.delay:
                    time.sleep(answer.delay)
                if answer.reset:
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
                    self.close_connection = True
                    return
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the sender timed out and went away

            def log_message(self, *args: object) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/beamit"

    def fail(self, times: int, status: int = 500, headers: dict[str, str] | None = None) -> None:
        self.answers.extend(Answer(status, headers=headers or {}) for _ in range(times))

    def reset(self, times: int) -> None:
        self.answers.extend(Answer(reset=True) for _ in range(times))

    def wait_for(
        self, count: int, timeout: float = 30.0, where: Callable[[Received], bool] | None = None
    ) -> list[Received]:
        """Block until ``count`` requests (matching ``where``) arrived; returns them."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                matching = [r for r in self.requests if where is None or where(r)]
                if len(matching) >= count:
                    return matching
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"expected {count} requests, got {len(matching)} after {timeout}s")
                self._arrived.wait(remaining)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def make_due(svc: Services, tenant_id: str, delivery_id: str) -> None:
    """Bring a delivery's scheduled retry (or the end of its lease) forward to now: the retry
    schedule's simulated clock."""
    svc.metadata.update(deliveries.queue_path(tenant_id, delivery_id), {"dueAt": utcnow() - timedelta(seconds=1)})
