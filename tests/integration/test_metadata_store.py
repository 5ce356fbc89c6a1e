"""The Firestore adapter against the emulator: reads with field masks, and transactions, which
begin with their first read (no BeginTransaction round trip), read what is there, and commit all
their writes or none.

Not tested here: contention on one document. The emulator's locking gives up ("Transaction
lock timeout") on as few as two concurrent read-modify-write transactions of one document,
with google-cloud-firestore's own ``@transactional`` as with this adapter; production
Firestore orders them. The application spreads its transactional writes (one document per share
or token); audit chains have one writer each and need no transaction."""

from __future__ import annotations

import pytest
from google.api_core import exceptions as gexc

from beamit.ids import random_token
from beamit.storage import Filter, Increment, Minimum, Query, Write, field_path


@pytest.fixture
def root() -> str:
    return f"txn-tests/{random_token(8)}/docs"


def test_a_failing_transaction_writes_nothing(svc, root):
    store = svc.metadata
    store.set(f"{root}/a", {"v": 1})

    def fails(txn):
        txn.get(f"{root}/a")
        txn.write(Write("set", f"{root}/a", {"v": 2}))
        txn.write(Write("create", f"{root}/b", {"v": 2}))
        raise RuntimeError("changed my mind")

    with pytest.raises(RuntimeError):
        store.run_transaction(fails)
    assert store.get(f"{root}/a") == {"v": 1} and store.get(f"{root}/b") is None


def test_reads_of_missing_documents_and_queries_inside_a_transaction(svc, root):
    store = svc.metadata
    for name, kind in (("x1", "x"), ("x2", "x"), ("y1", "y")):
        store.set(f"{root}/{name}", {"kind": kind, "name": name})

    def read(txn):
        missing = txn.get(f"{root}/nothing")
        found = txn.query(Query(collection=root, filters=(Filter("kind", "==", "x"),)))
        txn.write(Write("create", f"{root}/summary", {"count": len(found)}))
        return missing, found

    missing, found = store.run_transaction(read)
    assert missing is None
    assert sorted((d.path, d.data["name"]) for d in found) == [(f"{root}/x1", "x1"), (f"{root}/x2", "x2")]
    assert store.get(f"{root}/summary") == {"count": 2}


def test_a_transaction_without_reads_commits_atomically(svc, root):
    store = svc.metadata
    store.set(f"{root}/taken", {"v": 1})

    def blind(txn):
        txn.write(Write("create", f"{root}/new", {"v": 1}))
        txn.write(Write("create", f"{root}/taken", {"v": 2}))

    with pytest.raises(gexc.Conflict):
        store.run_transaction(blind)
    assert store.get(f"{root}/new") is None and store.get(f"{root}/taken") == {"v": 1}


def test_reads_with_field_paths_return_only_those_fields(svc, root):
    store = svc.metadata
    doc = {"blob": "b", "terms": ["x"] * 50, "dicom": {"00280010": {"vr": "US", "Value": [512]},
                                                       "00100010": {"vr": "PN", "Value": [{"Alphabetic": "DOE^J"}]}}}
    store.set(f"{root}/a", doc)
    fields = ("blob", field_path("dicom", "00280010"), field_path("dicom", "00280008"))
    expected = {"blob": "b", "dicom": {"00280010": {"vr": "US", "Value": [512]}}}
    assert store.get(f"{root}/a", fields) == expected
    assert store.get_many([f"{root}/a", f"{root}/missing"], fields) == [expected, None]
    assert store.get(f"{root}/a", ("absent",)) == {}  # exists, none of the fields
    assert store.get(f"{root}/missing", fields) is None
    found = store.query(Query(collection=root, select=fields))
    assert [d.data for d in found] == [expected]
    assert store.get(f"{root}/a") == doc


def test_transforms_return_their_results_and_parallel_increments_are_ordered(svc, root):
    """Counters without a transaction: each of many parallel increments gets its own value back
    (what the throttles and the API-key budget reserve with), and a Minimum keeps the first."""
    from concurrent.futures import ThreadPoolExecutor

    store = svc.metadata
    path = f"{root}/counter"

    def add(at: int) -> dict:
        return store.commit_transforms([Write("merge", path, {"n": Increment(1), "first": Minimum(at),
                                                               "note": "x"})])[0]

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(add, range(100, 124)))
    assert sorted(r["n"] for r in results) == list(range(1, 25))
    assert min(r["first"] for r in results) == 100
    assert store.get(path) == {"n": 24, "first": 100, "note": "x"}
    both = store.commit_transforms([Write("merge", path, {"n": Increment(-24)}),
                                    Write("merge", f"{root}/other", {"m": Increment(5)})])
    assert both == [{"n": 0}, {"m": 5}]
