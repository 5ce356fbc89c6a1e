"""A webhook receiver for tests: an HTTP server on loopback that records every request and
answers as told (fail N times, 410, slow, Retry-After), and the verification snippets of
``docs/webhooks.md`` loaded as a receiver would copy them."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

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

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/beamit"

    def fail(self, times: int, status: int = 500, headers: dict[str, str] | None = None) -> None:
        self.answers.extend(Answer(status, headers=headers or {}) for _ in range(times))

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
