"""Helpers every test module may use: tenants with API keys, and waiting on a positive signal.

Wait for something to *happen* (:func:`poll_until` returns the first truthy value of a check),
never sleep and then assert that something did not happen: a late arrival would pass.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from requests.adapters import HTTPAdapter

from beamit.auth.api_keys import create_key
from beamit.auth.scopes import ALL_SCOPES
from beamit.ids import random_token
from beamit.storage import Services
from beamit.tenancy import TenantScope, create_tenant

T = TypeVar("T")

AUDIT_FAILURE_TENANT = "t-audit-unavailable"
"""The tenant whose audit appends fail in the test stack (``BEAMIT_TEST_AUDIT_FAILURE_TENANT``)."""


@dataclass(frozen=True)
class TenantCredentials:
    id: str
    key: str
    key_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    @property
    def scope(self) -> TenantScope:
        return TenantScope(self.id)


def new_tenant(svc: Services, scopes: Iterable[str] = ALL_SCOPES, tenant_id: str | None = None) -> TenantCredentials:
    """A fresh tenant (a unique id unless ``tenant_id``) with an API key holding ``scopes``
    (all by default)."""
    tenant_id = tenant_id or f"t-{random_token(10)}"
    create_tenant(svc.metadata, tenant_id, f"Test tenant {tenant_id}")
    issued = create_key(svc.metadata, env_prefix=svc.settings.api_key_prefix, tenant=TenantScope(tenant_id),
                        name="test", scopes=frozenset(scopes), created_by="pytest")
    return TenantCredentials(tenant_id, issued.token, issued.key.id)


class _FromAddress(HTTPAdapter):
    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def client_session(address: str | None = None) -> requests.Session:
    """A session whose connections come from their own loopback address (``127.a.b.c``: Linux
    delivers all of 127.0.0.0/8 on the loopback interface), so the gateway, like the load
    balancer, reports a client IP of its own and per-IP throttles of one test do not touch
    another. ``session.source_address`` says which."""
    address = address or f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
    session = requests.Session()
    session.mount("http://", _FromAddress(address))
    session.source_address = address  # type: ignore[attr-defined]
    return session


def poll_until(check: Callable[[], T | None], *, timeout: float = 30.0, interval: float = 0.1,
               what: str | Callable[[], Any] = "the condition") -> T:
    """Call ``check`` until it returns a truthy value, and return that value; fail after
    ``timeout`` seconds, saying ``what`` was awaited (a callable is called for the message, e.g.
    to show the last state)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            described = what() if callable(what) else what
            raise AssertionError(f"{described} not reached within {timeout:.0f} s")
        time.sleep(interval)


def sweep_events(stack: Any) -> dict[str, int]:
    """One run of the ``event-sweep`` scheduled function, called as Cloud Scheduler calls it
    (publish the outbox's leftovers, announce settled studies); returns its counts."""
    import requests

    response = requests.post(f"{stack.url}/_triggers/event-sweep", json={}, timeout=120)
    assert response.status_code == 200, response.text
    return dict(response.json())


def sweep_until(stack: Any, check: Callable[[], T | None], *, timeout: float = 30.0,
                what: str | Callable[[], Any] = "the events") -> T:
    """Run the event sweep until ``check`` returns a truthy value (a study's settle window, 2 s on
    the local stack, passes meanwhile), and return that value."""

    def swept() -> T | None:
        sweep_events(stack)
        return check()

    return poll_until(swept, timeout=timeout, interval=0.25, what=what)
