"""Users: creation, Argon2id hashes, sign-in with generic failures and lockout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from beamit.auth.passwords import WeakPassword, verify_password
from beamit.auth.roles import ROLE_SCOPES, UnknownRole, role_scopes
from beamit.auth.throttle import LoginThrottle
from beamit.auth.users import InvalidEmail, SignInFailed, create_user, get_user, list_users, sign_in
from beamit.errors import Conflict, Forbidden, NotFound
from beamit.tenancy import TenantScope
from tests.memory_store import MemoryStore

ACME = TenantScope("acme")
PASSWORD = "correct horse battery"


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


def test_roles_scopes():
    assert role_scopes("admin") == {"studies:read", "studies:write", "studies:delete", "shares:read", "shares:write",
                                    "webhooks:manage", "audit:read", "keys:manage"}
    assert role_scopes("clinician") == {"studies:read", "shares:read", "shares:write"}
    assert role_scopes("integration") == {"studies:read", "studies:write", "shares:write", "webhooks:manage"}
    assert role_scopes("auditor") == {"audit:read"}
    assert set(ROLE_SCOPES) == {"admin", "clinician", "integration", "auditor"}
    with pytest.raises(UnknownRole):
        role_scopes("root")


def test_create_stores_only_an_argon2id_hash(store):
    user = create_user(store, ACME, email=" Ana@Acme.Example ", role="clinician", password=PASSWORD,
                       created_by="test")
    assert user.email == "ana@acme.example" and user.id.startswith("usr_")
    record = store.get(ACME.document("users", user.id))
    assert record["passwordHash"].startswith("$argon2id$") and PASSWORD not in str(store.docs)
    assert verify_password(record["passwordHash"], PASSWORD)
    assert get_user(store, ACME, user.id) == user and list_users(store, ACME) == [user]
    assert "passwordHash" not in user.to_json()
    with pytest.raises(NotFound):
        get_user(store, TenantScope("other"), user.id)


def test_create_refusals(store):
    create_user(store, ACME, email="ana@acme.example", role="clinician", password=PASSWORD, created_by="t")
    with pytest.raises(Conflict):
        create_user(store, ACME, email="ANA@acme.example", role="auditor", password=PASSWORD, created_by="t")
    with pytest.raises(WeakPassword):
        create_user(store, ACME, email="bo@acme.example", role="auditor", password="short", created_by="t")
    with pytest.raises(InvalidEmail):
        create_user(store, ACME, email="not-an-email", role="auditor", password=PASSWORD, created_by="t")
    with pytest.raises(UnknownRole):
        create_user(store, ACME, email="bo@acme.example", role="root", password=PASSWORD, created_by="t")
    with pytest.raises(Forbidden):  # an API caller cannot create a role with scopes it lacks
        create_user(store, ACME, email="bo@acme.example", role="admin", password=PASSWORD, created_by="t",
                    grantor_scopes=frozenset({"keys:manage", "studies:read"}))
    # The same email in another tenant is another user.
    create_user(store, TenantScope("other"), email="ana@acme.example", role="auditor", password=PASSWORD,
                created_by="t")


def test_sign_in_failures_are_indistinguishable(store):
    user = create_user(store, ACME, email="ana@acme.example", role="clinician", password=PASSWORD, created_by="t")
    assert sign_in(store, ACME, "ANA@acme.example", PASSWORD, ip="198.51.100.1").id == user.id
    with pytest.raises(SignInFailed) as wrong:
        sign_in(store, ACME, "ana@acme.example", "wrong password!", ip="198.51.100.1")
    with pytest.raises(SignInFailed) as unknown:
        sign_in(store, ACME, "nobody@acme.example", PASSWORD, ip="198.51.100.1")
    with pytest.raises(SignInFailed) as other_tenant:
        sign_in(store, TenantScope("other"), "ana@acme.example", PASSWORD, ip="198.51.100.1")
    assert {type(e.value) for e in (wrong, unknown, other_tenant)} == {SignInFailed}
    assert wrong.value.reason == unknown.value.reason == "invalid_credentials"
    assert wrong.value.user_id == user.id and unknown.value.user_id is None


def test_lockout_refuses_even_the_right_password(store):
    create_user(store, ACME, email="ana@acme.example", role="clinician", password=PASSWORD, created_by="t")
    now = [datetime(2026, 2, 20, tzinfo=UTC)]
    throttle = LoginThrottle(store, clock=lambda: now[0])
    for _ in range(10):
        with pytest.raises(SignInFailed):
            sign_in(store, ACME, "ana@acme.example", "guess guess guess", ip=None, throttle=throttle)
        now[0] += timedelta(seconds=61)  # wait out each delay
    with pytest.raises(SignInFailed) as locked:
        sign_in(store, ACME, "ana@acme.example", PASSWORD, ip=None, throttle=throttle)
    assert locked.value.reason == "throttled"
    now[0] += timedelta(minutes=15)
    assert sign_in(store, ACME, "ana@acme.example", PASSWORD, ip=None, throttle=throttle).email == "ana@acme.example"


def test_unknown_emails_are_throttled_too(store):
    now = [datetime(2026, 2, 20, tzinfo=UTC)]
    throttle = LoginThrottle(store, clock=lambda: now[0])
    for _ in range(3):
        with pytest.raises(SignInFailed):
            sign_in(store, ACME, "ghost@acme.example", PASSWORD, ip=None, throttle=throttle)
    with pytest.raises(SignInFailed) as blocked:
        sign_in(store, ACME, "ghost@acme.example", PASSWORD, ip=None, throttle=throttle)
    assert blocked.value.reason == "throttled"
