"""Every route of the auth and audit functions is in docs/openapi.yaml, with its methods."""

from __future__ import annotations

import re
from importlib import resources

import yaml

from beamit.api import audit, auth, auth_admin


def test_every_route_is_documented():
    paths = yaml.safe_load(resources.files("beamit").joinpath("openapi.yaml").read_text("utf-8"))["paths"]
    names = {"user_id": "userId", "client_id": "clientId", "record_id": "auditId", "grant_id": "grantId"}
    for router in (auth.router, auth_admin.router, audit.router):
        for rule, methods, scope in router.rules():
            documented = re.sub(r"<(\w+)>", lambda m: "{" + names[m.group(1)] + "}", rule)
            assert documented in paths, rule
            assert {m.lower() for m in methods} <= set(paths[documented]), rule
            operations = [paths[documented][m.lower()] for m in methods]
            if scope is None:
                assert all(op.get("security") == [] for op in operations), rule
            else:
                assert all(scope in op["summary"] for op in operations), rule


def test_oauth_errors_are_rfc_6749_shaped():
    from beamit.errors import BeamItError, NotFound

    response = auth.render_oauth_error(NotFound("no such resource"), "req_x")
    assert response.status_code == 404 and response.get_json() == {"error": "not_found",
                                                                   "error_description": "no such resource"}
    assert auth.render_oauth_error(BeamItError("boom"), "req_x").get_json()["error"] == "server_error"
