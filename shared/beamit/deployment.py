"""The deployment manifest (``platform.json``): functions, routes, buckets, topics, keys.

It is the one routing table: the local gateway dispatches by it, the dev stack creates
the buckets/topics/keys it names, and Terraform reads the same file with ``jsondecode``.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class Trigger:
    """How a function is invoked: ``http``, ``gcs-finalize``, ``pubsub-push`` or ``scheduler``."""

    type: str
    bucket: str | None = None
    topic: str | None = None
    schedule: str | None = None
    filter: str | None = None
    """A pubsub-push subscription's filter (Pub/Sub's filter syntax); the function ignores
    what it does not want anyway (the emulator does not filter)."""


@dataclass(frozen=True)
class FunctionSpec:
    """One Cloud Function (gen2) of the system."""

    name: str
    entry_point: str
    trigger: Trigger
    routes: tuple[str, ...]
    memory: str
    timeout_seconds: int
    concurrency: int


@dataclass(frozen=True)
class Manifest:
    functions: tuple[FunctionSpec, ...]
    buckets: tuple[str, ...]
    topics: tuple[str, ...]
    kms_keys: dict[str, str]

    def function(self, name: str) -> FunctionSpec:
        for spec in self.functions:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def route_table(self) -> list[tuple[str, FunctionSpec]]:
        """(path prefix, function) pairs, longest prefix first."""
        pairs = [(route, fn) for fn in self.functions for route in fn.routes]
        return sorted(pairs, key=lambda pair: len(pair[0]), reverse=True)

    def resolve(self, path: str) -> FunctionSpec | None:
        """The function serving ``path``: a route matches itself and everything below it."""
        for prefix, spec in self.route_table():
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                return spec
        return None


def _function(raw: dict[str, Any]) -> FunctionSpec:
    trigger = raw["trigger"]
    return FunctionSpec(
        name=raw["name"],
        entry_point=raw["entryPoint"],
        trigger=Trigger(
            type=trigger["type"],
            bucket=trigger.get("bucket"),
            topic=trigger.get("topic"),
            schedule=trigger.get("schedule"),
            filter=trigger.get("filter"),
        ),
        routes=tuple(raw.get("routes", ())),
        memory=raw["memory"],
        timeout_seconds=int(raw["timeoutSeconds"]),
        concurrency=int(raw["concurrency"]),
    )


@functools.cache
def load_manifest() -> Manifest:
    """Parse ``beamit/platform.json`` (shipped as package data)."""
    raw = json.loads(resources.files("beamit").joinpath("platform.json").read_text("utf-8"))
    return Manifest(
        functions=tuple(_function(f) for f in raw["functions"]),
        buckets=tuple(raw["buckets"]),
        topics=tuple(raw["topics"]),
        kms_keys={name: spec["purpose"] for name, spec in raw["kmsKeys"].items()},
    )


def bytecode(source: bytes, path: str) -> bytes:
    """The ``.pyc`` of a module as the deployed source archive carries it (``make package``).

    Checked-hash bytecode (PEP 552): the runtime uses it whatever times the files get when the
    archive is extracted, and compiles the source instead if the two ever differ. Without it a
    new function instance compiles every BeamIt module it imports (about 55 ms of a search's cold
    start on the bench machine). Write it at ``importlib.util.cache_from_source(path)``.
    """
    import importlib.util
    import marshal

    code = compile(source, path, "exec", dont_inherit=True)
    checked_hash = 0b11
    return (importlib.util.MAGIC_NUMBER + checked_hash.to_bytes(4, "little")
            + importlib.util.source_hash(source) + marshal.dumps(code))
