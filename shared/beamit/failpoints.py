"""Named failpoints: places where the reliability suite holds one request still, to kill a
worker or stop a dependency at a known moment (like FreeBSD's fail points or TiKV's ``fail``).

``BEAMIT_FAILPOINTS`` (honoured in ``local`` only) names the points that may pause and for how
long, e.g. ``ingest.before-commit=30,shares.after-code=30``; ``BEAMIT_FAILPOINT_DIR`` is where
the suite arms them (:func:`arm`, which may set another pause). A point pauses only when armed:
the file ``<dir>/<name>.armed`` exists.
The first request to reach it renames that file to ``<dir>/<name>.reached`` (atomically: one
request, one pause) and sleeps; the suite waits for the ``.reached`` file, a positive signal
that the request is there, then injects its fault. Everywhere else :func:`failpoint` returns at
once.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from beamit.settings import get_settings

INGEST_BEFORE_COMMIT = "ingest.before-commit"
"""A store request's objects are written, its catalog commit not yet made."""
SHARES_AFTER_CODE = "shares.after-code"
"""A share's code is claimed in the directory, the share record not yet written."""


def failpoint(name: str) -> None:
    """Pause here if the suite armed this point (local development and tests only)."""
    settings = get_settings()
    if not settings.is_local or not settings.failpoints or not settings.failpoint_dir:
        return
    seconds = dict(settings.failpoints).get(name)
    if seconds is None:
        return
    directory = Path(settings.failpoint_dir)
    reached = directory / f"{name}.reached"
    try:
        os.rename(directory / f"{name}.armed", reached)
    except FileNotFoundError:
        return  # not armed, or another request took it
    try:
        seconds = float(reached.read_text())  # the arming may say how long
    except (OSError, ValueError):
        pass
    time.sleep(seconds)


def arm(directory: Path, name: str, seconds: float | None = None) -> Path:
    """Arm ``name`` for the next request that reaches it (to pause ``seconds``, else as the
    settings say); returns the file whose existence says a request reached it."""
    reached = directory / f"{name}.reached"
    reached.unlink(missing_ok=True)
    directory.mkdir(parents=True, exist_ok=True)
    armed = directory / f"{name}.armed.tmp"
    armed.write_text("" if seconds is None else str(seconds))
    armed.rename(directory / f"{name}.armed")
    return reached
