"""/v1/health, request ids, the error shape, and routing of the gateway."""

from __future__ import annotations

import os

from beamit.devstack.processes import free_port
from beamit.health import check_dependencies
from beamit.settings import reset_settings
from beamit.storage import reset_services, services
from tests.openapi_routes import openapi


def test_health_reports_each_dependency(api):
    response = api.get("/v1/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["dependencies"] == {"firestore": "ok", "storage": "ok", "pubsub": "ok", "kms": "ok"}
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Request-Id"].startswith("req_")


def test_health_is_unavailable_when_a_dependency_is_down(stack):
    saved = os.environ["BEAMIT_KMS_ENDPOINT"]
    os.environ["BEAMIT_KMS_ENDPOINT"] = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    reset_settings()
    reset_services()
    try:
        from functions_framework import create_app

        from beamit.devstack.emulators import REPO_ROOT

        app = create_app(target="platform", source=str(REPO_ROOT / "functions" / "main.py"))
        response = app.test_client().get("/v1/health")
        assert response.status_code == 503
        assert response.get_json()["dependencies"]["kms"] == "unavailable"
        assert response.get_json()["dependencies"]["firestore"] == "ok"
        assert check_dependencies(services())["kms"] == "unavailable"
    finally:
        os.environ["BEAMIT_KMS_ENDPOINT"] = saved
        reset_settings()
        reset_services()


def test_unknown_path_is_a_json_404(api):
    response = api.get("/v1/nope")
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "not_found"


def test_every_response_asks_for_https_only(api):
    """HSTS (RFC 6797) on answers, errors, unknown paths, CORS preflights and the viewer alike."""
    preflight = {"Origin": "https://viewer.example.org", "Access-Control-Request-Method": "GET"}
    responses = [
        api.get("/v1/health"),
        api.get("/v1/api-keys"),  # 401
        api.get("/v1/nope"),  # no route: the platform function, as the load balancer's default service
        api.request("OPTIONS", "/v1/dicomweb/studies", headers=preflight),
        api.get("/s/assets/nope.js"),  # the viewer
        api.get("/.well-known/oauth-authorization-server"),
    ]
    for response in responses:
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains", \
            response.url


def test_caller_request_id_is_echoed_and_in_errors(api):
    response = api.get("/v1/api-keys", headers={"X-Request-Id": "trace-12345678"})
    assert response.status_code == 401
    assert response.headers["X-Request-Id"] == "trace-12345678"
    assert response.json()["error"]["requestId"] == "trace-12345678"


def test_invalid_request_id_is_replaced(api):
    response = api.get("/v1/health", headers={"X-Request-Id": "bad id with spaces"})
    assert response.headers["X-Request-Id"].startswith("req_")


def test_openapi_is_served(api):
    response = api.get("/v1/openapi.json")
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.1")
    assert response.json() == openapi()  # the reference tests/unit/test_openapi_drift.py holds to the routers
    yaml_response = api.get("/v1/openapi.yaml")
    assert yaml_response.status_code == 200
    assert yaml_response.headers["Content-Type"].startswith("application/yaml")


def test_a_path_no_function_serves_has_the_error_object_with_a_request_id(api):
    response = api.get("/nothing/here")
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["type"] == "not_found" and error["requestId"] == response.headers["X-Request-Id"]
    assert error["requestId"].startswith("req_")


def test_a_path_functions_framework_cannot_route_has_the_error_object(api, tenant):
    """Found by the OpenAPI fuzzing: a line break in a path segment escaped functions-framework's
    catch-all rule and Flask answered with its HTML 404."""
    for path in ("/v1/dicomweb/studies/1.2/series/%0A/instances/1.3", "/s/a%0Ab/"):
        response = api.get(path, headers=tenant.headers)
        assert response.status_code == 404 and response.headers["Content-Type"] == "application/json", path
        assert response.json()["error"]["requestId"] == response.headers["X-Request-Id"]
