"""Where the gateway's CPU goes during one phase: py-spy samples of its workers, summarised.

``py-spy record --subprocesses --gil --format raw`` samples the gateway's gunicorn master and
workers while the phase's BeamIt loop runs, only the thread holding the GIL: time waiting on
sockets, locks and queues (which release it) is not CPU and is left out, as are the idle
stacks below that slip through; each function is charged every sample it is on the stack of
(inclusive share of the busy samples). The doc shows the heaviest BeamIt and library
functions under the request handler: what the next cut has to shrink.
"""

from __future__ import annotations

import collections
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

IDLE = ("wait (threading", "select", "_wait_for_tstate_lock", "acquire", "poll (", "epoll", "recv_into", "accept",
        "sleep", "readinto (socket", "_worker (concurrent/futures/thread.py", "run (gunicorn")
PLUMBING = ("threading.py", "concurrent/futures", "gunicorn/", "flask/", "functions_framework/", "werkzeug/",
            "devstack/gateway.py", "main.py", "process ", "storage/trace.py")
SAMPLE_RATE = 250
ATTACH_SECONDS = 1.0
"""Time py-spy is given to attach to the gateway's processes before the sampled block starts."""
TOP = 24
MIN_BUSY = 100
"""Busy samples below which a profile is not shown: a few dozen put whole percentages on a function
by chance (40 requests of 3 ms are 30 samples at :data:`SAMPLE_RATE`); from 100, a share of 20%
is known to within about 8 points (two standard errors)."""


def py_spy() -> str | None:
    found = Path(sys.executable).with_name("py-spy")
    return str(found) if found.exists() else shutil.which("py-spy")


@dataclass
class Profile:
    """Inclusive shares of busy samples, by function (``name (file)``)."""

    busy: int = 0
    shares: list[tuple[str, float]] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [f"{share:.0f}% `{name}`" for name, share in self.shares]

    @property
    def enough(self) -> bool:
        """Whether there are samples enough to show (:data:`MIN_BUSY`)."""
        return self.busy >= MIN_BUSY and bool(self.shares)


def _frame_name(frame: str) -> str:
    name, _, where = frame.partition(" (")
    return f"{name} ({where.split(':')[0].rstrip(')')})" if where else name


def summarise(raw: str, top: int = TOP) -> Profile:
    """The heaviest functions of py-spy's raw output (``frame;frame;... count`` lines)."""
    inclusive: collections.Counter[str] = collections.Counter()
    busy = 0
    for line in raw.splitlines():
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        if any(marker in frames[-1] for marker in IDLE):
            continue
        busy += int(count)
        for name in {_frame_name(frame) for frame in frames}:
            inclusive[name] += int(count)
    heaviest = [(name, 100 * n / busy) for name, n in inclusive.most_common()
                if not any(marker in name for marker in PLUMBING)] if busy else []
    return Profile(busy, heaviest[:top])


@contextmanager
def sampled(pid: int | None) -> Iterator[Profile]:
    """Sample ``pid`` and its children during the block (which starts once py-spy has had
    :data:`ATTACH_SECONDS` to attach); the summary fills the yielded profile (left empty where
    py-spy is missing or may not attach)."""
    profile = Profile()
    tool = py_spy()
    if tool is None or pid is None:
        yield profile
        return
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "samples.txt"
        process = subprocess.Popen([tool, "record", "--pid", str(pid), "--subprocesses", "--gil",
                                    "--rate", str(SAMPLE_RATE),
                                    "--format", "raw", "--nonblocking", "-o", str(out)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(ATTACH_SECONDS)
            yield profile
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if out.exists():
                found = summarise(out.read_text())
                profile.busy, profile.shares = found.busy, found.shares
