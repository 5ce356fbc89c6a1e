"""The ``prerender`` function (Pub/Sub push of the events topic, ``study.received`` only).

Renders a settled study's first images ahead of its viewers (:mod:`beamit.retrieve.prerender`)
and acknowledges (204). Other event types (the emulator ignores subscription filters) and
malformed messages are acknowledged and dropped; a failure to read the catalog or list the
derived bucket answers 500, so Pub/Sub redelivers (what is already rendered is not redone).
The caller's Google OIDC token is verified in production (:mod:`beamit.webhooks.push`).
"""

from __future__ import annotations

from flask import Response

from beamit import logs
from beamit.events import STUDY_RECEIVED
from beamit.retrieve.plan import Retrieval
from beamit.retrieve.prerender import prerender_study
from beamit.tenancy import TenantScope
from beamit.web import RequestContext, Router
from beamit.webhooks.payloads import MalformedEvent, WebhookEvent
from beamit.webhooks.push import MalformedPush, parse_push, verify_push_token

router = Router("prerender")


@router.route("/", methods=["POST"], public=True)
def prerender(ctx: RequestContext) -> Response:
    verify_push_token(ctx.request.headers.get("Authorization"), ctx.settings)
    try:
        event = WebhookEvent.from_envelope(parse_push(ctx.request.get_data()).json())
    except (MalformedPush, MalformedEvent) as exc:
        logs.warning("event not prerendered", reason=str(exc)[:200])
        return Response(status=204)
    study = event.data.get("studyInstanceUID")
    if event.type != STUDY_RECEIVED or event.test or not isinstance(study, str) or not study:
        return Response(status=204)
    retrieval = Retrieval.for_tenant(ctx.services, TenantScope(event.tenant_id))
    result = prerender_study(retrieval, study)
    logs.info("study prerendered", tenantId=event.tenant_id, eventId=event.id, **result.summary())
    return Response(status=204)
