"""What the phases share: the mode, the two peers, the deadline, and what they found."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from beamit.bench.budget import Deadline
from beamit.bench.costs import OperationCost, record
from beamit.bench.cpu import cpu_delta
from beamit.bench.modes import BenchMode
from beamit.bench.orthanc import OrthancPeer
from beamit.bench.peers import Peer
from beamit.bench.profile import MIN_BUSY, Profile, sampled
from beamit.bench.receiver import EventReceiver
from beamit.bench.report import Row
from beamit.devstack.stack import LocalStack
from beamit.storage import Services

MAX_NOTE = 400


BENCH_TENANT = "bench"
"""The tenant BeamIt's side of the bench stores into."""
PROFILE_TENANT = "bench-profile"
"""The tenant of profiled loops that store (:meth:`BenchContext.profile`): what they store stays
out of the bench tenant, which holds what Orthanc holds."""


@dataclass
class Findings:
    """Rows of the main table, a second table per QIDO query kind, facts and notes for the doc."""

    rows: list[Row] = field(default_factory=list)
    qido_rows: list[Row] = field(default_factory=list)
    facts: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    costs: dict[str, OperationCost] = field(default_factory=dict)
    """CPU per operation and round trips (:mod:`beamit.bench.costs`), by operation."""
    sections: dict[str, list[str]] = field(default_factory=dict)
    """More results for the doc: a title and its list items."""
    profiles: dict[str, list[str]] = field(default_factory=dict)
    """Where the gateway's CPU went in profiled operations (:mod:`beamit.bench.profile`)."""
    """More results for the doc: a title and its list items."""

    def note(self, text: str) -> None:
        """Record a one-line note (a multi-line error keeps its first and last lines)."""
        lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
        short = " ".join([lines[0], "...", lines[-1]]) if len(lines) > 1 else (lines[0] if lines else "")
        short = short if len(short) <= MAX_NOTE else short[: MAX_NOTE - 3] + "..."
        print(f"  note: {short}", flush=True)
        self.notes.append(short)


@dataclass
class BenchContext:
    mode: BenchMode
    stack: LocalStack
    beamit: Peer
    orthanc: Peer
    api_key: str
    profiling: Peer
    """BeamIt as the :data:`PROFILE_TENANT` (the same gateway)."""
    orthanc_server: OrthancPeer
    deadline: Deadline
    event_receiver: EventReceiver
    findings: Findings = field(default_factory=Findings)
    ct_study_uid: str = ""
    ct_series_uid: str = ""
    ct_instance_uids: list[str] = field(default_factory=list)
    ct_bytes: int = 0
    warm_up_study_uid: str = ""
    beamit_qido: bool = False
    """Set by the QIDO phase when BeamIt answered a search (the cold start then uses one)."""

    @property
    def peers(self) -> tuple[Peer, Peer]:
        return (self.beamit, self.orthanc)

    @contextmanager
    def stack_services(self) -> Iterator[Services]:
        """The adapters, pointed at the local stack, for the bench's own reads and writes."""
        from beamit.settings import reset_settings
        from beamit.storage import reset_services, services

        saved = dict(os.environ)
        os.environ.update(self.stack.env)
        reset_settings()
        reset_services()
        try:
            yield services()
        finally:
            os.environ.clear()
            os.environ.update(saved)
            reset_settings()
            reset_services()

    @contextmanager
    def charged(self, peer: Peer, operation: str, per: str) -> Iterator[Tally]:
        """Charge the CPU ``peer``'s processes spend in the block, and the traces of its answers,
        to ``operation``; the block counts its operations in the :class:`Tally` it is given. Never
        profiled meanwhile: py-spy's sampling costs the sampled processes CPU too (about a third
        more at 200/s on these cores), so :meth:`profile` runs after the measured loop."""
        tally = Tally()
        peer.take_traces()
        before = {group.name: group.read() for group in peer.cpu_groups}
        try:
            yield tally
        finally:
            spent = {group.name: cpu_delta(before[group.name], group.read()) for group in peer.cpu_groups}
            record(self.findings.costs, operation, per, spent, tally.count, peer.take_traces())

    def profile(self, peer: Peer, operation: str, requests: Iterable[Callable[[], object]], seconds: float) -> None:
        """Profile ``operation`` (py-spy, :mod:`beamit.bench.profile`) while ``requests`` are made
        one after the other, until they run out or ``seconds`` pass: untimed and charged to
        nothing, after the operation's measured loop (its rows and costs come from that loop)."""
        with sampled(peer.profiled_pid()) as profile:
            until = time.monotonic() + seconds
            for request in requests:
                if time.monotonic() >= until:
                    break
                request()
        self._keep_profile(operation, profile)

    def _keep_profile(self, operation: str, profile: Profile) -> None:
        if profile.enough:
            self.findings.profiles[operation] = profile.lines()
        elif profile.busy:
            self.findings.note(f"the profile of {operation} is not shown: {profile.busy} busy samples "
                               f"(fewer than {MIN_BUSY})")


@dataclass
class Tally:
    """Operations made in a :meth:`BenchContext.charged` block."""

    count: int = 0
