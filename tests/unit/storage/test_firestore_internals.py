"""The contract with google-cloud-firestore's private attributes (:mod:`beamit.storage.firestore_internals`).

:data:`PRIVATE` names every private attribute or module the adapter uses. On the pinned
library version each must exist with the kind the wrapper expects, and each wrapper must give
the expected protobuf or value on real library objects (a client with anonymous credentials
and no server: nothing here makes a call). An upgrade that renames or changes one fails here,
naming it. The last tests hold every other module to the wrappers.
"""

from __future__ import annotations

import ast
import datetime
import importlib
import importlib.metadata
import inspect
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter
from google.cloud.firestore_v1.services.firestore import FirestoreClient
from google.cloud.firestore_v1.types import StructuredQuery, document, write

from beamit.storage import DOCUMENT_NAME as NAME
from beamit.storage.firestore import to_firestore_query
from beamit.storage.firestore_internals import (
    add_writes,
    batch_writes,
    decode_fields,
    document_name,
    encode_value_pb,
    firestore_rpc,
    structured_query,
    transform_results,
)
from beamit.storage.firestore_writes import create_write
from beamit.storage.protocols import Filter, Query

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "shared" / "beamit"
INTERNALS = PACKAGE / "storage" / "firestore_internals.py"
DATABASE = "projects/p/databases/(default)"
LIBRARY = "google-cloud-firestore"


@dataclass(frozen=True)
class Private:
    """A private name of google-cloud-firestore, where it lives, what it is, and who needs it."""

    owner: str
    """A module (``google.cloud.firestore_v1._helpers``) or ``module:Class``."""
    name: str
    kind: str
    """``module``, ``function``, ``method``, ``property`` or ``instance attribute``."""
    wrapper: str
    """The :mod:`beamit.storage.firestore_internals` function that uses it."""

    @property
    def label(self) -> str:
        return f"{self.owner.split(':')[-1].rsplit('.', 1)[-1]}.{self.name}"


CLIENT = "google.cloud.firestore_v1.client:Client"
QUERY = "google.cloud.firestore_v1.query:Query"
COLLECTION = "google.cloud.firestore_v1.collection:CollectionReference"
BATCH = "google.cloud.firestore_v1.batch:WriteBatch"
DOCUMENT = "google.cloud.firestore_v1.document:DocumentReference"
HELPERS = "google.cloud.firestore_v1._helpers"

PRIVATE = [
    Private("google.cloud.firestore_v1", "_helpers", "module", "decode_fields, encode_value_pb, transform_results"),
    Private(HELPERS, "decode_dict", "function", "decode_fields"),
    Private(HELPERS, "decode_value", "function", "transform_results"),
    Private(HELPERS, "encode_value", "function", "encode_value_pb"),
    Private(CLIENT, "_firestore_api", "property", "firestore_rpc"),
    Private(CLIENT, "_database_string", "property", "firestore_rpc"),
    Private(CLIENT, "_rpc_metadata", "property", "firestore_rpc"),
    Private(QUERY, "_parent", "instance attribute", "structured_query"),
    Private(COLLECTION, "_parent_info", "method", "structured_query"),
    Private(QUERY, "_to_protobuf", "method", "structured_query"),
    Private(BATCH, "_add_write_pbs", "method", "add_writes"),
    Private(BATCH, "_write_pbs", "instance attribute", "batch_writes"),
    Private(DOCUMENT, "_document_path", "property", "document_name"),
]

REPLACED = {"_pb": "proto-plus Message.pb(obj)", "_query": "firestore.Query(collection)"}
"""Private names the adapter used before and that have public equivalents: not to come back."""


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> firestore.Client:
    """A client of project ``p`` aimed at production (not the emulator, even when a test session
    started it), with anonymous credentials; the tests here make no call."""
    monkeypatch.delenv("FIRESTORE_EMULATOR_HOST", raising=False)
    return firestore.Client(project="p", credentials=AnonymousCredentials())


def _owner(spec: str) -> Any:
    module, _, cls = spec.partition(":")
    owner = importlib.import_module(module)
    return getattr(owner, cls) if cls else owner


def _instances(client: firestore.Client) -> dict[str, Any]:
    """Real instances of the classes whose private instance attributes the table names."""
    return {QUERY: firestore.Query(client.collection("c")), BATCH: client.batch()}


def _kind(owner: Any, name: str, instance: Any) -> str:
    if inspect.ismodule(owner) and not hasattr(owner, name):  # a submodule not imported yet
        try:
            importlib.import_module(f"{owner.__name__}.{name}")
        except ImportError:
            return "missing"
    found = inspect.getattr_static(owner, name, None)
    if found is None:
        return "instance attribute" if instance is not None and name in vars(instance) else "missing"
    if inspect.ismodule(found):
        return "module"
    if isinstance(found, property):
        return "property"
    if callable(found):
        return "method" if inspect.isclass(owner) else "function"
    return "attribute"


def test_the_table_is_checked_against_the_pinned_library() -> None:
    pins = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    (pin,) = [dep for dep in pins if dep.startswith(f"{LIBRARY}==")]
    assert importlib.metadata.version(LIBRARY) == pin.split("==")[1], (
        f"installed {LIBRARY} is not the pinned {pin}: run `make venv`"
    )


@pytest.mark.parametrize("private", PRIVATE, ids=lambda p: p.label)
def test_each_private_name_exists_with_its_kind(private: Private, client: firestore.Client) -> None:
    found = _kind(_owner(private.owner), private.name, _instances(client).get(private.owner))
    assert found == private.kind, (
        f"{LIBRARY} {importlib.metadata.version(LIBRARY)}: {private.owner.replace(':', '.')}.{private.name} is "
        f"{found}, expected {private.kind}; beamit.storage.firestore_internals.{private.wrapper} relies on it"
    )


def test_firestore_rpc_is_the_clients_own_api_database_and_metadata(client: firestore.Client) -> None:
    rpc = firestore_rpc(client)
    assert isinstance(rpc.api, FirestoreClient)
    assert rpc.api is firestore_rpc(client).api, "the client's cached GAPIC client, not a new one"
    assert rpc.database == DATABASE
    assert ("google-cloud-resource-prefix", DATABASE) in rpc.metadata


def test_firestore_rpc_carries_the_emulators_authorization(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", "127.0.0.1:9")  # never called
    rpc = firestore_rpc(firestore.Client(project="p", credentials=AnonymousCredentials()))
    assert ("authorization", "Bearer owner") in rpc.metadata


def test_transform_results_name_each_value_by_its_field(client: firestore.Client) -> None:
    batch = client.batch()
    batch.set(client.document("c/d"), {"n": firestore.Increment(1), "first": firestore.Minimum(5), "x": 1},
              merge=True)
    sent = list(batch_writes(batch))
    order = [transform.field_path for transform in sent[0].update_transforms]  # the library's, not ours
    assert sorted(order) == ["first", "n"]
    result = write.WriteResult(transform_results=[document.Value(integer_value=7), document.Value(integer_value=3)])
    assert transform_results(sent, [result], client) == [dict(zip(order, (7, 3)))]


def test_structured_query_of_a_subcollection(client: firestore.Client) -> None:
    query = Query("tenants/t/studies", filters=(Filter("q.modality", "==", "CT"),),
                  order_by=((NAME, "asc"),), limit=5, select=("studyUID",))
    parent, pb = structured_query(to_firestore_query(client, query))
    assert parent == f"{DATABASE}/documents/tenants/t"
    assert isinstance(pb, StructuredQuery)
    assert [c.collection_id for c in pb.from_] == ["studies"]
    assert pb.where.field_filter.field.field_path == "q.modality"
    assert pb.where.field_filter.value.string_value == "CT"
    assert [o.field.field_path for o in pb.order_by] == [NAME]
    assert pb.limit == 5
    assert [f.field_path for f in pb.select.fields] == ["studyUID"]


def test_structured_query_of_a_top_level_collection(client: firestore.Client) -> None:
    parent, pb = structured_query(firestore.Query(client.collection("tenants")).where(
        filter=FieldFilter("status", "==", "active")))
    assert parent == f"{DATABASE}/documents"
    assert [c.collection_id for c in pb.from_] == ["tenants"]


def _sample(client: firestore.Client) -> dict[str, Any]:
    return {
        "s": "山田^太郎", "i": 7, "f": 1.5, "t": True, "none": None, "bytes": b"\x00\x01",
        "when": datetime.datetime(2026, 11, 29, 9, 0, tzinfo=datetime.UTC),
        "ref": client.document("tenants/t"), "geo": firestore.GeoPoint(48.85, 2.35),
        "nested": {"a": ["x", 1, {"b": None}]},
    }


def test_encode_value_pb_gives_raw_protobufs(client: firestore.Client) -> None:
    raw_value = document.Value.pb()
    encoded = {key: encode_value_pb(value) for key, value in _sample(client).items()}
    assert all(type(pb) is raw_value for pb in encoded.values()), "raw protobufs, not proto-plus"
    kinds = {key: pb.WhichOneof("value_type") for key, pb in encoded.items()}
    assert kinds == {
        "s": "string_value", "i": "integer_value", "f": "double_value", "t": "boolean_value",
        "none": "null_value", "bytes": "bytes_value", "when": "timestamp_value",
        "ref": "reference_value", "geo": "geo_point_value", "nested": "map_value",
    }
    assert encoded["ref"].reference_value == f"{DATABASE}/documents/tenants/t"


def test_decode_fields_inverts_encode_value_pb(client: firestore.Client) -> None:
    data = _sample(client)
    raw = document.Document.pb()(fields={key: encode_value_pb(value) for key, value in data.items()})
    assert decode_fields(raw.fields, client) == data


def test_document_name(client: firestore.Client) -> None:
    assert document_name(client.document("tenants/t/instances/1.2.3")) == (
        f"{DATABASE}/documents/tenants/t/instances/1.2.3")


def test_batch_writes_holds_added_writes_with_the_librarys_own(client: firestore.Client) -> None:
    """What :func:`add_writes` adds is in the list a batch's ``Commit`` sends, beside its own writes."""
    batch = client.batch()
    ours = create_write(f"{DATABASE}/documents/tenants/t/instances/1", {"a": 1})
    add_writes(batch, [ours])
    batch.delete(client.document("tenants/t/instances/2"))
    writes = batch_writes(batch)
    assert writes[0] == ours
    assert writes[1].delete == f"{DATABASE}/documents/tenants/t/instances/2"
    assert len(writes) == 2


# --- the source scans ---------------------------------------------------------------------------

FORBIDDEN = {p.name for p in PRIVATE} | set(REPLACED)


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _of_the_library(dotted: str) -> bool:
    """Whether a dotted import path is in google-cloud-firestore or proto-plus."""
    return dotted.startswith("google.cloud.firestore") or dotted.split(".")[0] == "proto"


def _imports(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, dotted path) of each name an absolute import binds: ``google.cloud.firestore_v1._helpers``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield from ((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)


def _private_imports(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, name) of each private module or name imported from the library."""
    for line, dotted in _imports(tree):
        if _of_the_library(dotted):
            yield from ((line, part) for part in dotted.split(".") if _private(part))


def _private_attributes(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, name) of each private attribute read on an object other than ``self``/``cls``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            if not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                yield node.lineno, node.attr


def _offences(source: str) -> Iterator[tuple[int, str]]:
    """(line, what) of each use outside firestore_internals that a wrapper there should make.

    A private module or name imported from the library; one of the table's names (or
    :data:`REPLACED`) read on another object, or named in a string (``getattr``); and in a
    module that imports the library, any private attribute of another object.
    """
    tree = ast.parse(source)
    yield from _private_imports(tree)
    uses_library = any(_of_the_library(dotted) for _, dotted in _imports(tree))
    yield from ((line, name) for line, name in _private_attributes(tree) if name in FORBIDDEN or uses_library)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and node.value in FORBIDDEN:
            yield node.lineno, f"{node.value!r} (string)"


def test_the_table_names_every_private_name_the_wrappers_use() -> None:
    tree = ast.parse(INTERNALS.read_text())
    modules = {name for _, name in _private_imports(tree)}
    used = modules | {name for _, name in _private_attributes(tree)} | {
        node.attr for node in ast.walk(tree)  # functions of a private module: _helpers.decode_dict
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules
    }
    table = {p.name for p in PRIVATE}
    assert used == table, (
        f"firestore_internals uses {sorted(used - table)}, not in PRIVATE; PRIVATE names {sorted(table - used)}, "
        "which it no longer uses"
    )


@pytest.mark.parametrize("source", [
    "from google.cloud.firestore_v1 import _helpers\n",
    "import google.cloud.firestore_v1._helpers\n",
    "def f(client):\n    return client._firestore_api\n",
    "def f(batch):\n    return getattr(batch, '_write_pbs')\n",
    "def f(response):\n    return response._pb\n",
    "from google.cloud import firestore\ndef f(client):\n    return client._database\n",
    "import proto\ndef f(message):\n    return message._meta\n",
], ids=["private module", "import of a private module", "table name", "string", "replaced name",
        "any private attribute in a firestore module", "any private attribute in a proto-plus module"])
def test_the_scan_finds(source: str) -> None:
    assert list(_offences(source))


@pytest.mark.parametrize("source", [
    "from google.cloud import firestore\nclass A:\n    def f(self):\n        return self._client\n",
    "from beamit.storage import protocols\ndef f(other):\n    return other._client\n",
    "from google.cloud import storage\ndef f(blob):\n    return blob._properties\n",
], ids=["own private attribute", "module without the library", "another google library"])
def test_the_scan_spares(source: str) -> None:
    assert not list(_offences(source))


def test_no_other_module_touches_the_private_names() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {name}"
        for path in sorted(PACKAGE.rglob("*.py")) if path != INTERNALS
        for line, name in _offences(path.read_text())
    ]
    assert not offenders, (
        "private google-cloud-firestore names outside beamit.storage.firestore_internals "
        "(add a wrapper there instead):\n" + "\n".join(offenders)
    )
