"""The audit hash chains: canonical form, appending, and what verification detects."""

from __future__ import annotations

from datetime import UTC, datetime

from beamit.audit import chain
from beamit.audit.chain import GENESIS, append, canonical_json, record_hash, verify_chains
from beamit.tenancy import TenantScope
from tests.memory_store import MemoryStore

ACME = TenantScope("acme")


def record(n: int) -> dict:
    moment = datetime(2026, 2, 20, 10, 0, n, 123456, tzinfo=UTC)
    return {"time": moment, "sortKey": f"{chain.time_key(moment)}|aud_{n:024d}", "action": "GET /v1/api-keys",
            "eventCode": "110100", "outcome": 200, "principal": "key_x", "resources": {"studies": ["1.2.3"]},
            "details": {"n": n}}


def fill(store: MemoryStore, count: int) -> list[str]:
    ids = []
    for n in range(count):
        record_id = f"aud_{n:024d}"
        append(store, ACME, record_id, record(n), shard_key=record_id)
        ids.append(record_id)
    return ids


def test_canonical_json_is_stable():
    a = {"b": [1, (2, 3)], "a": datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC), "c": "é"}
    b = {"c": "é", "a": datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC), "b": [1, [2, 3]]}
    expected = '{"a":"2026-01-02T03:04:05.000006Z","b":[1,[2,3]],"c":"é"}'.encode()
    assert canonical_json(a) == canonical_json(b) == expected


def test_records_link_within_their_shard():
    store = MemoryStore()
    fill(store, 40)
    by_shard: dict[int, list[dict]] = {}
    for path, data in store.docs.items():
        if "/audit_events/" in path:
            assert data["hash"] == record_hash(path.rsplit("/", 1)[1], data)
            by_shard.setdefault(data["shard"], []).append(data)
    assert len(by_shard) > 1  # spread over several chains
    for records in by_shard.values():
        records.sort(key=lambda r: r["seq"])
        assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
        assert records[0]["prevHash"] == GENESIS
        assert all(b["prevHash"] == a["hash"] for a, b in zip(records, records[1:]))
    report = verify_chains(store, ACME)
    assert report.valid and report.records == 40 and report.shards == len(by_shard)


def test_a_modified_record_is_detected():
    store = MemoryStore()
    ids = fill(store, 20)
    store.docs[ACME.document("audit_events", ids[7])]["outcome"] = 500
    problems = verify_chains(store, ACME).problems
    assert [(p.record_id, p.problem) for p in problems] == [(ids[7], "hash_mismatch")]


def test_a_rehashed_forgery_breaks_the_next_link_or_the_head():
    store = MemoryStore()
    ids = fill(store, 20)
    path = ACME.document("audit_events", ids[3])
    forged = {**store.docs[path], "principal": "someone-else"}
    forged["hash"] = record_hash(ids[3], forged)
    store.docs[path] = forged
    problems = {p.problem for p in verify_chains(store, ACME).problems}
    assert problems & {"broken_link", "head_mismatch"}


def test_deleted_records_are_detected():
    store = MemoryStore()
    fill(store, 30)
    chains: dict[int, list[tuple[int, str]]] = {}
    for path, data in store.docs.items():
        if "/audit_events/" in path:
            chains.setdefault(data["shard"], []).append((data["seq"], path))
    longest = max(chains.values(), key=len)
    assert len(longest) >= 2
    del store.docs[min(longest)[1]]  # the first of a chain: a gap and a broken link
    problems = {p.problem for p in verify_chains(store, ACME).problems}
    assert {"sequence_gap", "broken_link"} <= problems
    store2 = MemoryStore()
    ids = fill(store2, 30)
    shard = store2.docs[ACME.document("audit_events", ids[-1])]["shard"]
    del store2.docs[ACME.document("audit_events", ids[-1])]  # the tail: only the head knows
    assert [(p.shard, p.problem) for p in verify_chains(store2, ACME).problems] == [(shard, "head_mismatch")]
