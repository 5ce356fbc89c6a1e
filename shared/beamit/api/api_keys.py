"""``/v1/api-keys``: create, list, get and revoke server-to-server API keys (keys:manage)."""

from __future__ import annotations

from flask import Response

from beamit.auth import api_keys
from beamit.auth.scopes import KEYS_MANAGE, UnknownScope
from beamit.errors import BadRequest
from beamit.web import RequestContext, Router
from beamit.web.json_body import json_object
from beamit.web.responses import json_response

router = Router("api-keys")


@router.route("/v1/api-keys", methods=["POST"], scope=KEYS_MANAGE)
def create_key(ctx: RequestContext) -> Response:
    body = json_object(ctx.request)
    name = body.get("name", "")
    scopes = body.get("scopes")
    if not isinstance(name, str) or len(name) > 100:
        raise BadRequest("'name' must be a string of at most 100 characters")
    if not isinstance(scopes, list) or not scopes or not all(isinstance(s, str) for s in scopes):
        raise BadRequest("'scopes' must be a non-empty array of scope strings")
    try:
        issued = api_keys.create_key(
            ctx.services.metadata,
            env_prefix=ctx.settings.api_key_prefix,
            tenant=ctx.tenant,
            name=name,
            scopes=scopes,
            created_by=ctx.caller.credential_id,
            grantor_scopes=ctx.caller.scopes,
        )
    except UnknownScope as exc:
        raise BadRequest(str(exc)) from None
    ctx.audit.resources.api_key = issued.key.id
    return json_response({**issued.key.to_json(), "key": issued.token}, status=201)


@router.route("/v1/api-keys", methods=["GET"], scope=KEYS_MANAGE)
def list_keys(ctx: RequestContext) -> Response:
    keys = api_keys.list_keys(ctx.services.metadata, ctx.tenant)
    return json_response({"object": "list", "data": [k.to_json() for k in keys]})


@router.route("/v1/api-keys/<key_id>", methods=["GET"], scope=KEYS_MANAGE)
def get_key(ctx: RequestContext) -> Response:
    key = api_keys.get_key(ctx.services.metadata, ctx.tenant, ctx.args["key_id"])
    return json_response(key.to_json())


@router.route("/v1/api-keys/<key_id>", methods=["DELETE"], scope=KEYS_MANAGE)
def revoke_key(ctx: RequestContext) -> Response:
    key = api_keys.revoke_key(ctx.services.metadata, ctx.tenant, ctx.args["key_id"])
    ctx.audit.resources.api_key = key.id
    return json_response(key.to_json())
