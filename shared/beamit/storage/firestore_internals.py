"""The private parts of google-cloud-firestore that BeamIt's Firestore adapter relies on, and only here.

:mod:`beamit.storage.firestore` reads documents from the raw protobufs of the Firestore API and
runs transactions that begin with their first read; :mod:`beamit.storage.firestore_writes`
encodes ingest's catalog creates as raw protobufs. Both need a few attributes that
google-cloud-firestore (pinned in ``pyproject.toml``) keeps private. Every such use is a
function below, so that a library upgrade that renames or changes one breaks here, and
``tests/unit/storage/test_firestore_internals.py`` names the attribute that moved. Each
function says what it uses, what it bought (measurements from the commits that introduced
it), and what the public API would cost instead. No other module touches these names; the
same test checks that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from google.cloud import firestore
from google.cloud.firestore_v1 import _helpers
from google.cloud.firestore_v1.services.firestore import FirestoreClient
from google.cloud.firestore_v1.types import StructuredQuery, document, write


@dataclass(frozen=True)
class FirestoreRpc:
    """Where a :class:`firestore.Client` sends its Firestore API calls, for requests built by hand."""

    api: FirestoreClient
    """The GAPIC client (``BatchGetDocuments``, ``RunQuery``, ``Commit``, ``Rollback``)."""
    database: str
    """``projects/{project}/databases/{database}``: the ``database`` field of requests."""
    metadata: Sequence[tuple[str, str]]
    """The gRPC metadata every call carries: the resource prefix routing header, and on the
    emulator its ``authorization: Bearer owner``."""


def firestore_rpc(client: firestore.Client) -> FirestoreRpc:
    """The GAPIC client, database name and call metadata of ``client``.

    Uses ``Client._firestore_api``, ``Client._database_string`` and ``Client._rpc_metadata``
    (properties). Reads, transactions and batched commits call the API with them directly: documents decoded from
    the raw responses instead of ``DocumentSnapshot``'s proto-plus wrappers (~75 ms of CPU less
    for a study's 300 catalog records, commit f29ae3d), and a transaction that begins with its
    first read (``new_transaction``) instead of a ``BeginTransaction`` round trip (one RPC fewer
    on every audited call, frames/rendered p50 ~3-4 ms lower, commit bddb41b). The public
    alternative is ``DocumentReference.get``/``Client.get_all``/``Query.stream``,
    ``@firestore.transactional`` and ``WriteBatch.commit`` (which copies every write into a proto-plus
    request again, commit c59228f), which cost exactly those; or a GAPIC client of our own, which
    would repeat the library's credentials, channel, emulator and routing-header set-up.
    """
    return FirestoreRpc(
        api=cast(FirestoreClient, client._firestore_api),
        database=cast(str, client._database_string),
        metadata=cast(Sequence[tuple[str, str]], client._rpc_metadata),
    )


def structured_query(query: firestore.Query) -> tuple[str, StructuredQuery]:
    """The ``parent`` and ``structured_query`` fields of the ``RunQuery`` request for ``query``.

    Uses ``Query._parent`` (attribute: its collection), ``CollectionReference._parent_info()``
    and ``Query._to_protobuf()``, the library's own request building for ``Query.stream``.
    Queries are run on the raw API for the reasons of :func:`firestore_rpc` (commits f29ae3d,
    bddb41b). The public alternative is ``Query.stream``, with the costs given there; building
    the ``StructuredQuery`` ourselves would be a second translator (filters, orders, cursors
    from document references) to keep equal to the library's.
    """
    parent, _ = query._parent._parent_info()
    return cast(str, parent), query._to_protobuf()


def decode_fields(fields: Mapping[str, Any], client: firestore.Client) -> dict[str, Any]:
    """A document's fields (the raw protobuf map of ``Value``) as Python values, as
    ``DocumentSnapshot.to_dict`` gives them.

    Uses ``google.cloud.firestore_v1._helpers.decode_dict`` (private module), the decoder
    ``DocumentSnapshot`` uses itself, so values (timestamps, references, GeoPoints, vectors)
    decode exactly as through the public API. Decoding the raw response saved ~75 ms of CPU for
    a study's 300 catalog records (commit f29ae3d). The public alternative is a
    ``DocumentSnapshot`` per document (proto-plus wrapping, then a deep copy in ``to_dict``),
    or a decoder of our own for every Firestore value type.
    """
    return cast(dict[str, Any], _helpers.decode_dict(fields, client))


def encode_value_pb(value: Any) -> Any:
    """The raw ``google.firestore.v1.Value`` protobuf of ``value``, as the library encodes it.

    Uses ``google.cloud.firestore_v1._helpers.encode_value`` (private module). The raw catalog
    create writes (commit 652d355; 3-5x faster than ``pbs_for_create`` for a catalog instance
    record, measured on the pinned version) encode the common types themselves and hand the
    rest (datetimes, bytes, GeoPoints, references, ...) to this, so those stay exactly the
    library's encoding. The public alternative is an encoder of our own for those types, which
    ``tests/unit/storage/test_firestore_writes.py`` would have to hold equal to the library's.
    """
    return document.Value.pb(_helpers.encode_value(value))


def document_name(ref: firestore.DocumentReference) -> str:
    """The full resource name of ``ref``: ``projects/{p}/databases/{d}/documents/{path}``.

    Uses ``DocumentReference._document_path`` (property), the name the library's own writes
    carry; the raw create writes (commit 652d355) need it. The public alternative is to join
    ``Client._database_string`` (private too) with ``ref.path``.
    """
    return cast(str, ref._document_path)


def add_writes(batch: firestore.WriteBatch, writes: Sequence[write.Write]) -> None:
    """Append ready-encoded ``Write`` messages to ``batch``, as its own ``create``/``set``/... do.

    Uses ``WriteBatch._add_write_pbs()``. Ingest's batched catalog creates are encoded by
    :func:`beamit.storage.firestore_writes.create_write`, 3-5x faster than the library's
    proto-plus encoding, which was most of a STOW-RS request's commit time (commit 652d355).
    The public alternative is ``WriteBatch.create(ref, data)``, which encodes the document again
    with the library's encoder.
    """
    batch._add_write_pbs(list(writes))


def batch_writes(batch: firestore.WriteBatch) -> list[write.Write]:
    """The ``Write`` messages ``batch`` holds (not a copy), in the order they were added.

    Uses ``WriteBatch._write_pbs`` (instance attribute). A transaction buffers its writes in a
    batch and sends them with its own ``Commit`` request carrying the transaction id, because it
    began with its first read (commit bddb41b: one RPC fewer per audited call, see
    :func:`firestore_rpc`). The public alternative is ``firestore.Transaction``, whose writes are
    as private, and which begins with a ``BeginTransaction`` round trip.
    """
    return batch._write_pbs


def transform_results(
    sent: Sequence[write.Write], results: Sequence[write.WriteResult], client: firestore.Client
) -> list[dict[str, Any]]:
    """For each write sent, ``{field path: value after the write}`` of its field transforms.

    Firestore answers a commit with one ``WriteResult`` per write, whose ``transform_results``
    are in the order of that write's ``update_transforms``; the field paths come from the write
    messages (``sent``, read with :func:`batch_writes` before the commit, which empties them).
    """
    out = []
    for pb, result in zip(sent, results, strict=True):
        out.append({
            transform.field_path: _helpers.decode_value(value, client)
            for transform, value in zip(pb.update_transforms, result.transform_results, strict=True)
        })
    return out


__all__ = [
    "FirestoreRpc",
    "add_writes",
    "batch_writes",
    "transform_results",
    "decode_fields",
    "document_name",
    "encode_value_pb",
    "firestore_rpc",
    "structured_query",
]
