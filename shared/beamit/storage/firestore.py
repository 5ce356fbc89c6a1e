"""Firestore implementation of :class:`~beamit.storage.protocols.MetadataStore`.

Every query the application makes passes through :func:`to_firestore_query`, so the set
of query shapes (and therefore the composite indexes production needs, declared in
``terraform/``) is visible in one place; see :func:`index_shape`. Reads, transactions and
batched creates use the Firestore API's raw protobufs; the private google-cloud-firestore
attributes that takes are all behind :mod:`beamit.storage.firestore_internals`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter, Or
from google.cloud.firestore_v1.types import BatchGetDocumentsResponse, CommitRequest, RunQueryResponse
from google.cloud.firestore_v1.types import Document as DocumentMessage
from google.cloud.firestore_v1.types import Write as WriteMessage

from beamit.storage.firestore_internals import (
    add_writes,
    batch_writes,
    decode_fields,
    document_name,
    firestore_rpc,
    structured_query,
    transform_results,
)
from beamit.storage.firestore_writes import create_write, encode_create
from beamit.storage.protocols import (
    DOCUMENT_NAME,
    AlreadyExists,
    AnyOf,
    ArrayUnion,
    Document,
    Filter,
    Increment,
    Minimum,
    Query,
    ServerTimestamp,
    Write,
)

T = TypeVar("T")

_CommitRequest = CommitRequest.pb()

_DIRECTIONS = {"asc": firestore.Query.ASCENDING, "desc": firestore.Query.DESCENDING}

_EQUALITY = ("==", "in")


def _merges_single_field_indexes(query: Query) -> bool:
    """Equality filters only (``==``, ``in``, disjunctions of them), ordered by name alone:
    Firestore answers such a query by merging single-field indexes, with no composite index."""
    for flt in query.filters:
        parts = flt.filters if isinstance(flt, AnyOf) else (flt,)
        if any(part.op not in _EQUALITY for part in parts):
            return False
    return all(name == DOCUMENT_NAME and direction == "asc" for name, direction in query.order_by)


COLLECTION_GROUP = "**/"
"""Prefix of the collection id in the :func:`index_shape` of a collection-group query: its
index must have collection-group scope (``scope = "COLLECTION_GROUP"`` in Terraform)."""


def index_shape(query: Query) -> tuple[str, tuple[tuple[str, str], ...]]:
    """(collection id, ordered (field, mode) pairs) a composite index must cover; no pairs when
    the query needs no composite index (:func:`_merges_single_field_indexes`). The collection id
    of a collection-group query is prefixed with :data:`COLLECTION_GROUP`.

    Equality and array filters come first, then the range/order fields, as Firestore
    composite index definitions do.
    """
    collection_id = query.collection.rsplit("/", 1)[-1]
    if query.group:
        # Firestore keeps single-field indexes of collection scope only: a collection-group
        # query always names the index it needs.
        collection_id = COLLECTION_GROUP + collection_id
    elif _merges_single_field_indexes(query):
        return collection_id, ()
    filters: list[Filter] = []
    for flt in query.filters:
        if isinstance(flt, AnyOf):
            raise ValueError("a disjunction needs equality filters ordered by name (no composite index)")
        filters.append(flt)
    fields: list[tuple[str, str]] = []
    for flt in filters:
        if flt.op in ("==", "in"):
            fields.append((flt.field, "ASCENDING"))
        elif flt.op in ("array_contains", "array_contains_any"):
            fields.append((flt.field, "CONTAINS"))
    for flt in filters:
        if flt.op not in ("==", "in", "array_contains", "array_contains_any"):
            fields.append((flt.field, "ASCENDING"))
    for name, direction in query.order_by:
        mode = "ASCENDING" if direction == "asc" else "DESCENDING"
        fields = [f for f in fields if f[0] != name] + [(name, mode)]
    return collection_id, tuple(fields)


def _field_filter(flt: Filter) -> FieldFilter:
    return FieldFilter(flt.field, flt.op, flt.value)


def to_firestore_query(client: firestore.Client, query: Query) -> Any:
    """Translate our :class:`Query` to a Firestore query object."""
    q: Any = client.collection_group(query.collection) if query.group else firestore.Query(
        client.collection(query.collection))
    for flt in query.filters:
        if isinstance(flt, AnyOf):
            q = q.where(filter=Or([_field_filter(part) for part in flt.filters]))
        else:
            q = q.where(filter=_field_filter(flt))
    for name, direction in query.order_by:
        q = q.order_by(name, direction=_DIRECTIONS[direction])
    if query.start_after is not None:
        names = [name for name, _ in query.order_by]
        values = [
            client.document(value) if name == DOCUMENT_NAME and isinstance(value, str) else value
            for name, value in zip(names, query.start_after)
        ]
        q = q.start_after(dict(zip(names, values)))
    if query.offset:
        q = q.offset(query.offset)
    if query.limit is not None:
        q = q.limit(query.limit)
    if query.select is not None:
        q = q.select(list(query.select))
    return q


TRANSACTION_ATTEMPTS = 5
"""Runs of a transaction function that Firestore aborted (contention) before giving up."""


class _Reads:
    """Document reads on the Firestore API, their answers decoded from the raw protobufs.

    google-cloud-firestore wraps every response, document and value in proto-plus objects before
    decoding them (``DocumentSnapshot``), which cost more than the decoding: a study's 300
    catalog records took ~75 ms of CPU that way. ``selector`` adds a transaction to the requests
    (see :class:`_FirestoreTransaction`); ``began`` receives each response's transaction id.
    """

    def __init__(self, client: firestore.Client) -> None:
        self._client = client
        rpc = firestore_rpc(client)
        self._api = rpc.api
        self._database = rpc.database
        self._metadata = rpc.metadata
        self._prefix = f"{self._database}/documents/"

    def get_one(self, path: str, fields: Sequence[str] | None = None) -> dict[str, Any] | None:
        """One document, outside a transaction: the unary ``GetDocument`` call, about half the
        client CPU of a one-document ``BatchGetDocuments`` stream (0.43 against 0.75 ms on the
        benchmark's machine), which credential checks and record reads make on every request."""
        request: dict[str, Any] = {"name": f"{self._prefix}{path}"}
        if fields is not None:
            request["mask"] = {"field_paths": list(fields)}
        try:
            found = self._api.get_document(request=request, metadata=self._metadata)
        except gexc.NotFound:
            return None
        return decode_fields(DocumentMessage.pb(found).fields, self._client)

    def get_many(
        self,
        paths: Sequence[str],
        fields: Sequence[str] | None = None,
        selector: dict[str, Any] | None = None,
        began: Callable[[bytes], None] | None = None,
    ) -> list[dict[str, Any] | None]:
        names = [f"{self._prefix}{path}" for path in paths]
        request: dict[str, Any] = {"database": self._database, "documents": list(dict.fromkeys(names)),
                                   **(selector or {})}
        if fields is not None:
            request["mask"] = {"field_paths": list(fields)}
        found: dict[str, dict[str, Any]] = {}
        for response in self._api.batch_get_documents(request=request, metadata=self._metadata):
            raw = BatchGetDocumentsResponse.pb(response)
            if began is not None:
                began(raw.transaction)
            if raw.WhichOneof("result") == "found":
                found[raw.found.name] = decode_fields(raw.found.fields, self._client)
        return [found.get(name) for name in names]

    def query(
        self,
        query: Query,
        selector: dict[str, Any] | None = None,
        began: Callable[[bytes], None] | None = None,
    ) -> list[Document]:
        parent, structured = structured_query(to_firestore_query(self._client, query))
        request = {"parent": parent, "structured_query": structured, **(selector or {})}
        docs = []
        for response in self._api.run_query(request=request, metadata=self._metadata):
            raw = RunQueryResponse.pb(response)
            if began is not None:
                began(raw.transaction)
            if raw.HasField("document"):
                docs.append(Document(raw.document.name.removeprefix(self._prefix),
                                     decode_fields(raw.document.fields, self._client)))
        return docs


class _FirestoreTransaction:
    """A read-write transaction that begins with its first read.

    google-cloud-firestore sends ``BeginTransaction`` before running a transaction's function:
    one round trip of three for the typical read-then-write transaction (an audited call's
    chain append is one). Here the first read carries ``new_transaction`` (the Firestore API's
    ``BatchGetDocuments``/``RunQuery`` field for exactly this) and its response the
    transaction id; later reads use the id, writes are buffered and sent with ``Commit``. A
    transaction that read nothing commits its writes as one atomic batch.
    """

    def __init__(self, client: firestore.Client, retry_id: bytes | None) -> None:
        self._client = client
        self._reads = _Reads(client)
        rpc = firestore_rpc(client)
        self._api = rpc.api
        self._database = rpc.database
        self._metadata = rpc.metadata
        self._retry_id = retry_id
        self._batch = client.batch()  # collects the write protobufs; sent by commit()
        self.id: bytes | None = None

    def _selector(self) -> dict[str, Any]:
        if self.id is not None:
            return {"transaction": self.id}
        read_write = {"retry_transaction": self._retry_id} if self._retry_id else {}
        return {"new_transaction": {"read_write": read_write}}

    def _began(self, transaction: bytes) -> None:
        if transaction:
            self.id = transaction

    def get(self, path: str) -> dict[str, Any] | None:
        return self._reads.get_many([path], selector=self._selector(), began=self._began)[0]

    def get_many(self, paths: Sequence[str]) -> list[dict[str, Any] | None]:
        return self._reads.get_many(paths, selector=self._selector(), began=self._began) if paths else []

    def query(self, query: Query) -> list[Document]:
        return self._reads.query(query, selector=self._selector(), began=self._began)

    def write(self, write: Write) -> None:
        _apply(self._client, self._batch, write)

    def commit(self) -> None:
        writes = batch_writes(self._batch)
        if self.id is None and not writes:
            return
        request: dict[str, Any] = {"database": self._database, "writes": writes}
        if self.id is not None:
            request["transaction"] = self.id
        self._api.commit(request=request, metadata=self._metadata)

    def rollback(self) -> None:
        if self.id is None:
            return
        try:
            self._api.rollback(request={"database": self._database, "transaction": self.id}, metadata=self._metadata)
        except gexc.GoogleAPICallError:
            pass  # the transaction expires by itself


def _transforms(data: dict[str, Any] | None) -> dict[str, Any]:
    """Our transform markers to Firestore sentinels (nested maps included)."""
    out: dict[str, Any] = {}
    for key, value in (data or {}).items():
        if isinstance(value, Increment):
            out[key] = firestore.Increment(value.amount)
        elif isinstance(value, Minimum):
            out[key] = firestore.Minimum(value.value)
        elif isinstance(value, ArrayUnion):
            out[key] = firestore.ArrayUnion(list(value.values))
        elif isinstance(value, ServerTimestamp):
            out[key] = firestore.SERVER_TIMESTAMP
        elif isinstance(value, dict):
            out[key] = _transforms(value)
        else:
            out[key] = value
    return out


def _apply(client: firestore.Client, target: Any, write: Write) -> None:
    ref = client.document(write.path)
    if write.op == "create" and isinstance(target, firestore.WriteBatch):
        # Batched creates (ingest's catalog documents) are encoded by firestore_writes.
        add_writes(target, [create_write(document_name(ref), write.data or {})])
        return
    write = Write(write.op, write.path, _transforms(write.data))
    if write.op == "create":
        target.create(ref, write.data or {})
    elif write.op == "set":
        target.set(ref, write.data or {})
    elif write.op == "merge":
        target.set(ref, write.data or {}, merge=True)
    elif write.op == "update":
        target.update(ref, write.data or {})
    elif write.op == "delete":
        target.delete(ref)
    else:  # pragma: no cover - Literal type guards this
        raise ValueError(write.op)


class FirestoreMetadataStore:
    def __init__(self, client: firestore.Client) -> None:
        self._client = client
        self._reads = _Reads(client)
        self._rpc = firestore_rpc(client)
        self._prefix = f"{self._rpc.database}/documents/"

    def get(self, path: str, fields: Sequence[str] | None = None) -> dict[str, Any] | None:
        return self._reads.get_one(path, fields)

    def get_many(self, paths: Sequence[str], fields: Sequence[str] | None = None) -> list[dict[str, Any] | None]:
        return self._reads.get_many(paths, fields) if paths else []

    def create(self, path: str, data: dict[str, Any]) -> None:
        try:
            self._client.document(path).create(_transforms(data))
        except gexc.Conflict as exc:
            raise AlreadyExists(path) from exc

    def set(self, path: str, data: dict[str, Any], *, merge: bool = False) -> None:
        self._client.document(path).set(_transforms(data), merge=merge)

    def update(self, path: str, data: dict[str, Any]) -> None:
        try:
            self._client.document(path).update(_transforms(data))
        except gexc.NotFound as exc:
            raise KeyError(path) from exc

    def delete(self, path: str) -> None:
        self._client.document(path).delete()

    def commit(self, writes: Sequence[Write]) -> None:
        if not writes:
            return
        if len(writes) > 500:
            raise ValueError("a Firestore batch holds at most 500 writes")
        # The request's raw message, creates encoded straight into it (firestore_writes); the
        # other writes through the library's encoder. WriteBatch.commit would copy every write
        # into a proto-plus CommitRequest again (4% of a STOW-RS request's CPU).
        request = _CommitRequest(database=self._rpc.database)
        for write in writes:
            if write.op == "create":
                encode_create(request.writes.add(), f"{self._prefix}{write.path}", write.data or {})
            else:
                encoded = self._client.batch()
                _apply(self._client, encoded, write)
                request.writes.extend(WriteMessage.pb(pb) for pb in batch_writes(encoded))
        try:
            self._rpc.api.commit(request=CommitRequest.wrap(request), metadata=self._rpc.metadata)
        except gexc.Conflict as exc:
            raise AlreadyExists(str(exc)) from exc

    def query(self, query: Query) -> list[Document]:
        return self._reads.query(query)

    def commit_transforms(self, writes: Sequence[Write]) -> list[dict[str, Any]]:
        if any(write.op != "merge" for write in writes):
            raise ValueError("commit_transforms takes merge writes")
        batch = self._client.batch()
        for write in writes:
            _apply(self._client, batch, write)
        sent = list(batch_writes(batch))
        return transform_results(sent, batch.commit(), self._client)

    def count(self, query: Query) -> int:
        result = to_firestore_query(self._client, query).count(alias="n").get()
        return int(result[0][0].value)

    def run_transaction(self, fn: Callable[[Any], T]) -> T:
        """Run ``fn`` in a read-write transaction (:class:`_FirestoreTransaction`), again from
        the start when Firestore aborts it for contention (as google-cloud-firestore's
        ``@transactional`` does), at most :data:`TRANSACTION_ATTEMPTS` times."""
        retry_id: bytes | None = None
        for attempt in range(1, TRANSACTION_ATTEMPTS + 1):
            txn = _FirestoreTransaction(self._client, retry_id)
            try:
                result = fn(txn)
                txn.commit()
                return result
            except gexc.Aborted:
                txn.rollback()
                if attempt == TRANSACTION_ATTEMPTS:
                    raise
                retry_id = retry_id or txn.id
            except BaseException:
                txn.rollback()
                raise
        raise AssertionError("unreachable")

    def ping(self) -> None:
        self._client.document("_health/ping").get(timeout=5)
