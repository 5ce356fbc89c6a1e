"""The one source of 'now' (UTC, timezone-aware), and RFC 3339 formatting."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def rfc3339(moment: datetime) -> str:
    """``2026-02-20T10:30:00Z`` as in the documented payloads (whole seconds, Z)."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
