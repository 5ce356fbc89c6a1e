"""Structured JSON logs in Cloud Logging's format.

One JSON object per line on stdout with ``severity``, ``message``, the request id (as
``logging.googleapis.com/labels``) and explicit extra fields. Callers pass only
identifiers (tenant id, key id, route template, status); never PHI, tokens or secrets.
"""

from __future__ import annotations

import contextvars
import json
import sys
import time
from typing import Any

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

_LEVELS = {"DEBUG": 10, "INFO": 20, "NOTICE": 25, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}


def log(severity: str, message: str, **fields: Any) -> None:
    """Write one structured log entry (``severity`` is a Cloud Logging LogSeverity)."""
    from beamit.settings import get_settings

    if _LEVELS.get(severity, 20) < _LEVELS.get(get_settings().log_level, 20):
        return
    entry: dict[str, Any] = {"severity": severity, "message": message, "time": time.time()}
    request_id = request_id_var.get()
    if request_id:
        entry["logging.googleapis.com/labels"] = {"requestId": request_id}
    entry.update(fields)
    sys.stdout.write(json.dumps(entry, default=str, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def info(message: str, **fields: Any) -> None:
    log("INFO", message, **fields)


def warning(message: str, **fields: Any) -> None:
    log("WARNING", message, **fields)


def error(message: str, **fields: Any) -> None:
    log("ERROR", message, **fields)
