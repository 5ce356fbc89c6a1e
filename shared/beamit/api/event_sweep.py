"""``event-sweep`` (Cloud Scheduler, every minute): publish what the outbox holds, announce
settled studies (``study.received``). Verifies the scheduler's OIDC token in production."""

from __future__ import annotations

from flask import Response

from beamit import logs
from beamit.events.sweep import sweep_events
from beamit.web import RequestContext, Router
from beamit.web.responses import json_response
from beamit.webhooks.push import verify_push_token

router = Router("event-sweep")


@router.route("/", methods=["POST"], public=True)
def sweep(ctx: RequestContext) -> Response:
    verify_push_token(ctx.request.headers.get("Authorization"), ctx.settings)
    summary = sweep_events(ctx.services)
    if summary["recovered"] or summary["announced"]:
        logs.info("event sweep", **summary)
    return json_response(summary)
