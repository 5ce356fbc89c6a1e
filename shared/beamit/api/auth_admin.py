"""``/v1/auth/users`` and ``/v1/auth/clients``: a tenant's users and OAuth clients
(scope ``keys:manage``). Part of the ``auth`` function, with the JSON error object.

A caller cannot hand out more than it holds: a user's role scopes and a client's scopes
must be among the caller's own; nor take away (disable, enable, revoke grants of a user,
revoke a client) what it does not hold. Ending access (:mod:`beamit.auth.access`) is
audited as DICOM 110113 Security Alert.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Response

from beamit.audit.event_codes import SECURITY_ALERT
from beamit.auth import access, users
from beamit.auth.oauth import clients
from beamit.auth.passwords import WeakPassword
from beamit.auth.roles import UnknownRole
from beamit.auth.scopes import KEYS_MANAGE, UnknownScope
from beamit.clock import utcnow
from beamit.errors import BadRequest
from beamit.web import RequestContext, Router
from beamit.web.json_body import json_object
from beamit.web.responses import json_response

PREFIXES = ("/v1/auth/users", "/v1/auth/clients")

router = Router("auth-admin")


def _string(body: dict[str, Any], name: str, max_length: int) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value or len(value) > max_length:
        raise BadRequest(f"'{name}' must be a non-empty string of at most {max_length} characters")
    return value


def _by(ctx: RequestContext) -> str:
    return ctx.caller.subject or ctx.caller.credential_id


def _lifetime(ctx: RequestContext) -> timedelta:
    return timedelta(days=ctx.settings.oauth_grant_lifetime_days)


@router.route("/v1/auth/users", methods=["POST"], scope=KEYS_MANAGE)
def create_user(ctx: RequestContext) -> Response:
    body = json_object(ctx.request)
    try:
        user = users.create_user(
            ctx.services.metadata,
            ctx.tenant,
            email=_string(body, "email", 254),
            role=_string(body, "role", 40),
            password=_string(body, "password", 256),
            created_by=_by(ctx),
            grantor_scopes=ctx.caller.scopes,
        )
    except (users.InvalidEmail, UnknownRole, WeakPassword) as exc:
        raise BadRequest(str(exc)) from None
    ctx.audit.resources.user = user.id
    return json_response(user.to_json(), status=201)


@router.route("/v1/auth/users", methods=["GET"], scope=KEYS_MANAGE)
def list_users(ctx: RequestContext) -> Response:
    found = users.list_users(ctx.services.metadata, ctx.tenant)
    return json_response({"object": "list", "data": [u.to_json() for u in found]})


@router.route("/v1/auth/users/<user_id>", methods=["GET"], scope=KEYS_MANAGE)
def get_user(ctx: RequestContext) -> Response:
    return json_response(users.get_user(ctx.services.metadata, ctx.tenant, ctx.args["user_id"]).to_json())


@router.route("/v1/auth/users/<user_id>/disable", methods=["POST"], scope=KEYS_MANAGE, audit=SECURITY_ALERT)
def disable_user(ctx: RequestContext) -> Response:
    user, ended = access.disable_user(ctx.services.metadata, ctx.tenant, ctx.args["user_id"], by=_by(ctx),
                                      grantor_scopes=ctx.caller.scopes)
    ctx.audit.resources.user = user.id
    ctx.audit.detail(revokedGrants=ended.revoked_grants)
    return json_response({**user.to_json(), "revokedGrants": ended.revoked_grants})


@router.route("/v1/auth/users/<user_id>/enable", methods=["POST"], scope=KEYS_MANAGE, audit=SECURITY_ALERT)
def enable_user(ctx: RequestContext) -> Response:
    user = access.enable_user(ctx.services.metadata, ctx.tenant, ctx.args["user_id"], by=_by(ctx),
                              grantor_scopes=ctx.caller.scopes)
    ctx.audit.resources.user = user.id
    return json_response(user.to_json())


@router.route("/v1/auth/users/<user_id>/grants", methods=["GET"], scope=KEYS_MANAGE)
def list_user_grants(ctx: RequestContext) -> Response:
    found = access.user_grants(ctx.services.metadata, ctx.tenant, ctx.args["user_id"], _lifetime(ctx))
    ctx.audit.resources.user = ctx.args["user_id"]  # found: a valid id of this tenant
    now = utcnow()
    return json_response({"object": "list", "data": [g.to_json(now) for g in found]})


@router.route("/v1/auth/users/<user_id>/grants", methods=["DELETE"], scope=KEYS_MANAGE, audit=SECURITY_ALERT)
def revoke_user_grants(ctx: RequestContext) -> Response:
    ended = access.revoke_user_grants(ctx.services.metadata, ctx.tenant, ctx.args["user_id"],
                                      grantor_scopes=ctx.caller.scopes)
    ctx.audit.resources.user = ctx.args["user_id"]
    ctx.audit.detail(revokedGrants=ended.revoked_grants)
    return json_response({"object": "grant_revocation", "userId": ctx.args["user_id"],
                          "revokedGrants": ended.revoked_grants})


@router.route("/v1/auth/users/<user_id>/grants/<grant_id>", methods=["DELETE"], scope=KEYS_MANAGE,
              audit=SECURITY_ALERT)
def revoke_user_grant(ctx: RequestContext) -> Response:
    grant = access.revoke_user_grant(ctx.services.metadata, ctx.tenant, ctx.args["user_id"], ctx.args["grant_id"],
                                     grantor_scopes=ctx.caller.scopes, lifetime=_lifetime(ctx))
    ctx.audit.resources.user = grant.user_id
    ctx.audit.detail(grant=f"grt_{grant.id}")
    return json_response(grant.to_json(utcnow()))


@router.route("/v1/auth/clients", methods=["POST"], scope=KEYS_MANAGE)
def create_client(ctx: RequestContext) -> Response:
    body = json_object(ctx.request)
    kind = body.get("type", "confidential")
    if kind not in ("public", "confidential"):
        raise BadRequest("'type' is public or confidential")
    uris = body.get("redirectUris")
    if not isinstance(uris, list) or not all(isinstance(u, str) for u in uris):
        raise BadRequest("'redirectUris' must be an array of URIs")
    scopes = body.get("scopes")
    if scopes is not None and (not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes)):
        raise BadRequest("'scopes' must be an array of scope strings")
    pkce_required = body.get("pkceRequired", True)
    if not isinstance(pkce_required, bool):
        raise BadRequest("'pkceRequired' is true or false")
    try:
        issued = clients.create_client(
            ctx.services.metadata,
            ctx.tenant,
            name=_string(body, "name", 100),
            redirect_uris=uris,
            public=kind == "public",
            scopes=scopes,
            created_by=_by(ctx),
            grantor_scopes=ctx.caller.scopes,
            pkce_required=pkce_required,
        )
    except (clients.InvalidClientSpec, UnknownScope) as exc:
        raise BadRequest(str(exc)) from None
    ctx.audit.resources.oauth_client = issued.client.client_id
    body_out = issued.client.to_json()
    if issued.client_secret:
        body_out["clientSecret"] = issued.client_secret
    return json_response(body_out, status=201)


@router.route("/v1/auth/clients", methods=["GET"], scope=KEYS_MANAGE)
def list_clients(ctx: RequestContext) -> Response:
    found = clients.list_clients(ctx.services.metadata, ctx.tenant)
    return json_response({"object": "list", "data": [c.to_json() for c in found]})


@router.route("/v1/auth/clients/<client_id>", methods=["GET"], scope=KEYS_MANAGE)
def get_client(ctx: RequestContext) -> Response:
    return json_response(clients.get_client(ctx.services.metadata, ctx.tenant, ctx.args["client_id"]).to_json())


@router.route("/v1/auth/clients/<client_id>", methods=["DELETE"], scope=KEYS_MANAGE, audit=SECURITY_ALERT)
def revoke_client(ctx: RequestContext) -> Response:
    client, ended = access.revoke_client(ctx.services.metadata, ctx.tenant, ctx.args["client_id"], by=_by(ctx),
                                         grantor_scopes=ctx.caller.scopes)
    ctx.audit.resources.oauth_client = client.client_id
    ctx.audit.detail(revokedGrants=ended.revoked_grants)
    return json_response({**client.to_json(), "revokedGrants": ended.revoked_grants})
