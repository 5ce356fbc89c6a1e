"""Tamper evidence of the audit trail: hash chains, sharded for write throughput.

Every record of ``tenants/{t}/audit_events`` is appended to one of :data:`CHAIN_SHARDS`
chains of its tenant (chosen by a hash of the request id). Each record carries ``shard``,
``seq`` (1, 2, ... within its chain), ``prevHash`` (the previous record's ``hash``, or
:data:`GENESIS`) and ``hash`` = SHA-256 of the canonical JSON (:func:`canonical_json`:
sorted keys, no whitespace, UTF-8, timestamps as RFC 3339 with microseconds) of all its
other fields plus its id. The head of each chain, ``tenants/{t}/audit_chain/{shard}``,
holds the last ``seq`` and ``hash``; a record and its head are written in one
transaction, so a chain never forks and no record is left out of it.

Why shards: a single head per tenant would be a hot document. Firestore sustains about
one write per second per document, and a transaction on the head serializes every audited
call of the tenant. With ``N`` independent chains a tenant sustains about ``N`` audited
calls per second (bursts go higher), at the price of ``N`` chains to walk when verifying
and no single total order (``sortKey`` orders records for reading). The alternative,
writing records unchained and sealing them periodically into hash-linked blocks by a
scheduled function, has no contention at all but leaves the newest records unprotected
until the next seal and adds a job that must never fall behind; per-record chaining
protects every record from the moment its call is answered. ``CHAIN_SHARDS`` can grow
later: verification walks whatever heads exist.

:func:`verify_chains` detects a modified record (its hash), a removed or inserted record
(``seq`` and ``prevHash`` links) and a removed tail (the head). Rewriting a whole chain
consistently needs the head too; each record's hash also goes to Cloud Logging's
retention-locked audit bucket (:mod:`beamit.audit.trail`), which anchors the chains.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from beamit.storage import Filter, MetadataStore, Query, Transaction, Write
from beamit.tenancy import TenantScope

CHAIN_SHARDS = 16
GENESIS = "0" * 64
EVENTS = "audit_events"
HEADS = "audit_chain"
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


def shard_for(key: str) -> int:
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:4], "big") % CHAIN_SHARDS


def head_path(tenant: TenantScope, shard: int) -> str:
    return tenant.document(HEADS, f"{shard:03d}")


def append(store: MetadataStore, tenant: TenantScope, record_id: str, record: dict[str, Any], *,
           shard_key: str) -> dict[str, Any]:
    """Create ``audit_events/{record_id}`` at the end of its chain; returns the stored record."""
    shard = shard_for(shard_key)
    head = head_path(tenant, shard)
    path = tenant.document(EVENTS, record_id)

    def link(txn: Transaction) -> dict[str, Any]:
        current = txn.get(head) or {"seq": 0, "hash": GENESIS}
        chained = {**record, "shard": shard, "seq": int(current["seq"]) + 1, "prevHash": current["hash"]}
        chained["hash"] = record_hash(record_id, chained)
        txn.write(Write("create", path, chained))
        txn.write(Write("set", head, {"shard": shard, "seq": chained["seq"], "hash": chained["hash"],
                                      "recordId": record_id, "time": record.get("time")}))
        return chained

    return store.run_transaction(link)


@dataclass(frozen=True)
class ChainProblem:
    shard: int
    seq: int | None
    record_id: str | None
    problem: str  # hash_mismatch, broken_link, sequence_gap, head_mismatch

    def to_json(self) -> dict[str, Any]:
        return {"shard": self.shard, "seq": self.seq, "recordId": self.record_id, "problem": self.problem}


@dataclass
class ChainReport:
    records: int = 0
    shards: int = 0
    problems: list[ChainProblem] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems

    def add(self, problem: ChainProblem) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)


def shard_query(tenant: TenantScope, shard: int, up_to: int, after: int | None = None, limit: int = PAGE) -> Query:
    return Query(
        collection=tenant.collection(EVENTS),
        filters=(Filter("shard", "==", shard), Filter("seq", "<=", up_to)),
        order_by=(("seq", "asc"),),
        limit=limit,
        start_after=None if after is None else (after,),
    )


def verify_chains(store: MetadataStore, tenant: TenantScope) -> ChainReport:
    """Walk every chain of the tenant up to its head (records appended meanwhile are left
    for the next check) and report what does not hold."""
    report = ChainReport()
    heads = store.query(Query(collection=tenant.collection(HEADS)))
    for head_doc in sorted(heads, key=lambda d: int(d.data.get("shard", -1))):
        head = head_doc.data
        shard, last_seq = int(head["shard"]), int(head["seq"])
        report.shards += 1
        expected_seq, prev_hash, after = 1, GENESIS, None
        while True:
            page = store.query(shard_query(tenant, shard, last_seq, after))
            for doc in page:
                data = doc.data
                seq = int(data.get("seq", -1))
                report.records += 1
                if seq != expected_seq:
                    report.add(ChainProblem(shard, seq, doc.id, "sequence_gap"))
                if data.get("prevHash") != prev_hash:
                    report.add(ChainProblem(shard, seq, doc.id, "broken_link"))
                if data.get("hash") != record_hash(doc.id, data):
                    report.add(ChainProblem(shard, seq, doc.id, "hash_mismatch"))
                expected_seq, prev_hash, after = seq + 1, str(data.get("hash")), seq
            if len(page) < PAGE:
                break
        if expected_seq - 1 != last_seq or prev_hash != head.get("hash"):
            report.add(ChainProblem(shard, last_seq, head.get("recordId"), "head_mismatch"))
    return report
