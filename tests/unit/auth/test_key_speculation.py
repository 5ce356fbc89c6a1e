"""A read by a known API key starts while the key is checked (web.router), and never answers
for a key that the check refuses."""

from __future__ import annotations

import threading

import pytest
from flask import Request, Response
from werkzeug.test import EnvironBuilder

from beamit.auth import api_keys
from beamit.auth.api_keys import create_key, remembered_principal, revoke_key
from beamit.auth.scopes import STUDIES_READ
from beamit.settings import get_settings
from beamit.storage import Services
from beamit.tenancy import TenantScope
from beamit.web import RequestContext, Router
from beamit.web import router as router_module
from tests.memory_store import MemoryStore

AUDITED: list[tuple[object, int]] = []


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> MemoryStore:
    memory = MemoryStore()
    svc = Services(settings=get_settings(), blobs=None, metadata=memory, events=None, keys=None)  # type: ignore[arg-type]
    monkeypatch.setattr(router_module, "services", lambda: svc)
    AUDITED.clear()
    monkeypatch.setattr(router_module, "audit_call",
                        lambda svc, actor, note, call: AUDITED.append((actor, call.status)))
    monkeypatch.setattr(api_keys, "_remembered", {})
    return memory


def get(router: Router, token: str, method: str = "GET") -> Response:
    environ = EnvironBuilder(method=method, path="/v1/things", headers={"Authorization": f"Bearer {token}"})
    return router.dispatch(Request(environ.get_environ()))


def test_reads_start_with_the_remembered_principal_and_a_revoked_key_gets_401(store):
    tenant = TenantScope("tenant-one")
    issued = create_key(store, env_prefix="bk_local_", tenant=tenant, name="k", scopes=[STUDIES_READ],
                        created_by="test")
    seen: list[tuple[str, str]] = []
    router = Router("test")

    @router.route("/v1/things", methods=["GET", "POST"], scope=STUDIES_READ)
    def things(ctx: RequestContext) -> Response:
        seen.append((ctx.request.method, threading.current_thread().name))
        return Response(ctx.tenant.tenant_id)

    assert remembered_principal(issued.token) is None
    assert get(router, issued.token).get_data() == b"tenant-one"  # first use: checked, then remembered
    remembered = remembered_principal(issued.token)
    assert remembered is not None and remembered.tenant_id == "tenant-one"
    assert remembered_principal(issued.token[:-4] + "aaaa") is None  # the secret must match too

    assert get(router, issued.token).get_data() == b"tenant-one"  # a read: handler and check together
    revoke_key(store, tenant, issued.key.id)
    refused = get(router, issued.token)
    assert refused.status_code == 401 and b"tenant-one" not in refused.get_data()
    assert remembered_principal(issued.token) is None
    assert get(router, issued.token, "POST").status_code == 401


def test_a_handler_error_waits_for_the_check(store):
    tenant = TenantScope("tenant-one")
    issued = create_key(store, env_prefix="bk_local_", tenant=tenant, name="k", scopes=[STUDIES_READ],
                        created_by="test")
    router = Router("test")

    @router.route("/v1/things", methods=["GET"], scope=STUDIES_READ)
    def things(ctx: RequestContext) -> Response:
        from beamit.errors import NotFound

        raise NotFound("no such thing")

    assert get(router, issued.token).status_code == 404
    assert get(router, issued.token).status_code == 404  # speculative: the handler's error, once confirmed
    assert [status for _, status in AUDITED] == [404, 404]  # both audited, as the caller's
    assert all(actor is not None and actor.tenant_id == "tenant-one" for actor, _ in AUDITED)
    revoke_key(store, tenant, issued.key.id)
    assert get(router, issued.token).status_code == 401  # the credential's error comes first
    actor, status = AUDITED[-1]
    assert status == 401 and actor is not None  # audited as a rejected credential, as without the guess
