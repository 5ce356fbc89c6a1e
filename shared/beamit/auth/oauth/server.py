"""The authorization server: Authlib's components over our Firestore records.

- ``authorization_code`` grant (RFC 6749 §4.1) with PKCE (RFC 7636): ``S256`` only,
  required of every client (RFC 9700 §2.1.1: we offer no OpenID Connect ``nonce``, the other
  defence against code injection), at the authorization endpoint and so at the token
  endpoint; a confidential client registered with ``pkceRequired: false`` may leave it out
- the ``iss`` authorization response parameter (RFC 9207) on every redirect to a client,
  errors included
- ``refresh_token`` grant (RFC 6749 §6) with rotation and reuse detection
- revocation (RFC 7009) and introspection (RFC 7662) endpoints
- server metadata (RFC 8414, with RFC 9207's ``authorization_response_iss_parameter_supported``)

:class:`BeamItAuthorizationServer` is framework-neutral: it takes a
:class:`~beamit.auth.oauth.requests.BeamItOAuth2Request` and answers Flask responses.
It keeps no per-request state, so one instance serves every thread.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc6749 import (
    AccessDeniedError,
    AuthorizationServer,
    InvalidGrantError,
    InvalidRequestError,
    OAuth2Request,
    grants,
)
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from authlib.oauth2.rfc9207 import AuthorizationServerMetadata as IssuerMetadata
from flask import Response

from beamit.auth.oauth import tokens
from beamit.auth.oauth.clients import CONFIDENTIAL_AUTH_METHODS, OAuthClient, find_client
from beamit.auth.scopes import ALL_SCOPES
from beamit.clock import utcnow
from beamit.storage import MetadataStore

StoreFactory = Callable[[], MetadataStore]
ALL_AUTH_METHODS = [*CONFIDENTIAL_AUTH_METHODS, "none"]


def granted_scope(requested: str | None, holder: tokens.GrantHolder) -> str:
    """The scopes a code carries: requested (already cut to the client's) ∩ the user's role."""
    return " ".join(sorted(set(scope_to_list(requested or "")) & holder.scopes))


class PkceS256(CodeChallenge):  # type: ignore[misc]
    """RFC 7636 with ``S256`` only (``plain`` offers no protection once the request leaks),
    required when the code is requested, not only when it is redeemed. A code issued with a
    challenge needs its verifier, and one issued without refuses a verifier (Authlib's
    ``validate_code_verifier``: the PKCE downgrade of RFC 9700 §4.8.2)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        challenge, method = data.get("code_challenge"), data.get("code_challenge_method")
        if not challenge and not method:
            if grant.request.client.pkce_required:
                raise InvalidRequestError("This client must use PKCE: send code_challenge with "
                                          "code_challenge_method=S256.")
            return
        if method != "S256":
            raise InvalidRequestError("code_challenge_method must be S256.")
        super().validate_code_challenge(grant, redirect_uri)


class CodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ALL_AUTH_METHODS
    server: BeamItAuthorizationServer

    def generate_authorization_code(self) -> str:
        return tokens.new_code()

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        holder: tokens.GrantHolder = request.user
        scope = granted_scope(request.scope, holder)
        if not scope:
            raise AccessDeniedError("The user's role allows none of the requested scopes.",
                                    redirect_uri=self.redirect_uri)
        tokens.save_code(
            self.server.store(),
            code,
            holder=holder,
            client_id=request.client.client_id,
            redirect_uri=self.redirect_uri,
            scope=scope,
            code_challenge=request.payload.data.get("code_challenge"),
            code_challenge_method=request.payload.data.get("code_challenge_method"),
            clock=self.server.clock,
        )

    def query_authorization_code(self, code: str, client: OAuthClient) -> tokens.AuthorizationCode | None:
        # Redeemed here, atomically: a code is spent even if a later check of this request
        # fails, and a second use revokes what the first one obtained.
        return tokens.consume_code(self.server.store(), code, client.client_id, self.server.clock,
                                   self.server.grant_lifetime())

    def delete_authorization_code(self, authorization_code: tokens.AuthorizationCode) -> None:
        """Nothing to do: the code was marked used when it was redeemed."""

    def authenticate_user(self, authorization_code: tokens.AuthorizationCode) -> tokens.GrantHolder:
        code = authorization_code
        return tokens.GrantHolder(code.user_id, code.tenant_id, frozenset(code.scope.split()), code.grant_id,
                                  code.grant_ends_at)


class RefreshGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ALL_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation (RFC 9700 §4.14.2)
    server: BeamItAuthorizationServer

    def authenticate_refresh_token(self, refresh_token: str) -> tokens.StoredToken | None:
        return tokens.redeem_refresh_token(self.server.store(), refresh_token, self.request.client.client_id,
                                           self.server.clock, self.server.grant_lifetime())

    def authenticate_user(self, refresh_token: tokens.StoredToken) -> tokens.GrantHolder:
        return refresh_token.get_user()

    def revoke_old_credential(self, refresh_token: tokens.StoredToken) -> None:
        if not tokens.consume_refresh_token(self.server.store(), refresh_token, self.server.clock):
            raise InvalidGrantError("The refresh token was already used; its grant is revoked.")


class Revocation(RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = ALL_AUTH_METHODS
    server: BeamItAuthorizationServer

    def query_token(self, token_string: str, token_type_hint: str | None) -> tokens.StoredToken | None:
        # The token's prefix names its type: the hint is not needed (RFC 7009 §2.1).
        return tokens.find_token(self.server.store(), token_string, self.server.clock, self.server.grant_lifetime())

    def revoke_token(self, token: tokens.StoredToken, request: OAuth2Request) -> None:
        tokens.revoke(self.server.store(), token, self.server.clock)


class Introspection(IntrospectionEndpoint):  # type: ignore[misc]
    """RFC 7662 for confidential clients, about the tokens issued to themselves."""

    CLIENT_AUTH_METHODS = list(CONFIDENTIAL_AUTH_METHODS)
    server: BeamItAuthorizationServer

    def query_token(self, token_string: str, token_type_hint: str | None) -> tokens.StoredToken | None:
        return tokens.find_token(self.server.store(), token_string, self.server.clock, self.server.grant_lifetime())

    def check_permission(self, token: tokens.StoredToken, client: OAuthClient, request: OAuth2Request) -> bool:
        return token.client_id == client.client_id

    def introspect_token(self, token: tokens.StoredToken) -> dict[str, Any]:
        return token.introspection(self.server.issuer)


class BeamItAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    def __init__(self, store: StoreFactory, issuer: Callable[[], str], clock: tokens.Clock = utcnow,
                 grant_lifetime: Callable[[], timedelta] = lambda: tokens.GRANT_LIFETIME) -> None:
        super().__init__(scopes_supported=sorted(ALL_SCOPES))
        self.store = store
        self._issuer = issuer
        self.clock = clock
        self.grant_lifetime = grant_lifetime
        self.register_token_generator("default", self._generate_token)
        self.register_grant(CodeGrant, [PkceS256(required=True)])
        self.register_grant(RefreshGrant)
        self.register_endpoint(Revocation)
        self.register_endpoint(Introspection)

    @property
    def issuer(self) -> str:
        return self._issuer()

    def query_client(self, client_id: str) -> OAuthClient | None:
        return find_client(self.store(), client_id)

    def _generate_token(self, grant_type: str, client: OAuthClient, user: tokens.GrantHolder | None = None,
                        scope: str | None = None, expires_in: int | None = None,
                        include_refresh_token: bool = True) -> dict[str, Any]:
        assert user is not None and user.grant_id is not None
        return tokens.mint_tokens(user.grant_id, scope or "", include_refresh_token, user.grant_ends_at, self.clock)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        tokens.save_tokens(self.store(), token, request.user, request.client.client_id, self.clock)

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        if not isinstance(request, OAuth2Request):
            raise TypeError("pass a BeamItOAuth2Request (beamit.auth.oauth.requests.oauth_request)")
        return request

    def create_json_request(self, request: Any) -> Any:
        raise NotImplementedError("no JSON endpoints (RFC 7591 registration is not offered)")

    def handle_response(self, status: int, body: Any, headers: Any) -> Response:
        payload = json.dumps(body, separators=(",", ":")) if isinstance(body, dict) else (body or "")
        response = Response(payload, status=status, headers=list(headers or []))
        if response.location:
            # Only authorization responses redirect (to the client's registered URI), errors
            # included: each names its issuer (RFC 9207 §2), against mix-up attacks.
            response.location = add_params_to_uri(response.location, {"iss": self.issuer})
        return response

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """No signal subscribers: the API layer audits each call itself."""


@functools.cache
def authorization_server() -> BeamItAuthorizationServer:
    """The process's authorization server, over the configured metadata store."""
    from beamit.settings import get_settings
    from beamit.storage import services

    return BeamItAuthorizationServer(store=lambda: services().metadata, issuer=lambda: get_settings().public_base_url,
                                     grant_lifetime=lambda: timedelta(days=get_settings().oauth_grant_lifetime_days))


def server_metadata(issuer: str) -> dict[str, Any]:
    """RFC 8414 §2 metadata of the server at ``issuer`` (validated with Authlib)."""
    metadata = AuthorizationServerMetadata(
        {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/v1/auth/authorize",
            "token_endpoint": f"{issuer}/v1/auth/token",
            "revocation_endpoint": f"{issuer}/v1/auth/revoke",
            "introspection_endpoint": f"{issuer}/v1/auth/introspect",
            "scopes_supported": sorted(ALL_SCOPES),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_methods_supported": ALL_AUTH_METHODS,
            "revocation_endpoint_auth_methods_supported": ALL_AUTH_METHODS,
            "introspection_endpoint_auth_methods_supported": list(CONFIDENTIAL_AUTH_METHODS),
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": True,
            "service_documentation": f"{issuer}/v1/openapi.yaml",
        }
    )
    metadata.validate(metadata_classes=[IssuerMetadata])
    return dict(metadata)
