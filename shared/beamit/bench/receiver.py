"""A receiver on loopback for the study events phase (:mod:`beamit.bench.events`): BeamIt's
webhook deliveries and Orthanc's Lua posts, each arrival's time by path and study."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from beamit.bench.budget import Deadline

ORTHANC_PATH = "/orthanc-stable-study"
BEAMIT_PATH = "/beamit-webhook"


@dataclass
class EventReceiver:
    """An HTTP server on loopback recording when each study's event arrived, by path."""

    arrivals: dict[str, dict[str, float]] = field(default_factory=dict)
    _lock: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                at = time.time()
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.record(self.path, body, at)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def record(self, path: str, body: bytes, at: float) -> None:
        if path == BEAMIT_PATH:
            event = json.loads(body)
            if event.get("type") != "study.received":
                return
            study = str(event["data"]["studyInstanceUID"])
        else:
            study = body.decode("utf-8", "replace").strip()
        with self._lock:
            self.arrivals.setdefault(path, {}).setdefault(study, at)  # the first arrival counts
            self._lock.notify_all()

    def wait_for(self, path: str, studies: set[str], deadline: Deadline) -> dict[str, float]:
        with self._lock:
            while not studies <= set(self.arrivals.get(path, {})) and not deadline.expired():
                self._lock.wait(min(0.5, deadline.remaining()))
            return {s: t for s, t in self.arrivals.get(path, {}).items() if s in studies}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
