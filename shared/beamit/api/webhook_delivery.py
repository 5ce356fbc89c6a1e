"""The event-driven webhook functions.

- ``webhook-delivery`` (Pub/Sub push from the events topic): fan one event out, make each
  first attempt, acknowledge (204) once they are recorded. A message that is not a
  well-formed event is acknowledged and dropped (redelivering cannot fix it); a failure to
  record answers 500, so Pub/Sub redelivers (the deliveries are idempotent).
- ``webhook-retry`` (Cloud Scheduler, every minute): attempt the due retries.

Both verify the caller's Google OIDC token in production (:mod:`beamit.webhooks.push`).
"""

from __future__ import annotations

from flask import Response

from beamit import logs
from beamit.web import RequestContext, Router
from beamit.web.responses import json_response
from beamit.webhooks import dispatch
from beamit.webhooks.payloads import MalformedEvent, WebhookEvent
from beamit.webhooks.push import MalformedPush, parse_push, verify_push_token

delivery_router = Router("webhook-delivery")
retry_router = Router("webhook-retry")


@delivery_router.route("/", methods=["POST"], public=True)
def deliver(ctx: RequestContext) -> Response:
    verify_push_token(ctx.request.headers.get("Authorization"), ctx.settings)
    try:
        message = parse_push(ctx.request.get_data())
        event = WebhookEvent.from_envelope(message.json())
    except (MalformedPush, MalformedEvent) as exc:
        # The emulator ignores subscription filters, and a bad message never gets better: ack it.
        logs.warning("event not delivered", reason=str(exc)[:200])
        return Response(status=204)
    sent = dispatch.deliver_event(ctx.services, event)
    logs.info(
        "event fanned out",
        tenantId=event.tenant_id,
        eventId=event.id,
        eventType=event.type,
        messageId=message.message_id,
        deliveries=len(sent),
    )
    return Response(status=204)


@retry_router.route("/", methods=["POST"], public=True)
def retry(ctx: RequestContext) -> Response:
    verify_push_token(ctx.request.headers.get("Authorization"), ctx.settings)
    summary = dispatch.run_due_retries(ctx.services)
    if summary:
        logs.info("webhook retries run", **summary)
    return json_response({"attempted": summary})
