"""Resident memory of server processes, from ``/proc`` (proc(5)).

The peak is read two ways and the larger kept: ``VmHWM`` after resetting it (writing ``5``
to ``/proc/<pid>/clear_refs``, Linux 4.0+, needs the process's owner or root), and ``VmRSS``
sampled every few milliseconds while the request runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
PROC = Path("/proc")


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (e.g. the gunicorn workers of the gateway's master)."""
    found = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


@dataclass(frozen=True)
class MemoryStatus:
    rss_kib: int
    hwm_kib: int


def read_status(pid: int) -> MemoryStatus:
    values = {}
    for line in (PROC / str(pid) / "status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return MemoryStatus(values.get("VmRSS", 0), values.get("VmHWM", 0))


def reset_peak(pid: int) -> bool:
    """Reset ``VmHWM`` to the current RSS; False where the kernel or permissions do not allow it."""
    try:
        (PROC / str(pid) / "clear_refs").write_text("5")
        return True
    except OSError:
        return False


@dataclass(frozen=True)
class PeakRss:
    """One process during one operation: resident memory before, and the peak during it (MiB)."""

    pid: int
    before_mib: float
    peak_mib: float

    @property
    def growth_mib(self) -> float:
        return max(0.0, self.peak_mib - self.before_mib)


class _Sampler(threading.Thread):
    def __init__(self, pids: Sequence[int], interval: float) -> None:
        super().__init__(daemon=True, name="rss-sampler")
        self.pids = list(pids)
        self.interval = interval
        self.peaks = {pid: 0 for pid in self.pids}
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.sample()
            self._stop_event.wait(self.interval)

    def sample(self) -> None:
        for pid in self.pids:
            try:
                self.peaks[pid] = max(self.peaks[pid], read_status(pid).rss_kib)
            except OSError:
                pass

    def finish(self) -> None:
        self._stop_event.set()
        self.join()
        self.sample()


def measure_peak_rss(
    pids: Sequence[int], operation: Callable[[], T], interval: float = 0.02
) -> tuple[T, list[PeakRss]]:
    """Run ``operation`` and return its result with the memory of each of ``pids`` around it."""
    before, was_reset = {}, {}
    for pid in pids:
        was_reset[pid] = reset_peak(pid)
        before[pid] = read_status(pid).rss_kib
    sampler = _Sampler(pids, interval)
    sampler.start()
    try:
        result = operation()
    finally:
        sampler.finish()
    peaks = []
    for pid in pids:
        try:
            hwm = read_status(pid).hwm_kib if was_reset[pid] else 0  # without a reset it is the lifetime peak
        except OSError:
            hwm = 0
        peak = max(hwm, sampler.peaks[pid], before[pid])
        peaks.append(PeakRss(pid, before[pid] / 1024, peak / 1024))
    return result, peaks
