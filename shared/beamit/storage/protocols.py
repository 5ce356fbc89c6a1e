"""The four service interfaces the domain depends on.

Like dicomweb-client's ``protocol.py``: one small Protocol per service, one GCP
implementation each (``gcs.py``, ``firestore.py``, ``pubsub.py``, ``kms.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO, Literal, Protocol, TypeVar

T = TypeVar("T")


class AlreadyExists(Exception):
    """A create found the object or document already there."""


class PreconditionFailed(Exception):
    """A conditional write (generation match) lost the race."""


# --- blob store (Cloud Storage) -------------------------------------------------------


@dataclass(frozen=True)
class BlobInfo:
    bucket: str
    name: str
    size: int
    generation: int
    content_type: str | None
    crc32c: str | None = None
    md5_hash: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    created: datetime | None = None
    """When the object was created (``timeCreated``)."""


@dataclass(frozen=True)
class ObjectRange:
    """Bytes of an object, and the whole object's MD5 (base64), which Cloud Storage reports with
    every read (``None`` where it has none: composite objects): it says which object they are of."""

    data: bytes
    md5_hash: str | None


class BlobStore(Protocol):
    """Objects in buckets, addressed by (bucket, name)."""

    def put(
        self,
        bucket: str,
        name: str,
        data: bytes | BinaryIO,
        *,
        content_type: str,
        if_absent: bool = False,
        metadata: dict[str, str] | None = None,
    ) -> BlobInfo:
        """Write an object; with ``if_absent`` raise :class:`AlreadyExists` if it exists."""
        ...

    def read(self, bucket: str, name: str, start: int | None = None, end: int | None = None) -> bytes:
        """Bytes ``[start, end)`` of an object (all of it by default)."""
        ...

    def read_range(self, bucket: str, name: str, start: int, end: int | None) -> ObjectRange:
        """Bytes ``[start, end)`` of an object (``end`` ``None``: to its end; fewer past its end)
        with the whole object's MD5, in one GET."""
        ...

    def stream(self, bucket: str, name: str, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        """The object as a sequence of chunks, never whole in memory."""
        ...

    def stat(self, bucket: str, name: str) -> BlobInfo | None: ...

    def delete(self, bucket: str, name: str) -> None:
        """Delete an object; missing objects are ignored."""
        ...

    def copy(self, bucket: str, name: str, dest_bucket: str, dest_name: str) -> BlobInfo: ...

    def list(self, bucket: str, prefix: str = "") -> Iterator[BlobInfo]: ...

    def bucket_exists(self, bucket: str) -> bool: ...

    def open_reader(
        self, bucket: str, name: str, *, generation: int | None = None, chunk_size: int = 8 << 20
    ) -> BinaryIO:
        """A seekable reader of one object (``generation`` pins the version read): ranged reads
        of ``chunk_size`` bytes, so a large archive is read without holding it whole."""
        ...

    def create_upload_session(
        self, bucket: str, name: str, *, content_type: str, size: int, metadata: dict[str, str] | None = None
    ) -> str:
        """Start a resumable upload of a new object ``name`` (``ifGenerationMatch=0``, exactly
        ``size`` bytes) and return its session URI: whoever holds it can upload the bytes
        without other credentials until the session completes or expires (GCS: one week)."""
        ...


# --- metadata store (Firestore) -----------------------------------------------------------

FilterOp = Literal["==", "!=", "<", "<=", ">", ">=", "in", "not-in", "array_contains", "array_contains_any"]


@dataclass(frozen=True)
class Filter:
    field: str
    op: FilterOp
    value: Any


@dataclass(frozen=True)
class AnyOf:
    """Documents matching at least one of ``filters`` (Firestore ``Or``: at most 30 disjunctions
    in the disjunctive normal form of the whole query)."""

    filters: tuple[Filter, ...]


DOCUMENT_NAME = "__name__"
"""The field that orders by document name (``order_by=((DOCUMENT_NAME, "asc"),)``)."""


@dataclass(frozen=True)
class Query:
    """A query over one collection (a path such as ``tenants/t1/studies``).

    Ordered by ``order_by``, then by document name; ``(DOCUMENT_NAME, "asc")`` orders by document
    name alone, and its ``start_after`` value is a document path."""

    collection: str
    filters: tuple[Filter | AnyOf, ...] = ()
    order_by: tuple[tuple[str, Literal["asc", "desc"]], ...] = ()
    limit: int | None = None
    offset: int = 0
    start_after: tuple[Any, ...] | None = None
    select: tuple[str, ...] | None = None
    """Field paths to return (a projection, see :func:`field_path`); ``None`` returns whole
    documents."""
    group: bool = False
    """A collection-group query: ``collection`` is a collection id, and the query runs over every
    collection of that id in the database (e.g. ``outbox`` under every tenant). Production needs
    an index of collection-group scope for it (``terraform/firestore_indexes.tf``)."""


_SIMPLE_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def field_path(*keys: str) -> str:
    """The field path of a (nested) map key, e.g. ``field_path("dicom", "00280010")`` ->
    ``dicom.`00280010```: keys that are not identifiers are quoted with backticks, as
    Firestore's field path syntax requires."""
    return ".".join(
        key if _SIMPLE_FIELD.match(key) else "`" + key.replace("\\", "\\\\").replace("`", "\\`") + "`"
        for key in keys
    )


@dataclass(frozen=True)
class Document:
    path: str
    data: dict[str, Any]

    @property
    def id(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Increment:
    """A field transform: add ``amount`` atomically (commutes with concurrent writes)."""

    amount: int


@dataclass(frozen=True)
class Minimum:
    """A field transform: keep the smaller of the stored number and ``value`` (atomically)."""

    value: int


@dataclass(frozen=True)
class ArrayUnion:
    """A field transform: add ``values`` to an array field unless present (commutative)."""

    values: tuple[Any, ...]


@dataclass(frozen=True)
class ServerTimestamp:
    """A field transform: the commit time of the write."""


@dataclass(frozen=True)
class Write:
    """One write of an atomic batch."""

    op: Literal["create", "set", "merge", "update", "delete"]
    path: str
    data: dict[str, Any] | None = None


class Transaction(Protocol):
    def get(self, path: str) -> dict[str, Any] | None: ...

    def get_many(self, paths: Sequence[str]) -> list[dict[str, Any] | None]:
        """The documents (``None`` where missing), in order, in one read."""
        ...

    def query(self, query: Query) -> list[Document]: ...

    def write(self, write: Write) -> None: ...


class MetadataStore(Protocol):
    """Documents addressed by slash-separated paths; queries over one collection."""

    def get(self, path: str, fields: Sequence[str] | None = None) -> dict[str, Any] | None:
        """The document, or ``None``; ``fields`` (field paths) returns only those fields."""
        ...

    def get_many(
        self, paths: Sequence[str], fields: Sequence[str] | None = None
    ) -> list[dict[str, Any] | None]: ...

    def create(self, path: str, data: dict[str, Any]) -> None:
        """Create a document; raise :class:`AlreadyExists` if it is there."""
        ...

    def set(self, path: str, data: dict[str, Any], *, merge: bool = False) -> None: ...

    def update(self, path: str, data: dict[str, Any]) -> None:
        """Update fields of an existing document; raise ``KeyError`` if missing."""
        ...

    def delete(self, path: str) -> None: ...

    def commit(self, writes: Sequence[Write]) -> None:
        """Apply up to 500 writes atomically."""
        ...

    def query(self, query: Query) -> list[Document]: ...

    def count(self, query: Query) -> int:
        """Server-side aggregation count of a query's matches."""
        ...

    def run_transaction(self, fn: Callable[[Transaction], T]) -> T: ...

    def commit_transforms(self, writes: Sequence[Write]) -> list[dict[str, Any]]:
        """Apply ``merge`` writes whose data hold field transforms (:class:`Increment`,
        :class:`Minimum`) as one atomic batch, and return for each write the value every
        transformed field has after it (Firestore's ``transform_results``): an atomic
        read-modify-write of counters without a transaction, so no contention retries."""
        ...

    def ping(self) -> None:
        """Raise if the database is unreachable."""
        ...


# --- event bus (Pub/Sub) ----------------------------------------------------------------------


class EventBus(Protocol):
    def publish(self, topic: str, data: bytes, attributes: dict[str, str] | None = None) -> str:
        """Publish one message and wait for its id."""
        ...

    def publish_many(
        self, topic: str, messages: Sequence[tuple[bytes, dict[str, str]]], *, timeout: float = 30.0
    ) -> list[str]:
        """Publish messages together (the client batches them) and wait for their ids, in order,
        at most ``timeout`` seconds in all; raises the first failure after every message has been
        tried (a message that timed out may still be published later by the client's retries)."""
        ...

    def topic_exists(self, topic: str) -> bool: ...


# --- key service (Cloud KMS) --------------------------------------------------------------------


class KeyService(Protocol):
    def encrypt(self, key: str, plaintext: bytes, aad: bytes = b"") -> bytes:
        """Encrypt with the primary version of key ``key`` (a purpose: ``secrets``, ...)."""
        ...

    def decrypt(self, key: str, ciphertext: bytes, aad: bytes = b"") -> bytes: ...

    def ping(self, key: str) -> None:
        """Raise if the key is unreachable."""
        ...
