"""beamit.storage.gcs.MediaHttp: Cloud Storage's media requests carry the function's token.

The emulator takes anonymous requests, so this is where the production header is checked: a
local HTTP server stands in for storage.googleapis.com and records what each request carried.
"""

from __future__ import annotations

import datetime
import http.server
import threading
from collections.abc import Iterator

import pytest
from google.auth import credentials as ga_credentials

from beamit.storage.gcs import MediaHttp


class CountingCredentials(ga_credentials.Credentials):
    """Credentials whose token lasts ``lifetime``; counts refreshes."""

    def __init__(self, lifetime: datetime.timedelta) -> None:
        super().__init__()
        self.refreshes = 0
        self.lifetime = lifetime

    def refresh(self, request: object) -> None:
        self.refreshes += 1
        self.token = f"token-{self.refreshes}"
        self.expiry = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) + self.lifetime


@pytest.fixture
def server() -> Iterator[tuple[str, list[dict[str, str]]]]:
    seen: list[dict[str, str]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append({k.title(): v for k, v in self.headers.items()})
            body = b"media bytes"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/o", seen
    httpd.shutdown()
    httpd.server_close()


def test_each_request_carries_the_bearer_token_refreshed_only_when_expired(server):
    url, seen = server
    credentials = CountingCredentials(datetime.timedelta(hours=1))
    media = MediaHttp(credentials, connections=2)
    for _ in range(3):
        response = media.request("GET", url, {"Accept-Encoding": "identity"})
        assert response.status == 200 and response.read() == b"media bytes"
    assert credentials.refreshes == 1  # one token for all three
    assert [h["Authorization"] for h in seen] == ["Bearer token-1"] * 3
    assert all(h["Accept-Encoding"] == "identity" for h in seen)


def test_an_expired_token_is_refreshed_before_the_request(server):
    url, seen = server
    credentials = CountingCredentials(datetime.timedelta(seconds=-1))  # expired as soon as made
    media = MediaHttp(credentials, connections=2)
    media.request("GET", url, {}).read()
    media.request("GET", url, {}).read()
    assert credentials.refreshes == 2
    assert [h["Authorization"] for h in seen] == ["Bearer token-1", "Bearer token-2"]
