"""The two DICOMweb servers under test, each reached through ``dicomweb_client.DICOMwebClient``.

Both get the same client, with HTTP retries off (a retry would hide a failure inside a
latency). Orthanc 1.10's DICOMweb plugin matches QIDO values without percent-decoding them
(``PatientName=Smith%2A`` matches nothing, ``PatientName=Smith*`` matches), while
dicomweb-client percent-encodes every value: Orthanc's client sends the query string
with ``* ? - , .`` unencoded (:class:`UnencodedQueryClient`). Query values are ASCII.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests
from dicomweb_client import DICOMwebClient

from beamit.bench.cpu import ProcessGroup
from beamit.bench.report import NOT_IMPLEMENTED, Cell
from beamit.storage.trace import HEADER, TraceSummary, parse_header

CLIENT_TIMEOUT = 600.0
UNENCODED = "*?-,."


class EndpointMissing(RuntimeError):
    """The server has no route for the request (not the same as a resource it cannot find)."""


class UnencodedQueryClient(DICOMwebClient):
    """A ``DICOMwebClient`` that leaves QIDO wildcard and range characters unencoded."""

    def _http_get(
        self,
        url: str,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        stream: bool = False,
    ) -> requests.models.Response:
        if params:
            pairs = []
            for key, value in params.items():
                for item in value if isinstance(value, list | tuple | set) else [value]:
                    pairs.append(f"{key}={quote(str(item), safe=UNENCODED)}")
            url += "?" + "&".join(pairs)
        return super()._http_get(url, None, headers, stream)


@dataclass
class Peer:
    """One server: its DICOMweb root, credentials, the processes whose memory is read, the
    process groups whose CPU time is charged to it, and the storage traces its answers carry."""

    name: str
    dicomweb_url: str
    headers: dict[str, str] = field(default_factory=dict)
    unencoded_queries: bool = False
    memory_pids: Callable[[], list[int]] = list
    cpu_groups: tuple[ProcessGroup, ...] = ()
    profiled_pid: Callable[[], int | None] = lambda: None
    """The process whose tree py-spy samples in profiled loops (BeamIt: the gateway)."""
    traces: list[TraceSummary] = field(default_factory=list)
    """The :data:`~beamit.storage.trace.HEADER` of every answer (BeamIt's gateway sends it)."""

    def client(self, timeout: float = CLIENT_TIMEOUT) -> DICOMwebClient:
        cls = UnencodedQueryClient if self.unencoded_queries else DICOMwebClient
        client = cls(self.dicomweb_url, headers=dict(self.headers), timeout=timeout, callback=self._keep_trace)
        client.set_http_retry_params(retry=False)
        return client

    def _keep_trace(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        value = response.headers.get(HEADER)
        if value:
            self.traces.append(parse_header(value))

    def take_traces(self) -> list[TraceSummary]:
        """The traces kept since the last call (and forget them)."""
        taken, self.traces[:] = list(self.traces), []
        return taken


def unrouted(response: requests.Response) -> bool:
    """True when the server has no such endpoint: 405/501, or BeamIt's router 404 ("no such resource")."""
    if response.status_code in (405, 501):
        return True
    if response.status_code != 404:
        return False
    try:
        error = response.json().get("error", {})
    except ValueError:
        return False
    return isinstance(error, dict) and error.get("message") == "no such resource"


def call(operation: Callable[[], Any]) -> Any:
    """Run a client call; an HTTP error from a missing route becomes :class:`EndpointMissing`."""
    try:
        return operation()
    except requests.HTTPError as exc:
        if exc.response is not None and unrouted(exc.response):
            raise EndpointMissing(str(exc)) from None
        raise


def failure_cell(exc: BaseException) -> Cell:
    """What a table cell says when the measurement could not be made."""
    if isinstance(exc, EndpointMissing):
        return NOT_IMPLEMENTED
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"failed (HTTP {exc.response.status_code})"
    return f"failed ({type(exc).__name__})"
