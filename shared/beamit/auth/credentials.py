"""Turn a request's ``Authorization`` header into a :class:`Principal`.

API keys (``Bearer bk_...``) and OAuth access tokens (``Bearer bat_...``, issued by the
authorization server of :mod:`beamit.auth.oauth`) are resolved here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from werkzeug.datastructures import Headers

from beamit.auth.api_keys import authenticate_key, remembered_principal
from beamit.auth.principal import Principal
from beamit.errors import Unauthenticated
from beamit.lazy import first_use
from beamit.settings import get_settings
from beamit.storage import MetadataStore


def bearer_token(headers: Mapping[str, str] | Headers) -> str:
    """The token of an RFC 6750 ``Authorization: Bearer`` header, or raise."""
    header = headers.get("Authorization", "")
    if not header:
        raise Unauthenticated("missing Authorization header")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("Authorization must be 'Bearer <token>'")
    return token


def authenticate(store: MetadataStore, headers: Mapping[str, str] | Headers) -> Principal:
    token = bearer_token(headers)
    if token.startswith("bk_"):
        return authenticate_key(store, token)
    with first_use():  # the OAuth modules (Authlib, cryptography) load with the first OAuth token
        from beamit.auth.oauth import tokens

    if token.startswith(tokens.ACCESS_PREFIX):
        lifetime = timedelta(days=get_settings().oauth_grant_lifetime_days)
        return tokens.authenticate_access_token(store, token, lifetime=lifetime)
    raise Unauthenticated("invalid access token")


def likely_principal(headers: Mapping[str, str] | Headers) -> Principal | None:
    """The principal an API key was last resolved to in this process, if any: a guess to start a
    read with while :func:`authenticate` confirms it (never a substitute for it)."""
    try:
        token = bearer_token(headers)
    except Unauthenticated:
        return None
    return remembered_principal(token) if token.startswith("bk_") else None
