"""The audit hash chains: canonical form, appending, checkpoints, and what verification detects."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from beamit.audit import chain
from beamit.audit.chain import GENESIS, append, canonical_json, record_hash, verify_chains
from beamit.tenancy import TenantScope
from tests.memory_store import MemoryStore

ACME = TenantScope("acme")


@pytest.fixture(autouse=True)
def fresh_chains(monkeypatch):
    """Each test starts with no chains in this process (as a new process would)."""
    monkeypatch.setattr(chain, "_CHAINS", chain._Chains())


def record(n: int) -> dict:
    moment = datetime(2026, 2, 20, 10, 0, n % 60, 123456, tzinfo=UTC)
    return {"time": moment, "sortKey": f"{chain.time_key(moment)}|aud_{n:024d}", "action": "GET /v1/api-keys",
            "eventCode": "110100", "outcome": 200, "principal": "key_x", "resources": {"studies": ["1.2.3"]},
            "details": {"n": n}}


def fill(store: MemoryStore, count: int, start: int = 0) -> list[str]:
    ids = []
    for n in range(start, start + count):
        record_id = f"aud_{n:024d}"
        append(store, ACME, record_id, record(n))
        ids.append(record_id)
    return ids


def events(store: MemoryStore) -> dict[str, dict]:
    return {path.rsplit("/", 1)[1]: data for path, data in store.docs.items() if "/audit_events/" in path}


def heads(store: MemoryStore) -> dict[str, dict]:
    return {path.rsplit("/", 1)[1]: data for path, data in store.docs.items() if "/audit_chain/" in path}


def test_canonical_json_is_stable():
    a = {"b": [1, (2, 3)], "a": datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC), "c": "é"}
    b = {"c": "é", "a": datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC), "b": [1, [2, 3]]}
    expected = '{"a":"2026-01-02T03:04:05.000006Z","b":[1,[2,3]],"c":"é"}'.encode()
    assert canonical_json(a) == canonical_json(b) == expected


def test_one_call_at_a_time_appends_to_one_chain_in_order():
    store = MemoryStore()
    ids = fill(store, 40)
    records = sorted(events(store).items(), key=lambda item: item[1]["seq"])
    assert [record_id for record_id, _ in records] == ids
    assert {data["chain"] for _, data in records} == {records[0][1]["chain"]}
    assert [data["seq"] for _, data in records] == list(range(1, 41))
    assert records[0][1]["prevHash"] == GENESIS
    assert all(b["prevHash"] == a["hash"] for (_, a), (_, b) in zip(records, records[1:]))
    assert all(data["hash"] == record_hash(record_id, data) for record_id, data in records)
    report = verify_chains(store, ACME)
    assert report.valid and report.records == 40 and report.chains == 1


def test_concurrent_calls_get_chains_of_their_own():
    store = MemoryStore()
    inside = threading.Barrier(4)
    commit = store.commit

    def slow_commit(writes):
        inside.wait(timeout=10)  # four appends in flight at once
        commit(writes)

    store.commit = slow_commit  # type: ignore[method-assign]
    threads = [threading.Thread(target=fill, args=(store, 1, n)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store.commit = commit  # type: ignore[method-assign]
    assert len({data["chain"] for data in events(store).values()}) == 4
    fill(store, 8, start=4)  # then the idle chains are reused, none is created
    assert len({data["chain"] for data in events(store).values()}) == 4
    report = verify_chains(store, ACME)
    assert report.valid and report.records == 12 and report.chains == 4


def test_heads_are_checkpoints_written_at_most_every_checkpoint_interval(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(chain.time, "monotonic", lambda: clock[0])
    store = MemoryStore()
    fill(store, 3)  # within one second: only the first record checkpoints
    [head] = heads(store).values()
    assert head["seq"] == 1
    clock[0] += chain.CHECKPOINT_SECONDS
    fill(store, 1, start=3)
    [head] = heads(store).values()
    assert head["seq"] == 4 and head["hash"] == events(store)[head["recordId"]]["hash"]
    fill(store, 2, start=4)
    assert verify_chains(store, ACME).valid  # records past the checkpoint are checked by their links


def test_a_failed_append_abandons_its_chain():
    store = MemoryStore()
    fill(store, 3)
    commit = store.commit

    def failing(writes):
        raise RuntimeError("deadline exceeded")

    store.commit = failing  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        fill(store, 1, start=3)
    store.commit = commit  # type: ignore[method-assign]
    fill(store, 2, start=4)
    chains = {data["chain"] for data in events(store).values()}
    assert len(chains) == 2  # whether the failed batch landed is unknown: that chain ends there
    report = verify_chains(store, ACME)
    assert report.valid and report.records == 5 and report.chains == 2


def test_a_forked_process_starts_chains_of_its_own(monkeypatch):
    store = MemoryStore()
    fill(store, 2)
    monkeypatch.setattr(chain.os, "getpid", lambda: -1)
    fill(store, 2, start=2)
    assert len({data["chain"] for data in events(store).values()}) == 2


def test_a_modified_record_is_detected():
    store = MemoryStore()
    ids = fill(store, 20)
    store.docs[ACME.document("audit_events", ids[7])]["outcome"] = 500
    problems = verify_chains(store, ACME).problems
    assert [(p.record_id, p.problem) for p in problems] == [(ids[7], "hash_mismatch")]


def test_a_rehashed_forgery_breaks_the_next_link():
    store = MemoryStore()
    ids = fill(store, 20)
    path = ACME.document("audit_events", ids[3])
    forged = {**store.docs[path], "principal": "someone-else"}
    forged["hash"] = record_hash(ids[3], forged)
    store.docs[path] = forged
    problems = verify_chains(store, ACME).problems
    assert [(p.record_id, p.problem) for p in problems] == [(ids[4], "broken_link")]


def test_deleted_records_are_detected(monkeypatch):
    store = MemoryStore()
    ids = fill(store, 30)
    del store.docs[ACME.document("audit_events", ids[10])]  # a gap and a broken link after it
    problems = {(p.record_id, p.problem) for p in verify_chains(store, ACME).problems}
    assert problems == {(ids[11], "sequence_gap"), (ids[11], "broken_link")}
    clock = [0.0]
    monkeypatch.setattr(chain.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(chain, "_CHAINS", chain._Chains())
    store2 = MemoryStore()
    for n in range(5):
        clock[0] += chain.CHECKPOINT_SECONDS  # every record checkpoints
        fill(store2, 1, start=n)
    last = max(events(store2).items(), key=lambda item: item[1]["seq"])[0]
    del store2.docs[ACME.document("audit_events", last)]  # the tail: only the head knows
    [problem] = verify_chains(store2, ACME).problems
    assert (problem.record_id, problem.problem, problem.seq) == (last, "head_mismatch", 5)
