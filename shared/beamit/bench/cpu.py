"""CPU time of server processes, from ``/proc/<pid>/stat`` (proc(5): utime + stime).

Wall-clock latencies on a shared machine mix every process's work; CPU time charged to a
process is its own. A :class:`ProcessGroup` is a set of process trees (a root and every
descendant, e.g. the gateway's gunicorn master and its workers, an emulator's launcher and
its JVM), read before and after a measured loop: :func:`cpu_during`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
PROC = Path("/proc")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str]:
    """The fields of ``/proc/<pid>/stat`` after ``comm`` (which may hold spaces and parentheses):
    index 0 is field 3 (state), so field N of proc(5) is at N - 3."""
    stat = (PROC / str(pid) / "stat").read_text()
    return stat[stat.rfind(")") + 2 :].split()


def parent_map() -> dict[int, list[int]]:
    """Every live process's children, from one scan of ``/proc``."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int(_stat_fields(int(entry.name))[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    return children


def process_trees(roots: Iterable[int]) -> list[int]:
    """``roots`` and all their live descendants."""
    children = parent_map()
    found: list[int] = []
    pending = list(roots)
    while pending:
        pid = pending.pop()
        if pid in found:
            continue
        found.append(pid)
        pending.extend(children.get(pid, ()))
    return sorted(found)


def cpu_seconds(pids: Iterable[int]) -> float:
    """utime + stime of ``pids`` (fields 14 and 15 of proc(5)), in seconds; exited ones count 0."""
    ticks = 0
    for pid in pids:
        try:
            fields = _stat_fields(pid)
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / CLOCK_TICKS


@dataclass(frozen=True)
class ProcessGroup:
    """Named process trees whose CPU time is read together (roots found when read)."""

    name: str
    roots: Callable[[], list[int]]

    def read(self) -> dict[int, float]:
        """CPU seconds of each process of the trees, by pid (so exited ones can be left out)."""
        return {pid: cpu_seconds([pid]) for pid in process_trees(self.roots())}


def cpu_delta(before: Mapping[int, float], after: Mapping[int, float]) -> float:
    """CPU seconds spent between two reads, by the processes alive at the second (a process
    started in between counts from 0)."""
    return sum(max(0.0, seconds - before.get(pid, 0.0)) for pid, seconds in after.items())


def cpu_during(groups: Iterable[ProcessGroup], operation: Callable[[], T]) -> tuple[T, dict[str, float]]:
    """Run ``operation``; its result and the CPU seconds each group spent meanwhile."""
    groups = list(groups)
    before = {group.name: group.read() for group in groups}
    result = operation()
    spent = {group.name: cpu_delta(before[group.name], group.read()) for group in groups}
    return result, spent
