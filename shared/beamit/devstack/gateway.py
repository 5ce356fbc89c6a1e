"""The local gateway: every function under one origin, routed by ``platform.json``.

Production routes ``/v1/...`` and ``/s/...`` with the HTTPS load balancer built from the
same table. Locally, each function is the real ``functions-framework`` app of its entry
point, and this WSGI app dispatches to it by longest path prefix; a path no route names goes
to the ``platform`` function, as the URL map's default service does. Like the load balancer
it appends ``<client>, <gateway>`` to ``X-Forwarded-For``, so the functions find the client's
address where they do in production (``BEAMIT_TRUSTED_PROXY_HOPS``). Event-triggered
functions are reachable at ``/_triggers/{function}`` for the emulators' push
subscriptions, converted to what production delivers:

- ``gcs-finalize``: a Pub/Sub push of fake-gcs-server's OBJECT_FINALIZE notification
  becomes the CloudEvent ``google.cloud.storage.object.v1.finalized`` Eventarc sends;
- ``pubsub-push`` and ``scheduler``: passed through as the HTTP requests they already are.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterable
from typing import Any

import functions_framework
from werkzeug.test import EnvironBuilder, run_wsgi_app
from werkzeug.wrappers import Request, Response

from beamit.deployment import FunctionSpec, Manifest, load_manifest
from beamit.devstack.emulators import REPO_ROOT
from beamit.ids import new_id
from beamit.settings import get_settings
from beamit.storage import trace

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

TRIGGER_PREFIX = "/_triggers/"
DEFAULT_HTTP_FUNCTION = "platform"
"""Where a path no route names goes (terraform/manifest.tf: local.default_http_function)."""


def forwarded_for(environ: dict[str, Any]) -> str:
    """``X-Forwarded-For`` as Google's load balancer passes it on: what the client sent, then the
    client's address (the socket peer) and the address the client connected to."""
    sent = environ.get("HTTP_X_FORWARDED_FOR", "").strip()
    appended = f"{environ.get('REMOTE_ADDR', '')}, {environ.get('SERVER_NAME', '127.0.0.1')}"
    return f"{sent}, {appended}" if sent else appended


def _json_error(status: int, message: str) -> Response:
    """The API's JSON error object with a request id, as in production, where the load balancer
    hands paths no route names to its default function, whose router answers them."""
    request_id = new_id("req")
    return Response(
        json.dumps({"error": {"type": "not_found", "message": message, "requestId": request_id}}), status=status,
        content_type="application/json", headers={"X-Request-Id": request_id, "Cache-Control": "no-store"},
    )


def _traced_call(app: WsgiApp, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """The benchmark's gateway (``BEAMIT_TRACE_STORAGE``): the storage calls made until the
    response starts (the handler, the audit append; not the reads of a streamed body) go to
    the client in the :data:`~beamit.storage.trace.HEADER` header."""
    recorded, token = trace.start_trace()
    started = time.monotonic()

    def start_with_trace(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        served = time.monotonic() - started
        headers = [*headers, (trace.HEADER, trace.header_value(recorded.snapshot(), served))]
        return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

    try:
        return app(environ, start_with_trace)
    finally:
        trace.stop_trace(token)


class Gateway:
    def __init__(self, manifest: Manifest | None = None, source: str | None = None) -> None:
        self.manifest = manifest or load_manifest()
        source = source or str(REPO_ROOT / "functions" / "main.py")
        self.trace_storage = get_settings().trace_storage_calls
        self.apps: dict[str, WsgiApp] = {}
        for spec in self.manifest.functions:
            signature = "cloudevent" if spec.trigger.type == "gcs-finalize" else "http"
            self.apps[spec.name] = functions_framework.create_app(
                target=spec.entry_point, source=source, signature_type=signature
            )

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path: str = environ.get("PATH_INFO", "/")
        if path.startswith(TRIGGER_PREFIX):
            return self._trigger(path[len(TRIGGER_PREFIX) :].strip("/"), environ, start_response)
        spec = self.manifest.resolve(path) or self.manifest.function(DEFAULT_HTTP_FUNCTION)
        if spec.trigger.type != "http":
            return _json_error(404, "no such resource")(environ, start_response)
        environ = {**environ, "HTTP_X_FORWARDED_FOR": forwarded_for(environ)}
        if self.trace_storage:
            return _traced_call(self.apps[spec.name], environ, start_response)
        return self.apps[spec.name](environ, start_response)

    def _trigger(self, name: str, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            spec = self.manifest.function(name)
        except KeyError:
            return _json_error(404, f"no function {name!r}")(environ, start_response)
        if spec.trigger.type == "gcs-finalize":
            return self._gcs_finalize(spec, environ, start_response)
        environ = {**environ, "PATH_INFO": "/"}
        return self.apps[spec.name](environ, start_response)

    def _gcs_finalize(
        self, spec: FunctionSpec, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        push = json.loads(Request(environ).get_data() or b"{}")
        message = push.get("message", {})
        attributes = message.get("attributes", {})
        if attributes.get("eventType") != "OBJECT_FINALIZE":
            # The Pub/Sub emulator ignores subscription filters: filter here and ack.
            return Response(status=204)(environ, start_response)
        data = base64.b64decode(message.get("data", ""))
        obj = json.loads(data)
        headers = {
            "ce-id": message.get("messageId", ""),
            "ce-specversion": "1.0",
            "ce-type": "google.cloud.storage.object.v1.finalized",
            "ce-source": f"//storage.googleapis.com/projects/_/buckets/{obj['bucket']}",
            "ce-subject": f"objects/{obj['name']}",
            "ce-time": obj.get("updated") or obj.get("timeCreated") or message.get("publishTime", ""),
        }
        event_env = EnvironBuilder(
            path="/", method="POST", headers=list(headers.items()), data=data, content_type="application/json"
        ).get_environ()
        body, status, response_headers = run_wsgi_app(self.apps[spec.name], event_env)
        return Response(b"".join(body), status=status, headers=response_headers)(environ, start_response)
