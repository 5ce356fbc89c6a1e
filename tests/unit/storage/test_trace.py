"""beamit.storage.trace: the sequential depth of synthetic traces, and the recording adapters."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

from beamit.storage.trace import (
    StorageCall,
    carried,
    critical_chain,
    header_value,
    parse_header,
    sequential_depth,
    start_trace,
    stop_trace,
    traced,
)


def call(start: float, end: float, name: str = "firestore.get") -> StorageCall:
    service, _, operation = name.partition(".")
    return StorageCall(service, operation, start, end)


def test_no_calls_have_no_depth():
    assert sequential_depth([]) == 0
    assert critical_chain([]) == []


def test_calls_one_after_another_add_up():
    assert sequential_depth([call(0, 1), call(1, 2), call(2.5, 3)]) == 3


def test_calls_at_the_same_time_count_once():
    # The credential check, the instance record and the object range read together, then the audit.
    calls = [call(0, 3, "firestore.get"), call(0.1, 2, "firestore.get"), call(0.2, 4, "gcs.read"),
             call(4.5, 6, "firestore.commit")]
    assert sequential_depth(calls) == 2
    assert [c.name for c in critical_chain(calls)] == ["gcs.read", "firestore.commit"]


def test_a_long_call_beside_a_short_chain_keeps_the_chain():
    # A stream (0..10) overlaps a chain of three short calls: the chain is what waits longest.
    calls = [call(0, 10, "gcs.stream"), call(0, 1), call(2, 3), call(4, 5)]
    assert sequential_depth(calls) == 3


def test_order_of_recording_does_not_matter():
    calls = [call(i, i + 0.5) for i in range(6)] + [call(0.2, 5.9)]
    shuffled = list(calls)
    random.Random(3).shuffle(shuffled)
    assert sequential_depth(shuffled) == sequential_depth(calls) == 6


def test_depth_agrees_with_the_chain_it_names():
    rng = random.Random(5)
    for _ in range(50):
        calls = []
        for _ in range(rng.randint(1, 12)):
            start = rng.uniform(0, 10)
            calls.append(call(start, start + rng.uniform(0.01, 3)))
        chain = critical_chain(calls)
        assert len(chain) == sequential_depth(calls)
        assert all(a.end <= b.start for a, b in zip(chain, chain[1:]))


def test_header_round_trip():
    calls = [call(0, 1, "firestore.get"), call(0, 1, "gcs.read"), call(2, 3, "firestore.commit")]
    summary = parse_header(header_value(calls))
    assert summary.depth == 2 and summary.calls == 3
    assert summary.chain[-1] == "firestore.commit"
    assert summary.wait_ms == 2000.0 and summary.served_ms is None  # the chain's two calls, 1 s each


def test_header_carries_the_chain_wait_and_the_time_to_the_response():
    calls = [call(0.0, 0.002, "firestore.get"), call(0.0, 0.004, "gcs.read"), call(0.005, 0.0065, "firestore.commit")]
    summary = parse_header(header_value(calls, served=0.008))
    assert summary.chain == ("gcs.read", "firestore.commit")  # the longer read is the one waited for
    assert summary.wait_ms == 5.5 and summary.served_ms == 8.0


class Store:
    def get(self, path: str) -> str:
        return path

    def stream(self, name: str):
        yield from (b"a", b"b")

    def run_transaction(self, fn):
        return fn(self)

    def write(self, value: str) -> None:
        pass


def test_traced_adapter_records_only_while_a_trace_is_on():
    store = traced("firestore", Store())
    assert store.get("a") == "a"  # no trace: nothing recorded, nothing fails
    recorded, token = start_trace()
    try:
        store.get("b")
        assert b"".join(store.stream("x")) == b"ab"

        def body(transaction):
            transaction.get("c")
            transaction.write("d")  # buffered until the commit: not a round trip
            return 1

        assert store.run_transaction(body) == 1
    finally:
        stop_trace(token)
    assert [c.name for c in recorded.calls] == ["firestore.get", "firestore.stream", "firestore.get",
                                                "firestore.commit"]


def test_carried_work_records_into_the_request_trace():
    store = traced("gcs", Store())
    recorded, token = start_trace()
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(carried(store.get), ["a", "b", "c", "d"]))
            pool.submit(store.get, "not carried").result()
    finally:
        stop_trace(token)
    assert len(recorded.calls) == 4


def test_pool_work_counts_from_its_hand_over_not_from_a_free_thread():
    import time

    class Slow:
        def get(self, path: str) -> str:
            time.sleep(0.05)
            return path

    store = traced("gcs", Slow())
    recorded, token = start_trace()
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:  # one thread: the reads run one after another
            list(pool.map(carried(store.get), ["a", "b", "c"]))
    finally:
        stop_trace(token)
    assert sequential_depth(recorded.calls) == 1  # handed over together: none waited for another's answer


def test_only_the_first_call_of_pool_work_counts_from_its_hand_over():
    store = traced("gcs", Store())
    recorded, token = start_trace()

    def two_reads() -> None:
        store.get("a")
        store.get("b")

    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(carried(two_reads)).result()
    finally:
        stop_trace(token)
    first, second = recorded.calls
    assert second.start >= first.end
