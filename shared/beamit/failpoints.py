"""Named failpoints: places where the reliability suite holds a request still, to kill a worker
or stop a dependency at a known moment (like FreeBSD's fail points or TiKV's ``fail`` crate).

``BEAMIT_FAILPOINTS`` (``local`` only; ignored elsewhere) names the points and how long each
pauses, e.g. ``ingest.before-commit=3,shares.after-code=2``; :func:`failpoint` is a no-op for
every other point, and always outside ``local``. A paused request writes the marker file
``<BEAMIT_FAILPOINT_DIR>/<name>`` first, so the test waits on a positive signal (the request
reached the point) before it injects the fault.
"""

from __future__ import annotations

import time
from pathlib import Path

from beamit.settings import get_settings

INGEST_BEFORE_COMMIT = "ingest.before-commit"
"""A store request's objects are written, its catalog commit not yet made."""
SHARES_AFTER_CODE = "shares.after-code"
"""A share's code is claimed in the directory, the share record not yet written."""
WEBHOOK_BEFORE_ATTEMPT = "webhooks.before-attempt"
"""A delivery is recorded, its HTTP attempt not yet made."""


def failpoint(name: str) -> None:
    """Pause here if the settings name this point (local development and tests only)."""
    settings = get_settings()
    if not settings.is_local or not settings.failpoints:
        return
    seconds = dict(settings.failpoints).get(name)
    if seconds is None:
        return
    if settings.failpoint_dir:
        marker = Path(settings.failpoint_dir) / name
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(str(time.time()))
    time.sleep(seconds)
