"""``/v1/shares``: patient share links (shares:write to create and change: revoke, extend,
re-issue; shares:read to read), and the ``share-expiry`` scheduled function."""

from __future__ import annotations

from typing import Any

from flask import Response

from beamit.auth.scopes import SHARES_READ, SHARES_WRITE
from beamit.errors import BadRequest
from beamit.shares import expiry, service
from beamit.shares.fields import parse_expires_in, parse_share_request
from beamit.shares.share import Share
from beamit.web import RequestContext, Router
from beamit.web.json_body import json_object, optional_json_object
from beamit.web.responses import json_response
from beamit.webhooks.push import verify_push_token

router = Router("shares")
expiry_router = Router("share-expiry")

SHARE = "/v1/shares/<share_id>"


def _audit(ctx: RequestContext, share: Share | dict[str, Any], **details: object) -> None:
    ctx.audit.resources.share = share.id if isinstance(share, Share) else share["id"]
    ctx.audit.resources.studies = list(share.studies) if isinstance(share, Share) else share["studyIds"]
    ctx.audit.detail(**details)


@router.route("/v1/shares", methods=["POST"], scope=SHARES_WRITE)
def create_share(ctx: RequestContext) -> Response:
    request = parse_share_request(json_object(ctx.request))
    created = service.create_share(
        ctx.services, ctx.tenant, request,
        created_by=ctx.caller.subject or ctx.caller.credential_id,
        idempotency_key=ctx.request.headers.get("Idempotency-Key"),
    )
    _audit(ctx, created.body, action="create", expiresAt=created.body["expiresAt"])
    return json_response(created.body, status=created.status)


@router.route("/v1/shares", methods=["GET"], scope=SHARES_READ)
def list_shares(ctx: RequestContext) -> Response:
    args = ctx.request.args
    raw_limit = args.get("limit", str(service.DEFAULT_PAGE))
    if not raw_limit.isdigit():
        raise BadRequest(f"'limit' must be an integer from 1 to {service.MAX_PAGE}")
    shares, has_more = service.list_shares(
        ctx.services, ctx.tenant, limit=int(raw_limit), starting_after=args.get("startingAfter"),
        status=args.get("status"), study=args.get("studyId"),
    )
    return json_response({"object": "list", "data": [s.to_json() for s in shares], "hasMore": has_more})


@router.route(SHARE, methods=["GET"], scope=SHARES_READ)
def get_share(ctx: RequestContext) -> Response:
    share = service.get_share(ctx.services, ctx.tenant, ctx.args["share_id"])
    _audit(ctx, share, action="read")
    return json_response(share.to_json())


@router.route(SHARE + "/revoke", methods=["POST"], scope=SHARES_WRITE)
def revoke_share(ctx: RequestContext) -> Response:
    return _revoke(ctx)


@router.route(SHARE, methods=["DELETE"], scope=SHARES_WRITE)
def delete_share(ctx: RequestContext) -> Response:
    return _revoke(ctx)


def _revoke(ctx: RequestContext) -> Response:
    share = service.revoke_share(ctx.services, ctx.tenant, ctx.args["share_id"])
    _audit(ctx, share, action="revoke")
    return json_response(share.to_json())


@router.route(SHARE + "/extend", methods=["POST"], scope=SHARES_WRITE)
def extend_share(ctx: RequestContext) -> Response:
    body = optional_json_object(ctx.request)
    unknown = sorted(set(body) - {"expiresIn"})
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(unknown)}")
    if "expiresIn" not in body:
        raise BadRequest("'expiresIn' is required: how much longer the share lasts, e.g. '7d'")
    share = service.extend_share(ctx.services, ctx.tenant, ctx.args["share_id"], parse_expires_in(body["expiresIn"]))
    _audit(ctx, share, action="extend", expiresIn=body["expiresIn"])
    return json_response(share.to_json())


@router.route(SHARE + "/unlock", methods=["POST"], scope=SHARES_WRITE)
def unlock_share(ctx: RequestContext) -> Response:
    share = service.unlock_share(ctx.services, ctx.tenant, ctx.args["share_id"])
    _audit(ctx, share, action="unlock")
    return json_response(share.to_json())


@router.route(SHARE + "/reissue", methods=["POST"], scope=SHARES_WRITE)
def reissue_share(ctx: RequestContext) -> Response:
    body = optional_json_object(ctx.request)
    if body:
        raise BadRequest(f"unknown field(s): {', '.join(sorted(body))}; send no body")
    reissued = service.reissue_share(ctx.services, ctx.tenant, ctx.args["share_id"])
    _audit(ctx, reissued.share, action="reissue", smsStatus="sent" if reissued.sms_sent else "failed")
    return json_response(reissued.to_json())


@expiry_router.route("/", methods=["POST"], public=True)
def expire_shares(ctx: RequestContext) -> Response:
    """Cloud Scheduler (every 5 minutes): expire due shares, publish ``share.expired``."""
    verify_push_token(ctx.request.headers.get("Authorization"), ctx.settings)
    return json_response(expiry.expire_due_shares(ctx.services))
