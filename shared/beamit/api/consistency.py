"""The ``consistency-sweep`` scheduled function (Cloud Scheduler, hourly): remove the leftovers
of abandoned requests (:mod:`beamit.consistency.sweep`)."""

from __future__ import annotations

from flask import Response

from beamit.consistency.sweep import sweep_leftovers
from beamit.web import RequestContext, Router
from beamit.web.responses import json_response
from beamit.webhooks.push import verify_push_token

sweep_router = Router("consistency-sweep")


@sweep_router.route("/", methods=["POST"], public=True)
def sweep(ctx: RequestContext) -> Response:
    verify_push_token(ctx.request.headers.get("Authorization"), ctx.settings)
    return json_response(sweep_leftovers(ctx.services).to_json())
