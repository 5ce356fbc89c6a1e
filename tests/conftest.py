"""Shared fixtures: the local emulator stack (started once per session, on free ports).

Only tests that ask for ``stack`` (directly or through ``tenant``/``api``) start it, so
unit tests of pure logic run without emulators.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from beamit.auth.scopes import ALL_SCOPES
from beamit.devstack.stack import LocalStack
from beamit.settings import reset_settings
from beamit.storage import Services, reset_services, services
from tests.support import TenantCredentials, new_tenant

FAILPOINTS = "ingest.before-commit=30,shares.after-code=30"


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    # A small STOW limit keeps the over-the-limit tests cheap; one browser origin for the CORS tests.
    # Failpoints (beamit.failpoints) pause a request only when tests/reliability arms them.
    state_dir = tmp_path_factory.mktemp("stack")
    local = LocalStack(state_dir=state_dir, extra_env={
        "BEAMIT_STOW_MAX_BYTES": str(4 << 20), "BEAMIT_CORS_ORIGINS": "https://viewer.example.org",
        "BEAMIT_FAILPOINTS": FAILPOINTS, "BEAMIT_FAILPOINT_DIR": str(state_dir / "failpoints")})
    local.start()
    saved = dict(os.environ)
    os.environ.update(local.env)
    reset_settings()
    reset_services()
    try:
        yield local
    finally:
        local.stop()
        os.environ.clear()
        os.environ.update(saved)
        reset_settings()
        reset_services()


@pytest.fixture(scope="session")
def svc(stack: LocalStack) -> Services:
    return services()


@pytest.fixture
def make_tenant(svc: Services) -> Callable[..., TenantCredentials]:
    """A fresh tenant (unique id) with an API key holding ``scopes`` (all by default)."""

    def make(scopes: frozenset[str] | list[str] = ALL_SCOPES) -> TenantCredentials:
        return new_tenant(svc, scopes)

    return make


@pytest.fixture
def tenant(make_tenant: Callable[..., TenantCredentials]) -> TenantCredentials:
    return make_tenant()


class Api:
    """HTTP calls to the gateway, as an integrator's code would make them."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()

    def request(self, method: str, path: str, **kwargs: object) -> requests.Response:
        kwargs.setdefault("timeout", 60)
        return self.session.request(method, self.base_url + path, **kwargs)  # type: ignore[arg-type]

    def get(self, path: str, **kwargs: object) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: object) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: object) -> requests.Response:
        return self.request("DELETE", path, **kwargs)


@pytest.fixture(scope="session")
def api(stack: LocalStack) -> Iterator[Api]:
    client = Api(stack.url)
    yield client
    client.session.close()


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return Path(__file__).parent / "data"
