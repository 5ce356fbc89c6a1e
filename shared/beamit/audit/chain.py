"""Tamper evidence of the audit trail: hash chains, one writer each.

Every record of ``tenants/{t}/audit_events`` is appended to a chain of its tenant. Each record
carries ``chain`` (the chain's id), ``seq`` (1, 2, ... within its chain), ``prevHash`` (the
previous record's ``hash``, or :data:`GENESIS`) and ``hash`` = SHA-256 of the canonical JSON
(:func:`canonical_json`: sorted keys, no whitespace, UTF-8, timestamps as RFC 3339 with
microseconds) of all its other fields plus its id.

A chain has one writer: a process makes its chains (:class:`_Chains`, ids random per process),
hands each to one call at a time and keeps the chain's last ``seq`` and ``hash`` in memory, so
appending is one blind batch (the record, created with an "it does not exist" precondition),
with no read and no transaction: no document is written twice by two writers, and none is hot.
A process has as many chains per tenant as it has calls auditing at once. A chain whose append
failed is never appended to again (whether the batch landed is unknown); the next call starts
a new chain.

The head of a chain, ``tenants/{t}/audit_chain/{chain}``, holds a recent ``seq`` and ``hash``
(a checkpoint): written with the chain's first record and then with a record at most every
:data:`CHECKPOINT_SECONDS`, in the same batch, so that a head document is written about once a
second at most (Firestore sustains about one write per second per document). The records after
a chain's last checkpoint (at most a second's worth) are protected by their links and by the
log anchor below until the next checkpoint.

Why not shared chains: the previous design appended to one of 16 chains per tenant, each head
updated in a transaction with its record: two round trips per audited call, and the heads were
hot documents (about 16 sustained audited calls per second per tenant). Sealing unchained
records periodically would add a job that must never fall behind. The price: chains are many
(every process start makes new ones), and a check makes one query per chain, so its cost grows
with the number of chains as well as of records.

:func:`verify_chains` detects a modified record (its hash), a removed or inserted record
(``seq`` and ``prevHash`` links) and a removed tail up to a checkpoint (the head). Rewriting a
whole chain consistently needs the head too; each record's hash also goes to Cloud Logging's
retention-locked audit bucket (:mod:`beamit.audit.trail`), which anchors the chains.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from beamit.ids import new_id
from beamit.storage import Filter, MetadataStore, Query, Write
from beamit.tenancy import TenantScope

GENESIS = "0" * 64
EVENTS = "audit_events"
HEADS = "audit_chain"
CHECKPOINT_SECONDS = 1.0
PAGE = 500
MAX_PROBLEMS = 100


def time_key(moment: datetime) -> str:
    """Fixed-width RFC 3339 UTC with microseconds: sorts as text in time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return time_key(value)
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def canonical_json(value: Any) -> bytes:
    return json.dumps(_canonical(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def record_hash(record_id: str, record: dict[str, Any]) -> str:
    """SHA-256 over the record's id and every field but ``hash`` (``prevHash`` included)."""
    fields = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(canonical_json({"id": record_id, **fields})).hexdigest()


def head_path(tenant: TenantScope, chain: str) -> str:
    return tenant.document(HEADS, chain)


@dataclass
class _Chain:
    id: str
    seq: int = 0
    hash: str = GENESIS
    checkpointed: float | None = None  # time.monotonic() of the last head write


class _Chains:
    """This process's chains, per tenant; each is lent to one append at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._idle: dict[str, list[_Chain]] = {}

    def take(self, tenant_id: str) -> _Chain:
        with self._lock:
            if self._pid != os.getpid():  # a forked worker never writes its parent's chains
                self._pid, self._idle = os.getpid(), {}
            idle = self._idle.get(tenant_id)
            return idle.pop() if idle else _Chain(new_id("chn", 20))

    def give_back(self, tenant_id: str, chain: _Chain) -> None:
        with self._lock:
            if self._pid == os.getpid():
                self._idle.setdefault(tenant_id, []).append(chain)


_CHAINS = _Chains()


def append(store: MetadataStore, tenant: TenantScope, record_id: str, record: dict[str, Any]) -> dict[str, Any]:
    """Create ``audit_events/{record_id}`` at the end of one of this process's chains of the
    tenant; returns the stored record. Raises what the store raises (the record may or may not
    have been written; its chain is dropped either way)."""
    chain = _CHAINS.take(tenant.tenant_id)
    chained = {**record, "chain": chain.id, "seq": chain.seq + 1, "prevHash": chain.hash}
    chained["hash"] = record_hash(record_id, chained)
    writes = [Write("create", tenant.document(EVENTS, record_id), chained)]
    now = time.monotonic()
    checkpoint = chain.checkpointed is None or now - chain.checkpointed >= CHECKPOINT_SECONDS
    if checkpoint:
        writes.append(Write("set", head_path(tenant, chain.id), {
            "chain": chain.id, "seq": chained["seq"], "hash": chained["hash"], "recordId": record_id,
            "time": record.get("time"),
        }))
    store.commit(writes)
    chain.seq, chain.hash = chained["seq"], chained["hash"]
    if checkpoint:
        chain.checkpointed = now
    _CHAINS.give_back(tenant.tenant_id, chain)
    return chained


@dataclass(frozen=True)
class ChainProblem:
    chain: str
    seq: int | None
    record_id: str | None
    problem: str  # hash_mismatch, broken_link, sequence_gap, head_mismatch

    def to_json(self) -> dict[str, Any]:
        return {"chain": self.chain, "seq": self.seq, "recordId": self.record_id, "problem": self.problem}


@dataclass
class ChainReport:
    records: int = 0
    chains: int = 0
    problems: list[ChainProblem] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems

    def add(self, problem: ChainProblem) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)


def chain_query(tenant: TenantScope, chain: str, after: int | None = None, limit: int = PAGE) -> Query:
    return Query(
        collection=tenant.collection(EVENTS),
        filters=(Filter("chain", "==", chain),),
        order_by=(("seq", "asc"),),
        limit=limit,
        start_after=None if after is None else (after,),
    )


def verify_chains(store: MetadataStore, tenant: TenantScope) -> ChainReport:
    """Walk every chain of the tenant (a chain is known by its head) and report what does not
    hold: each record's hash and link, and the record each head names."""
    report = ChainReport()
    heads = store.query(Query(collection=tenant.collection(HEADS)))
    for head_doc in sorted(heads, key=lambda d: str(d.data.get("chain", d.id))):
        head = head_doc.data
        chain, head_seq = str(head.get("chain", head_doc.id)), int(head.get("seq", 0))
        report.chains += 1
        expected_seq, prev_hash, after = 1, GENESIS, None
        head_hash: str | None = None
        while True:
            page = store.query(chain_query(tenant, chain, after))
            for doc in page:
                data = doc.data
                seq = int(data.get("seq", -1))
                report.records += 1
                if seq != expected_seq:
                    report.add(ChainProblem(chain, seq, doc.id, "sequence_gap"))
                if data.get("prevHash") != prev_hash:
                    report.add(ChainProblem(chain, seq, doc.id, "broken_link"))
                if data.get("hash") != record_hash(doc.id, data):
                    report.add(ChainProblem(chain, seq, doc.id, "hash_mismatch"))
                if seq == head_seq:
                    head_hash = str(data.get("hash"))
                expected_seq, prev_hash, after = seq + 1, str(data.get("hash")), seq
            if len(page) < PAGE:
                break
        if head_hash is None or head_hash != head.get("hash"):  # the tail up to the checkpoint is gone, or rewritten
            report.add(ChainProblem(chain, head_seq, head.get("recordId"), "head_mismatch"))
    return report
