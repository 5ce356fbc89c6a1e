"""One delivery attempt: a POST to a checked, pinned address, with a short timeout.

The connection goes to an address :func:`~beamit.webhooks.destinations.resolve_destination`
checked (never to whatever the name resolves to a moment later), with the original
``Host`` header, TLS SNI and certificate hostname check. Redirects are not followed (a 3xx
is a failed attempt), no proxy from the environment is used, and the response body is
not read: only the status code and ``Retry-After`` matter.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import certifi
import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

from beamit.webhooks.destinations import Destination

ATTEMPT_TIMEOUT_SECONDS = 10.0
CONNECT_TIMEOUT_SECONDS = 5.0
MAX_ERROR_LENGTH = 300


@dataclass(frozen=True)
class AttemptOutcome:
    """What one attempt got: a status code, or the error that prevented one."""

    status_code: int | None
    latency_ms: int
    error: str | None = None
    retry_after: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _describe(exc: Exception) -> str:
    if isinstance(exc, NewConnectionError):  # before ConnectTimeoutError, its base class in urllib3 2
        kind = "connection failed"
    elif isinstance(exc, ConnectTimeoutError):
        return "timeout: no connection within the connect timeout"
    elif isinstance(exc, (ReadTimeoutError, TimeoutError)):
        return "timeout: no answer within the attempt timeout"
    elif isinstance(exc, SSLError):
        kind = "tls error"
    elif isinstance(exc, ProtocolError):
        kind = "connection error"
        cause = next((a for a in exc.args if isinstance(a, OSError)), None)
        if cause is not None and cause.strerror:  # e.g. "Connection reset by peer", not the tuple's repr
            return f"{kind}: {cause.strerror}"[:MAX_ERROR_LENGTH]
    else:
        kind = "network error"
    detail = str(exc).split(": ", 1)[-1]
    return f"{kind}: {detail}"[:MAX_ERROR_LENGTH]


def _pool(destination: Destination, address: str, timeout: urllib3.Timeout) -> urllib3.HTTPConnectionPool:
    if destination.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            address,
            destination.port,
            timeout=timeout,
            retries=False,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
            server_hostname=destination.host,
            assert_hostname=destination.host,
        )
    return urllib3.HTTPConnectionPool(address, destination.port, timeout=timeout, retries=False)


def post(
    destination: Destination, body: bytes, headers: dict[str, str], *, timeout: float = ATTEMPT_TIMEOUT_SECONDS
) -> AttemptOutcome:
    """POST ``body``; tries the checked addresses in order until one connects, within ``timeout``."""
    started = time.monotonic()
    deadline = started + timeout
    error = "no address to connect to"
    for address in destination.addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        limits = urllib3.Timeout(connect=min(CONNECT_TIMEOUT_SECONDS, remaining), read=remaining, total=remaining)
        try:
            with _pool(destination, address, limits) as pool:
                response = pool.urlopen(
                    "POST",
                    destination.target,
                    body=body,
                    headers={**headers, "Host": destination.host_header},
                    redirect=False,
                    retries=False,
                    preload_content=False,
                    assert_same_host=False,
                )
                response.close()  # the body is not read: close the connection with it
                return AttemptOutcome(
                    status_code=response.status,
                    latency_ms=round((time.monotonic() - started) * 1000),
                    retry_after=response.headers.get("Retry-After"),
                )
        except (NewConnectionError, ConnectTimeoutError) as exc:
            error = _describe(exc)  # try the next address
        except (HTTPError, OSError) as exc:
            error = _describe(exc)
            break
    return AttemptOutcome(status_code=None, latency_ms=round((time.monotonic() - started) * 1000), error=error)
