"""``/v1/webhooks``: webhook endpoints, their signing secrets and delivery logs (webhooks:manage)."""

from __future__ import annotations

from flask import Response

from beamit.auth.scopes import WEBHOOKS_MANAGE
from beamit.errors import BadRequest
from beamit.web import RequestContext, Router
from beamit.web.json_body import json_object, optional_json_object
from beamit.web.responses import json_response
from beamit.webhooks import deliveries, dispatch, endpoints
from beamit.webhooks.destinations import DestinationPolicy

router = Router("webhooks")

ENDPOINT = "/v1/webhooks/<endpoint_id>"
DELIVERY = ENDPOINT + "/deliveries/<delivery_id>"


def _policy(ctx: RequestContext) -> DestinationPolicy:
    return DestinationPolicy.for_settings(ctx.settings)


@router.route("/v1/webhooks", methods=["POST"], scope=WEBHOOKS_MANAGE)
def create_endpoint(ctx: RequestContext) -> Response:
    fields = endpoints.validate_fields(json_object(ctx.request), _policy(ctx), partial=False)
    issued = endpoints.create_endpoint(ctx.services, ctx.tenant, fields)
    ctx.audit.resources.webhook = issued.endpoint.id
    return json_response({**issued.endpoint.to_json(), "secret": issued.secret}, status=201)


@router.route("/v1/webhooks", methods=["GET"], scope=WEBHOOKS_MANAGE)
def list_endpoints(ctx: RequestContext) -> Response:
    found = endpoints.list_endpoints(ctx.services, ctx.tenant)
    return json_response({"object": "list", "data": [e.to_json() for e in found]})


@router.route(ENDPOINT, methods=["GET"], scope=WEBHOOKS_MANAGE)
def get_endpoint(ctx: RequestContext) -> Response:
    return json_response(endpoints.get_endpoint(ctx.services, ctx.tenant, ctx.args["endpoint_id"]).to_json())


@router.route(ENDPOINT, methods=["PATCH"], scope=WEBHOOKS_MANAGE)
def update_endpoint(ctx: RequestContext) -> Response:
    endpoint_id = ctx.args["endpoint_id"]
    endpoints.endpoint_path(ctx.tenant, endpoint_id)  # 404 before a 400 about the body
    fields = endpoints.validate_fields(json_object(ctx.request), _policy(ctx), partial=True)
    updated = endpoints.update_endpoint(ctx.services, ctx.tenant, endpoint_id, fields)
    ctx.audit.resources.webhook = updated.id
    ctx.audit.detail(fields=sorted(fields))
    return json_response(updated.to_json())


@router.route(ENDPOINT, methods=["DELETE"], scope=WEBHOOKS_MANAGE)
def delete_endpoint(ctx: RequestContext) -> Response:
    endpoint_id = ctx.args["endpoint_id"]
    endpoints.delete_endpoint(ctx.services, ctx.tenant, endpoint_id)
    ctx.audit.resources.webhook = endpoint_id
    return json_response({"id": endpoint_id, "object": "webhook_endpoint", "deleted": True})


@router.route(ENDPOINT + "/rotate-secret", methods=["POST"], scope=WEBHOOKS_MANAGE)
def rotate_secret(ctx: RequestContext) -> Response:
    endpoint_id = ctx.args["endpoint_id"]
    endpoints.endpoint_path(ctx.tenant, endpoint_id)
    overlap = endpoints.overlap_from(optional_json_object(ctx.request))
    issued = endpoints.rotate_secret(ctx.services, ctx.tenant, endpoint_id, overlap)
    ctx.audit.resources.webhook = endpoint_id
    ctx.audit.detail(overlapSeconds=int(overlap.total_seconds()))
    return json_response({**issued.endpoint.to_json(), "secret": issued.secret})


@router.route(ENDPOINT + "/test", methods=["POST"], scope=WEBHOOKS_MANAGE)
def send_test_event(ctx: RequestContext) -> Response:
    endpoint_id = ctx.args["endpoint_id"]
    endpoints.endpoint_path(ctx.tenant, endpoint_id)  # 404 before a 400 about the body
    body = optional_json_object(ctx.request)
    unknown = sorted(set(body) - {"type"})
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(unknown)}; allowed: type")
    if "type" in body and not isinstance(body["type"], str):
        raise BadRequest("'type' must be an event type string")
    delivery = dispatch.send_test_event(ctx.services, ctx.tenant, endpoint_id, body.get("type"))
    ctx.audit.resources.webhook = endpoint_id
    ctx.audit.resources.delivery = delivery.id
    ctx.audit.detail(eventType=delivery.event_type, test=True, status=delivery.status)
    return json_response(delivery.to_json(), status=201)


def _limit(raw: str | None) -> int:
    if raw is None:
        return deliveries.DEFAULT_PAGE
    if not raw.isdigit():
        raise BadRequest(f"'limit' must be an integer from 1 to {deliveries.MAX_PAGE}")
    return int(raw)


@router.route(ENDPOINT + "/deliveries", methods=["GET"], scope=WEBHOOKS_MANAGE)
def list_deliveries(ctx: RequestContext) -> Response:
    endpoint_id = ctx.args["endpoint_id"]
    endpoints.get_record(ctx.services, ctx.tenant, endpoint_id)
    args = ctx.request.args
    items, has_more = deliveries.list_deliveries(
        ctx.services.metadata,
        ctx.tenant,
        endpoint_id,
        status=args.get("status"),
        limit=_limit(args.get("limit")),
        starting_after=args.get("startingAfter"),
    )
    return json_response({"object": "list", "data": [d.to_json() for d in items], "hasMore": has_more})


@router.route(DELIVERY, methods=["GET"], scope=WEBHOOKS_MANAGE)
def get_delivery(ctx: RequestContext) -> Response:
    delivery = deliveries.get_delivery(
        ctx.services.metadata, ctx.tenant, ctx.args["endpoint_id"], ctx.args["delivery_id"]
    )
    return json_response(delivery.to_json())


@router.route(DELIVERY + "/redeliver", methods=["POST"], scope=WEBHOOKS_MANAGE)
def redeliver(ctx: RequestContext) -> Response:
    endpoint_id, delivery_id = ctx.args["endpoint_id"], ctx.args["delivery_id"]
    delivery = dispatch.redeliver(ctx.services, ctx.tenant, endpoint_id, delivery_id)
    ctx.audit.resources.webhook = endpoint_id
    ctx.audit.resources.delivery = delivery_id
    return json_response(delivery.to_json())
