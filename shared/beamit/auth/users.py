"""The users of a tenant: the people who sign in to authorize an OAuth client.

A user is ``tenants/{t}/users/{usr_...}`` with a normalized email, a role
(:mod:`beamit.auth.roles`) and an Argon2id password hash (:mod:`beamit.auth.passwords`).
``tenants/{t}/user_emails/{sha256(email)}`` holds the user id of each email, created in
the same batch as the user, so an email is unique within a tenant.

:func:`sign_in` is the one way to check a password: it applies the throttle of
:mod:`beamit.auth.throttle` and fails with one :class:`SignInFailed` whatever went wrong
(the reason is for the audit trail, never shown), so callers cannot tell a wrong password
from an unknown email or a locked account.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from beamit.auth.passwords import WeakPassword, hash_password, needs_rehash, verify_password
from beamit.auth.roles import role_scopes
from beamit.auth.throttle import LoginThrottle, account_counter, ip_counter
from beamit.clock import rfc3339, utcnow
from beamit.errors import Conflict, Forbidden, NotFound
from beamit.ids import new_id
from beamit.storage import AlreadyExists, MetadataStore, Query, Write
from beamit.tenancy import TenantScope

USERS = "users"
EMAILS = "user_emails"
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,253}\.[^@\s]{1,63}$")
_USER_ID = re.compile(r"^usr_[a-z0-9]{20}$")


class InvalidEmail(ValueError):
    pass


@dataclass(frozen=True)
class User:
    id: str
    tenant_id: str
    email: str
    role: str
    created_at: datetime
    disabled_at: datetime | None = None

    @property
    def scopes(self) -> frozenset[str]:
        return role_scopes(self.role)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "user",
            "email": self.email,
            "role": self.role,
            "scopes": sorted(self.scopes),
            "createdAt": rfc3339(self.created_at),
            "status": "disabled" if self.disabled_at else "active",
        }


class SignInFailed(Exception):
    """Any failed sign-in. ``reason`` (``invalid_credentials``, ``throttled``) and
    ``user_id`` go to the audit trail only; ``retry_at``: when a throttled caller may try again
    (the page answers 429 with ``Retry-After``: the attempt was not checked, so it tells nothing
    about the password)."""

    def __init__(self, reason: str, user_id: str | None = None, retry_at: datetime | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.user_id = user_id
        self.retry_at = retry_at


def normalize_email(email: str) -> str:
    value = email.strip().lower() if isinstance(email, str) else ""
    if len(value) > 254 or not _EMAIL.match(value):
        raise InvalidEmail("not a valid email address")
    return value


def user_path(tenant_id: str, user_id: str) -> str:
    """The user's document (read with its status by the token checks of :mod:`beamit.auth.oauth`)."""
    return TenantScope(tenant_id).document(USERS, user_id)


def _email_key(email: str) -> str:
    return hashlib.sha256(email.encode("utf-8")).hexdigest()


def _from_record(tenant_id: str, user_id: str, data: dict[str, Any]) -> User:
    return User(
        id=user_id,
        tenant_id=tenant_id,
        email=data["email"],
        role=data["role"],
        created_at=data["createdAt"],
        disabled_at=data.get("disabledAt"),
    )


def create_user(
    store: MetadataStore,
    tenant: TenantScope,
    *,
    email: str,
    role: str,
    password: str,
    created_by: str,
    grantor_scopes: frozenset[str] | None = None,
) -> User:
    """Add a user; ``grantor_scopes`` (the API caller's) bounds the roles it may hand out."""
    address = normalize_email(email)
    scopes = role_scopes(role)
    if grantor_scopes is not None and not scopes <= grantor_scopes:
        missing = ", ".join(sorted(scopes - grantor_scopes))
        raise Forbidden(f"cannot create a {role} user without holding its scopes: {missing}")
    password_hash = hash_password(password)
    user_id = new_id("usr")
    record = {
        "email": address,
        "role": role,
        "passwordHash": password_hash,
        "createdAt": utcnow(),
        "createdBy": created_by,
        "disabledAt": None,
    }
    try:
        store.commit(
            [
                Write("create", tenant.document(EMAILS, _email_key(address)), {"userId": user_id}),
                Write("create", tenant.document(USERS, user_id), record),
            ]
        )
    except AlreadyExists:
        raise Conflict("a user with this email already exists in the tenant", code="user_exists") from None
    return _from_record(tenant.tenant_id, user_id, record)


def get_user(store: MetadataStore, tenant: TenantScope, user_id: str) -> User:
    if not _USER_ID.match(user_id):
        raise NotFound("no such user")
    data = store.get(tenant.document(USERS, user_id))
    if data is None:
        raise NotFound("no such user")
    return _from_record(tenant.tenant_id, user_id, data)


def require_grantor(user: User, grantor_scopes: frozenset[str] | None) -> None:
    """A caller may change a user's access only if it holds the user's role scopes (as to
    create one): a limited manager cannot lock out, or restore, a user above it."""
    if grantor_scopes is not None and not user.scopes <= grantor_scopes:
        missing = ", ".join(sorted(user.scopes - grantor_scopes))
        raise Forbidden(f"cannot change the access of a {user.role} user without holding its scopes: {missing}")


def set_disabled(store: MetadataStore, tenant: TenantScope, user_id: str, disabled: bool, *, by: str,
                 grantor_scopes: frozenset[str] | None = None) -> User:
    """Disable (sign-in, code redemption and refresh refuse the user) or enable the user.
    Disabling a disabled user keeps the first ``disabledAt``. The user's grants are revoked
    by :func:`beamit.auth.access.disable_user`, which calls this first."""
    user = get_user(store, tenant, user_id)
    require_grantor(user, grantor_scopes)
    if disabled == (user.disabled_at is not None):
        return user
    changes: dict[str, Any] = (
        {"disabledAt": utcnow(), "disabledBy": by} if disabled else {"disabledAt": None, "enabledAt": utcnow(),
                                                                    "enabledBy": by}
    )
    store.update(tenant.document(USERS, user_id), changes)
    return get_user(store, tenant, user_id)


def list_users(store: MetadataStore, tenant: TenantScope) -> list[User]:
    docs = store.query(Query(collection=tenant.collection(USERS), order_by=(("createdAt", "desc"),), limit=200))
    return [_from_record(tenant.tenant_id, doc.id, doc.data) for doc in docs]


def _find_by_email(store: MetadataStore, tenant: TenantScope, address: str) -> tuple[str, dict[str, Any]] | None:
    index = store.get(tenant.document(EMAILS, _email_key(address)))
    if index is None:
        return None
    data = store.get(tenant.document(USERS, index["userId"]))
    return None if data is None else (index["userId"], data)


def sign_in(
    store: MetadataStore,
    tenant: TenantScope,
    email: str,
    password: str,
    *,
    ip: str | None,
    throttle: LoginThrottle | None = None,
) -> User:
    """The user whose email and password these are, or :class:`SignInFailed`."""
    throttle = throttle or LoginThrottle(store)
    try:
        address = normalize_email(email)
    except InvalidEmail:
        address = ""
    account = account_counter(tenant.tenant_id, address)
    attempt = throttle.reserve([account] + ([ip_counter(ip)] if ip else []))  # counted before it is checked
    if not attempt.allowed:
        raise SignInFailed("throttled", retry_at=attempt.refused_until)
    found = _find_by_email(store, tenant, address) if address else None
    stored_hash = found[1].get("passwordHash") if found else None
    valid = verify_password(stored_hash, password if isinstance(password, str) else "")
    if not valid or found is None or found[1].get("disabledAt") is not None:
        raise SignInFailed("invalid_credentials", found[0] if found else None)
    user_id, data = found
    throttle.release(attempt, clear=[account])
    if stored_hash and needs_rehash(stored_hash):
        try:
            store.update(tenant.document(USERS, user_id), {"passwordHash": hash_password(password)})
        except WeakPassword:  # set under an older policy: keep the old hash until the user changes it
            pass
    return _from_record(tenant.tenant_id, user_id, data)
