"""An in-memory :class:`beamit.storage.MetadataStore` for unit tests of pure logic.

It implements the operations and query shapes the domain uses (equality, range and
array-contains filters on dotted field paths, ordering, limit, ``start_after``) with
Firestore's semantics; transactions run directly (no contention in a unit test).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from beamit.storage import AlreadyExists, Document, Increment, Minimum, Query, Write

T = TypeVar("T")
_MISSING = object()


def _field(data: dict[str, Any], path: str) -> Any:
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _matches(data: dict[str, Any], flt: Any) -> bool:
    value = _field(data, flt.field)
    if value is _MISSING:
        return False
    if flt.op == "==":
        return bool(value == flt.value)
    if flt.op == "array_contains":
        return isinstance(value, list) and flt.value in value
    if flt.op == "in":
        return value in flt.value
    if value is None:
        return False
    return {"<": value < flt.value, "<=": value <= flt.value, ">": value > flt.value, ">=": value >= flt.value,
            "!=": value != flt.value}[flt.op]


class MemoryStore:
    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}

    def get(self, path: str, fields: Sequence[str] | None = None) -> dict[str, Any] | None:
        """Whole documents whatever ``fields`` asks (a superset of Firestore's projection)."""
        data = self.docs.get(path)
        return copy.deepcopy(data) if data is not None else None

    def get_many(self, paths: Sequence[str], fields: Sequence[str] | None = None) -> list[dict[str, Any] | None]:
        return [self.get(p) for p in paths]

    def create(self, path: str, data: dict[str, Any]) -> None:
        if path in self.docs:
            raise AlreadyExists(path)
        self.docs[path] = copy.deepcopy(data)

    def set(self, path: str, data: dict[str, Any], *, merge: bool = False) -> None:
        self.docs[path] = {**(self.docs.get(path, {}) if merge else {}), **copy.deepcopy(data)}

    def update(self, path: str, data: dict[str, Any]) -> None:
        if path not in self.docs:
            raise KeyError(path)
        self.docs[path].update(copy.deepcopy(data))

    def delete(self, path: str) -> None:
        self.docs.pop(path, None)

    def commit(self, writes: Sequence[Write]) -> None:
        for write in writes:
            if write.op == "create" and write.path in self.docs:
                raise AlreadyExists(write.path)
        for write in writes:
            self._apply(write)

    def _apply(self, write: Write) -> None:
        if write.op == "create":
            self.create(write.path, write.data or {})
        elif write.op == "set":
            self.set(write.path, write.data or {})
        elif write.op == "merge":
            self.set(write.path, write.data or {}, merge=True)
        elif write.op == "update":
            self.update(write.path, write.data or {})
        else:
            self.delete(write.path)

    def query(self, query: Query) -> list[Document]:
        prefix = query.collection + "/"

        def member(path: str) -> bool:
            if query.group:  # any collection of that id, at any depth
                parts = path.split("/")
                return len(parts) >= 2 and parts[-2] == query.collection
            return path.startswith(prefix) and "/" not in path[len(prefix):]

        found = [
            Document(path, copy.deepcopy(data))
            for path, data in self.docs.items()
            if member(path) and all(_matches(data, f) for f in query.filters)
        ]
        for name, direction in reversed(query.order_by):
            found = [d for d in found if _field(d.data, name) is not _MISSING]
            found.sort(key=lambda d, n=name: _field(d.data, n), reverse=direction == "desc")
        if query.start_after is not None:
            name, direction = query.order_by[0]
            bound = query.start_after[0]
            found = [d for d in found if (_field(d.data, name) < bound if direction == "desc"
                                          else _field(d.data, name) > bound)]
        found = found[query.offset:]
        return found[: query.limit] if query.limit is not None else found

    def count(self, query: Query) -> int:
        return len(self.query(query))

    def run_transaction(self, fn: Callable[[Any], T]) -> T:
        store = self

        class _Txn:
            def __init__(self) -> None:
                self.writes: list[Write] = []

            def get(self, path: str) -> dict[str, Any] | None:
                return store.get(path)

            def get_many(self, paths: Sequence[str]) -> list[dict[str, Any] | None]:
                return store.get_many(paths)

            def query(self, query: Query) -> list[Document]:
                return store.query(query)

            def write(self, write: Write) -> None:
                self.writes.append(write)

        txn = _Txn()
        result = fn(txn)
        store.commit(txn.writes)
        return result

    def commit_transforms(self, writes: Sequence[Write]) -> list[dict[str, Any]]:
        results = []
        for write in writes:
            assert write.op == "merge"
            current = self.docs.setdefault(write.path, {})
            changed: dict[str, Any] = {}
            for key, value in (write.data or {}).items():
                if isinstance(value, Increment):
                    current[key] = changed[key] = current.get(key, 0) + value.amount
                elif isinstance(value, Minimum):
                    current[key] = changed[key] = min(current.get(key, value.value), value.value)
                else:
                    current[key] = copy.deepcopy(value)
            results.append(changed)
        return results

    def ping(self) -> None:
        return None
