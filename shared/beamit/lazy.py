"""Imports deferred to their first use, one at a time per process.

A function imports what its most common request needs and defers the rest (pydicom, numpy,
Pillow, Authlib; docs/architecture.md, "Cold start"). Its requests run on many threads, so two
first uses can import at once: one thread holding a module half-initialised that the other
needs while waiting for one the first holds. Python breaks that cycle by handing one of them
the half-initialised module (an ``ImportError`` or ``AttributeError`` of a module that exists;
the bounded load test saw hundreds). Every deferred import of BeamIt's goes through
:func:`first_use`, so they run one after another; once a module is loaded, taking the lock and
re-importing it costs a microsecond.

    with first_use():
        from beamit.ingest.stow import store_instances
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

_LOCK = threading.RLock()  # re-entrant: a deferred import may itself defer one


@contextmanager
def first_use() -> Iterator[None]:
    """Hold the process's deferred-import lock for the imports in the block."""
    with _LOCK:
        yield
