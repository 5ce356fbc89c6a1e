"""docs/openapi.yaml and the routers agree: every public route is documented with its methods,
its scope and its security, and every documented operation is served."""

from __future__ import annotations

import re

from beamit.deployment import load_manifest
from tests.openapi_routes import (
    API_PREFIXES,
    HTTP_METHODS,
    Route,
    api_routes,
    documented_operations,
    openapi,
    openapi_path,
)

QIDO_SEARCHES = {  # PS3.18 §10.6 Table 10.6.1-2: the six search resources
    "/v1/dicomweb/studies",
    "/v1/dicomweb/series",
    "/v1/dicomweb/instances",
    "/v1/dicomweb/studies/{study}/series",
    "/v1/dicomweb/studies/{study}/instances",
    "/v1/dicomweb/studies/{study}/series/{series}/instances",
}


def show(route: Route) -> str:
    return f"{route.method.upper()} {route.rule} ({route.router})"


def test_rules_become_openapi_paths():
    assert openapi_path("/v1/webhooks/<endpoint_id>/deliveries/<delivery_id>") == \
        "/v1/webhooks/{endpointId}/deliveries/{deliveryId}"
    assert openapi_path("/v1/dicomweb/studies/<study>/series/<series>/instances/<instance>/bulkdata/<path:element>") \
        == "/v1/dicomweb/studies/{study}/series/{series}/instances/{instance}/bulkdata/{element}"
    assert openapi_path("/v1/audit/<record_id>") == "/v1/audit/{auditId}"
    assert openapi_path("/v1/health") == "/v1/health"


def test_every_api_function_has_its_routes_found():
    """Each public route prefix of platform.json is served by a router found here, so no
    function's routes escape the checks below."""
    paths = {route.path for route in api_routes()}
    prefixes = [prefix for spec in load_manifest().functions if spec.trigger.type == "http"
                for prefix in spec.routes if prefix.startswith(API_PREFIXES)]
    assert prefixes and all(any(p == prefix or p.startswith(prefix + "/") for p in paths) for prefix in prefixes)


def test_every_route_is_documented_with_its_methods():
    documented = documented_operations()
    assert [show(r) for r in api_routes() if (r.path, r.method) not in documented] == []


def test_every_documented_operation_is_served():
    served = {(r.path, r.method) for r in api_routes()}
    assert sorted(f"{m.upper()} {p}" for p, m in documented_operations() if (p, m) not in served) == []


def documented_routes() -> list[Route]:
    """The routes that are documented (the others fail the test above)."""
    documented = documented_operations()
    return [r for r in api_routes() if (r.path, r.method) in documented]


def test_public_routes_are_documented_as_public():
    documented = documented_operations()
    public = [r for r in documented_routes() if r.scope is None]
    assert public
    assert [show(r) for r in public if documented[r.path, r.method].get("security") != []] == []


def test_scoped_routes_name_their_scope_and_need_the_bearer():
    documented = documented_operations()
    scoped = [r for r in documented_routes() if r.scope is not None]
    assert scoped
    assert [show(r) for r in scoped if r.scope not in documented[r.path, r.method]["summary"]] == []
    bearer = [{"bearer": []}]
    assert openapi()["security"] == bearer
    assert [show(r) for r in scoped if documented[r.path, r.method].get("security", bearer) != bearer] == []


def test_every_path_parameter_is_declared():
    undeclared = []
    for path, item in openapi()["paths"].items():
        variables = set(re.findall(r"{(\w+)}", path))
        for method in (m for m in HTTP_METHODS if m in item):
            parameters = item.get("parameters", []) + item[method].get("parameters", [])
            declared = {p["name"] for p in parameters if p.get("in") == "path"}
            if declared != variables:
                undeclared.append(f"{method.upper()} {path}: {sorted(declared)}")
    assert undeclared == []


def test_the_qido_rs_searches_are_served_and_documented():
    searches = {r.path for r in api_routes() if r.method == "get" and r.path in QIDO_SEARCHES}
    assert searches == QIDO_SEARCHES
    assert all((path, "get") in documented_operations() for path in QIDO_SEARCHES)


def test_webhook_routes_need_webhooks_manage():
    scopes = {r.scope for r in api_routes() if r.path.startswith("/v1/webhooks")}
    assert scopes == {"webhooks:manage"}
