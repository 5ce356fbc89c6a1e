"""Authorization codes, grants, access and refresh tokens (opaque, stored hashed).

Why opaque tokens and not JWTs: every API request must see a revocation at once, so a
JWT would still cost a Firestore read per request (a ``jti`` denylist) on top of a KMS
signature per issuance and a JWKS to publish and rotate. An opaque token costs the same
one read, revokes by a single write, and leaks nothing if logged. Each token is 256
random bits; only its SHA-256 digest is stored (as the document id), like API keys.

Records (top level, like ``api_keys``: a token is resolved before its tenant is known):

``oauth_grants/{grant}``
    One user's authorization of one client: the *family* of every token issued from one
    authorization code. Revoking it (``revokedAt``) stops all of them at once. It ends
    :data:`GRANT_LIFETIME` (``BEAMIT_OAUTH_GRANT_LIFETIME_DAYS``) after it was created however
    often it is refreshed: no token of it outlives that, and then the user signs in again.
``oauth_codes/{sha256(code)}``
    A code (RFC 6749 §4.1.2): single use, :data:`CODE_TTL` long, bound to client,
    redirect URI and PKCE challenge. A second use revokes the grant (RFC 6749 §4.1.2).
``oauth_access_tokens/{sha256(token)}``, ``oauth_refresh_tokens/{sha256(token)}``
    Access tokens live :data:`ACCESS_TOKEN_TTL`; refresh tokens rotate on every use and
    a refresh token used twice revokes its grant (RFC 9700 §4.14.2, reuse detection).

Token strings carry their grant id (``bat_<grant>_<secret>``, ``brt_<grant>_<secret>``),
so authenticating a request reads the token and its grant in one batched read. Ending a
user's or a client's access therefore revokes their grants (:mod:`beamit.auth.oauth.grants`):
a request sees that in the same read, at no extra cost. Redeeming a code and refreshing
also read the user (one more read, a few times an hour per session), so a disabled user
gets no new token even from a grant the revocation has not reached.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, TokenMixin

from beamit.auth.principal import Principal, RejectedCredential
from beamit.auth.users import user_path
from beamit.clock import utcnow
from beamit.errors import Unauthenticated
from beamit.ids import random_token
from beamit.storage import MetadataStore, Transaction, Write

CODE_TTL = timedelta(seconds=60)
ACCESS_TOKEN_TTL = timedelta(minutes=15)
REFRESH_TOKEN_TTL = timedelta(days=30)
GRANT_LIFETIME = timedelta(days=90)

GRANTS = "oauth_grants"
CODES = "oauth_codes"
ACCESS_TOKENS = "oauth_access_tokens"
REFRESH_TOKENS = "oauth_refresh_tokens"

ACCESS_PREFIX = "bat_"
REFRESH_PREFIX = "brt_"
CODE_PREFIX = "bac_"
_SECRET = "[a-z2-7]{52}"
_GRANT = "[a-z0-9]{20}"
TOKEN_PATTERN = re.compile(rf"^(bat|brt)_({_GRANT})_({_SECRET})$")
CODE_PATTERN = re.compile(rf"^bac_{_SECRET}$")

TokenKind = Literal["access_token", "refresh_token"]
Clock = Callable[[], datetime]


def _secret() -> str:
    return base64.b32encode(secrets.token_bytes(32)).decode("ascii").rstrip("=").lower()


def digest(value: str) -> str:
    """SHA-256 hex digest of a code or token: the id of its record."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def code_path(code: str) -> str:
    return f"{CODES}/{digest(code)}"


def token_path(token: str) -> str:
    collection = ACCESS_TOKENS if token.startswith(ACCESS_PREFIX) else REFRESH_TOKENS
    return f"{collection}/{digest(token)}"


def grant_path(grant_id: str) -> str:
    return f"{GRANTS}/{grant_id}"


def new_grant_id() -> str:
    return random_token(20)


def new_code() -> str:
    return CODE_PREFIX + _secret()


@dataclass(frozen=True)
class GrantHolder:
    """Who a token is issued to: Authlib's ``user`` object throughout the grant flows."""

    user_id: str
    tenant_id: str
    scopes: frozenset[str] = frozenset()
    grant_id: str | None = None
    grant_ends_at: datetime | None = None

    def get_user_id(self) -> str:
        return self.user_id


@dataclass
class IssuedFor:
    """Whom a code or token was issued to (a user through a client, in one grant), for what."""

    grant_id: str
    tenant_id: str
    client_id: str
    user_id: str
    scope: str

    def get_scope(self) -> str:
        return self.scope


@dataclass
class AuthorizationCode(IssuedFor, AuthorizationCodeMixin):  # type: ignore[misc]
    code_digest: str
    redirect_uri: str
    code_challenge: str | None
    code_challenge_method: str | None
    grant_ends_at: datetime | None = None

    def get_redirect_uri(self) -> str:
        return self.redirect_uri


@dataclass
class StoredToken(IssuedFor, TokenMixin):  # type: ignore[misc]
    kind: TokenKind
    path: str
    issued_at: datetime
    expires_at: datetime
    revoked: bool
    used: bool = False
    grant_revoked: bool = False
    grant_ends_at: datetime | None = None
    now: datetime = field(default_factory=utcnow)

    def check_client(self, client: Any) -> bool:
        return bool(client.get_client_id() == self.client_id)

    @property
    def ends_at(self) -> datetime:
        """When it stops: its own expiry, or its grant's end if that comes first."""
        return min(self.expires_at, self.grant_ends_at) if self.grant_ends_at else self.expires_at

    def get_expires_in(self) -> int:
        return int((self.ends_at - self.issued_at).total_seconds())

    def is_expired(self) -> bool:
        return self.now >= self.ends_at

    def is_revoked(self) -> bool:
        return self.revoked

    def get_user(self) -> GrantHolder:
        return GrantHolder(self.user_id, self.tenant_id, frozenset(self.scope.split()), self.grant_id,
                           self.grant_ends_at)

    def introspection(self, issuer: str) -> dict[str, Any]:
        """RFC 7662 §2.2 members of an active token."""
        body: dict[str, Any] = {
            "active": True,
            "scope": self.scope,
            "client_id": self.client_id,
            "sub": self.user_id,
            "aud": self.client_id,
            "iss": issuer,
            "iat": int(self.issued_at.timestamp()),
            "exp": int(self.ends_at.timestamp()),
            "beamit_tenant": self.tenant_id,
        }
        if self.kind == "access_token":
            body["token_type"] = "Bearer"
        return body


# --- codes ---------------------------------------------------------------------------------------


def save_code(
    store: MetadataStore,
    code: str,
    *,
    holder: GrantHolder,
    client_id: str,
    redirect_uri: str,
    scope: str,
    code_challenge: str | None,
    code_challenge_method: str | None,
    clock: Clock = utcnow,
) -> str:
    """Store a new code and the grant it starts; returns the grant id."""
    now = clock()
    grant_id = new_grant_id()
    scopes = sorted(set(scope.split()))
    common = {"tenantId": holder.tenant_id, "clientId": client_id, "userId": holder.user_id, "scopes": scopes}
    store.commit(
        [
            Write("create", grant_path(grant_id), {**common, "createdAt": now, "revokedAt": None}),
            Write(
                "create",
                code_path(code),
                {
                    **common,
                    "grantId": grant_id,
                    "redirectUri": redirect_uri,
                    "codeChallenge": code_challenge,
                    "codeChallengeMethod": code_challenge_method,
                    "issuedAt": now,
                    "expiresAt": now + CODE_TTL,
                    "usedAt": None,
                },
            ),
        ]
    )
    return grant_id


def grant_end(grant: dict[str, Any], lifetime: timedelta) -> datetime:
    """When a grant ends: ``lifetime`` after it was created (the setting in force now, so a
    shorter policy applies to existing grants at once)."""
    created: datetime = grant["createdAt"]
    return created + lifetime


def _user_active(user: dict[str, Any] | None) -> bool:
    return user is not None and user.get("disabledAt") is None


def _revoke_in(txn: Transaction, grant_id: str, reason: str, now: datetime) -> None:
    txn.write(Write("update", grant_path(grant_id), {"revokedAt": now, "revokedReason": reason}))


def consume_code(store: MetadataStore, code: str, client_id: str, clock: Clock = utcnow,
                 lifetime: timedelta = GRANT_LIFETIME) -> AuthorizationCode | None:
    """Redeem a code once. A code seen again revokes every token issued from it;
    an unknown, expired or other client's code, or a disabled user's, is ``None``
    (``invalid_grant``)."""
    if not isinstance(code, str) or not CODE_PATTERN.match(code):
        return None
    path = code_path(code)
    now = clock()

    def redeem(txn: Transaction) -> AuthorizationCode | None:
        data = txn.get(path)
        if data is None or data["clientId"] != client_id:
            return None
        grant = txn.get(grant_path(data["grantId"]))
        if data.get("usedAt") is not None:
            if grant is not None and grant.get("revokedAt") is None:
                _revoke_in(txn, data["grantId"], "code_reuse", now)
            return None
        txn.write(Write("update", path, {"usedAt": now}))
        if now >= data["expiresAt"] or grant is None or grant.get("revokedAt") is not None:
            return None
        if not _user_active(txn.get(user_path(data["tenantId"], data["userId"]))):
            _revoke_in(txn, data["grantId"], "user_disabled", now)
            return None
        return AuthorizationCode(
            code_digest=digest(code),
            grant_id=data["grantId"],
            tenant_id=data["tenantId"],
            client_id=data["clientId"],
            user_id=data["userId"],
            redirect_uri=data["redirectUri"],
            scope=" ".join(data["scopes"]),
            code_challenge=data.get("codeChallenge"),
            code_challenge_method=data.get("codeChallengeMethod"),
            grant_ends_at=grant_end(grant, lifetime),
        )

    return store.run_transaction(redeem)


# --- access and refresh tokens ------------------------------------------------------------------


def _ttl(ttl: timedelta, now: datetime, grant_ends: datetime | None) -> timedelta:
    """``ttl``, cut short by the grant's end."""
    return max(timedelta(0), min(ttl, grant_ends - now)) if grant_ends else ttl


def mint_tokens(grant_id: str, scope: str, include_refresh_token: bool, grant_ends: datetime | None = None,
                clock: Clock = utcnow) -> dict[str, Any]:
    """A token response body (RFC 6749 §5.1) for ``grant_id``; stored by :func:`save_tokens`."""
    token: dict[str, Any] = {
        "token_type": "Bearer",
        "access_token": f"{ACCESS_PREFIX}{grant_id}_{_secret()}",
        "expires_in": int(_ttl(ACCESS_TOKEN_TTL, clock(), grant_ends).total_seconds()),
        "scope": scope,
    }
    if include_refresh_token:
        token["refresh_token"] = f"{REFRESH_PREFIX}{grant_id}_{_secret()}"
    return token


def save_tokens(store: MetadataStore, token: dict[str, Any], holder: GrantHolder, client_id: str,
                clock: Clock = utcnow) -> None:
    """Store the records of a minted token response (its refresh token keeps the grant's
    full scope: a later refresh may ask for any of it again, RFC 6749 §6)."""
    assert holder.grant_id is not None
    now = clock()
    common = {"grantId": holder.grant_id, "tenantId": holder.tenant_id, "clientId": client_id,
              "userId": holder.user_id, "issuedAt": now, "revokedAt": None}
    ends = holder.grant_ends_at
    writes = [
        Write("create", token_path(token["access_token"]),
              {**common, "scopes": token["scope"].split(), "expiresAt": now + _ttl(ACCESS_TOKEN_TTL, now, ends)}),
    ]
    if "refresh_token" in token:
        writes.append(
            Write("create", token_path(token["refresh_token"]),
                  {**common, "scopes": sorted(holder.scopes), "expiresAt": now + _ttl(REFRESH_TOKEN_TTL, now, ends),
                   "usedAt": None})
        )
    store.commit(writes)


def _parse(token: str) -> tuple[TokenKind, str] | None:
    match = TOKEN_PATTERN.match(token) if isinstance(token, str) else None
    if not match:
        return None
    return ("access_token" if match.group(1) == "bat" else "refresh_token"), match.group(2)


def _stored(kind: TokenKind, path: str, data: dict[str, Any], grant: dict[str, Any] | None,
            now: datetime, lifetime: timedelta) -> StoredToken:
    used = data.get("usedAt") is not None
    grant_revoked = grant is None or grant.get("revokedAt") is not None
    revoked = data.get("revokedAt") is not None or used or grant_revoked
    return StoredToken(grant_id=data["grantId"], tenant_id=data["tenantId"], client_id=data["clientId"],
                       user_id=data["userId"], scope=" ".join(data.get("scopes", [])), kind=kind, path=path,
                       issued_at=data["issuedAt"], expires_at=data["expiresAt"], revoked=revoked, used=used,
                       grant_revoked=grant_revoked, grant_ends_at=grant_end(grant, lifetime) if grant else None,
                       now=now)


def find_token(store: MetadataStore, token: str, clock: Clock = utcnow,
               lifetime: timedelta = GRANT_LIFETIME) -> StoredToken | None:
    """The stored access or refresh token ``token`` is (active or not), or ``None``: one
    batched read of the token and its grant."""
    parsed = _parse(token)
    if parsed is None:
        return None
    kind, grant_id = parsed
    path = token_path(token)
    data, grant = store.get_many([path, grant_path(grant_id)])
    if data is None or data.get("grantId") != grant_id:
        return None
    return _stored(kind, path, data, grant, clock(), lifetime)


def redeem_refresh_token(store: MetadataStore, token: str, client_id: str, clock: Clock = utcnow,
                         lifetime: timedelta = GRANT_LIFETIME) -> StoredToken | None:
    """The refresh token ``token`` if ``client_id`` may use it now, else ``None``
    (``invalid_grant``). A refresh token that was already used is a replay: whoever holds
    the other copy is cut off by revoking the whole grant (RFC 9700 §4.14.2). A grant past
    its lifetime, or a disabled user's, is refused too."""
    parsed = _parse(token)
    if parsed is None or parsed[0] != "refresh_token":
        return None
    found = find_token(store, token, clock, lifetime)
    if found is None or found.client_id != client_id:
        return None
    if found.is_revoked():
        if found.used and not found.grant_revoked:
            revoke_grant(store, found.grant_id, "refresh_token_reuse", clock)
        return None
    if found.is_expired():
        return None
    if not _user_active(store.get(user_path(found.tenant_id, found.user_id))):
        revoke_grant(store, found.grant_id, "user_disabled", clock)
        return None
    return found


def consume_refresh_token(store: MetadataStore, token: StoredToken, clock: Clock = utcnow) -> bool:
    """Mark a redeemed refresh token used, atomically; ``False`` (and the grant revoked)
    if a concurrent request used it first."""
    now = clock()

    def consume(txn: Transaction) -> bool:
        data = txn.get(token.path)
        if data is None or data.get("usedAt") is not None:
            _revoke_in(txn, token.grant_id, "refresh_token_reuse", now)
            return False
        txn.write(Write("update", token.path, {"usedAt": now}))
        return True

    return store.run_transaction(consume)


def revoke_grant(store: MetadataStore, grant_id: str, reason: str, clock: Clock = utcnow) -> None:
    """Revoke a grant: every code, access and refresh token of it stops at once."""
    store.update(grant_path(grant_id), {"revokedAt": clock(), "revokedReason": reason})


def revoke(store: MetadataStore, token: StoredToken, clock: Clock = utcnow) -> None:
    """RFC 7009 §2.1: an access token alone; a refresh token with its whole grant."""
    now = clock()
    if token.kind == "access_token":
        store.update(token.path, {"revokedAt": now})
    else:
        revoke_grant(store, token.grant_id, "revoked", clock)


def authenticate_access_token(store: MetadataStore, token: str, clock: Clock = utcnow,
                              lifetime: timedelta = GRANT_LIFETIME) -> Principal:
    """A Bearer access token to its principal (RFC 6750), or :class:`Unauthenticated`: one
    batched read, which sees a revoked grant (a revoked client, a disabled user) at once."""
    parsed = _parse(token)
    if parsed is None or parsed[0] != "access_token":
        raise Unauthenticated("malformed access token")
    found = find_token(store, token, clock, lifetime)
    if found is None:
        raise Unauthenticated("invalid, expired or revoked access token")
    principal = Principal(
        tenant_id=found.tenant_id,
        scopes=frozenset(found.scope.split()),
        kind="oauth",
        credential_id=found.client_id,
        subject=found.user_id,
    )
    if found.is_revoked() or found.is_expired():
        raise RejectedCredential("invalid, expired or revoked access token", principal)
    return principal
