"""The API reference (``docs/openapi.yaml``, served by the platform function) and the routes
the routers serve, in the reference's terms: the one place that turns a werkzeug rule into an
OpenAPI path, for tests/unit/test_openapi_drift.py and any test that reads the reference."""

from __future__ import annotations

import functools
import importlib
import pkgutil
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

import beamit.api
from beamit.web import Router

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
API_PREFIXES = ("/v1/", "/.well-known/")
"""Routes under these are the public API. Not: ``/s/...`` (the patient viewer's page and the
calls it makes) and ``/`` (the Pub/Sub push and Cloud Scheduler triggers)."""
PARAMETER_NAMES = {"record_id": "auditId"}
"""Rule variables the reference names otherwise than in camelCase (an audit record is
``auditId`` in the API)."""

_VARIABLE = re.compile(r"<(?:\w+:)?(\w+)>")


@functools.cache
def openapi() -> dict[str, Any]:
    """docs/openapi.yaml as the platform function serves it (the package's openapi.yaml)."""
    loaded: dict[str, Any] = yaml.safe_load(resources.files("beamit").joinpath("openapi.yaml").read_text("utf-8"))
    return loaded


def openapi_path(rule: str) -> str:
    """A werkzeug rule as an OpenAPI path template: ``/v1/webhooks/<endpoint_id>`` ->
    ``/v1/webhooks/{endpointId}``, ``.../bulkdata/<path:element>`` -> ``.../bulkdata/{element}``."""

    def parameter(match: re.Match[str]) -> str:
        name = match.group(1)
        head, *rest = name.split("_")
        return "{" + PARAMETER_NAMES.get(name, head + "".join(part.title() for part in rest)) + "}"

    return _VARIABLE.sub(parameter, rule)


@dataclass(frozen=True)
class Route:
    """One method of one route, in OpenAPI terms (``path`` a template, ``method`` lower case)."""

    path: str
    method: str
    scope: str | None
    rule: str
    router: str


def routers() -> list[Router]:
    """Every router of the handler modules (``beamit.api.*``), each once (the DICOMweb router
    is shared by the STOW-RS, QIDO-RS and WADO-RS modules)."""
    found: dict[int, Router] = {}
    for module in pkgutil.iter_modules(beamit.api.__path__):
        for value in vars(importlib.import_module(f"beamit.api.{module.name}")).values():
            if isinstance(value, Router):
                found.setdefault(id(value), value)
    return list(found.values())


def api_routes() -> list[Route]:
    """Every method of every public API route (see :data:`API_PREFIXES`) the routers serve."""
    return [
        Route(openapi_path(rule), method.lower(), scope, rule, router.name)
        for router in routers()
        for rule, methods, scope in router.rules()
        if rule.startswith(API_PREFIXES)
        for method in methods
    ]


def documented_operations() -> dict[tuple[str, str], dict[str, Any]]:
    """(path, method) -> the operation, for every operation of the reference."""
    return {
        (path, method): operation
        for path, item in openapi()["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }
