"""WADO-RS (PS3.18 §10.4) handlers, registered on the ``/v1/dicomweb`` router.

Every route needs ``studies:read`` and reads :mod:`beamit.retrieve`: parse the request, plan
the retrieval, answer with :func:`~beamit.web.dicomweb.send_plan` (which declares the audit
record: PHI access, 110104 for instances, 110103 for metadata, frames, bulk data, rendered
resources and thumbnails).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Response

from beamit import retrieve
from beamit.api.dicomweb import router
from beamit.audit.event_codes import INSTANCES_ACCESSED, INSTANCES_TRANSFERRED
from beamit.auth.scopes import STUDIES_READ
from beamit.errors import BadRequest
from beamit.web import RequestContext
from beamit.web.dicomweb import accept, element_path, frame_numbers, path_ref, render_params, send_plan
from beamit.web.router import Handler

STUDY = "/v1/dicomweb/studies/<study>"
SERIES = f"{STUDY}/series/<series>"
INSTANCE = f"{SERIES}/instances/<instance>"
FRAMES = f"{INSTANCE}/frames/<frames>"


def _read(rule: str, audit: str = INSTANCES_ACCESSED) -> Callable[[Handler], Handler]:
    return router.route(rule, methods=["GET"], scope=STUDIES_READ, audit=audit)


def _retrieval(ctx: RequestContext) -> retrieve.Retrieval:
    return retrieve.Retrieval.for_tenant(ctx.services, ctx.tenant)


# -- instances (PS3.18 §10.4.1.1.1-3) ------------------------------------------------------------


@_read(STUDY, INSTANCES_TRANSFERRED)
@_read(SERIES, INSTANCES_TRANSFERRED)
@_read(INSTANCE, INSTANCES_TRANSFERRED)
def retrieve_instances(ctx: RequestContext) -> Response:
    return send_plan(ctx, retrieve.plan_instances(_retrieval(ctx), path_ref(ctx), accept(ctx)))


# -- metadata (PS3.18 §10.4.1.1.2) -----------------------------------------------------------------


@_read(f"{STUDY}/metadata")
@_read(f"{SERIES}/metadata")
@_read(f"{INSTANCE}/metadata")
def retrieve_metadata(ctx: RequestContext) -> Response:
    return send_plan(ctx, retrieve.plan_metadata(_retrieval(ctx), path_ref(ctx), accept(ctx)))


# -- frames and bulk data (PS3.18 §10.4.1.1.4-5) ---------------------------------------------------


@_read(FRAMES)
def retrieve_frames(ctx: RequestContext) -> Response:
    return send_plan(ctx, retrieve.plan_frames(_retrieval(ctx), path_ref(ctx), frame_numbers(ctx), accept(ctx)))


@_read(f"{INSTANCE}/bulkdata/<path:element>")
def retrieve_bulkdata(ctx: RequestContext) -> Response:
    return send_plan(ctx, retrieve.plan_bulkdata(_retrieval(ctx), path_ref(ctx), element_path(ctx), accept(ctx)))


# -- rendered resources and thumbnails (PS3.18 §10.4.1.1.5-6, §8.3.5) -----------------------------------


@_read(f"{STUDY}/rendered")
@_read(f"{SERIES}/rendered")
@_read(f"{INSTANCE}/rendered")
def retrieve_rendered(ctx: RequestContext) -> Response:
    plan = retrieve.plan_rendered(_retrieval(ctx), path_ref(ctx), None, render_params(ctx), accept(ctx))
    return send_plan(ctx, plan)


@_read(f"{FRAMES}/rendered")
def retrieve_rendered_frames(ctx: RequestContext) -> Response:
    plan = retrieve.plan_rendered(_retrieval(ctx), path_ref(ctx), frame_numbers(ctx), render_params(ctx), accept(ctx))
    return send_plan(ctx, plan)


@_read(f"{STUDY}/thumbnail")
@_read(f"{SERIES}/thumbnail")
@_read(f"{INSTANCE}/thumbnail")
def retrieve_thumbnail(ctx: RequestContext) -> Response:
    plan = retrieve.plan_thumbnail(_retrieval(ctx), path_ref(ctx), None, render_params(ctx), accept(ctx))
    return send_plan(ctx, plan)


@_read(f"{FRAMES}/thumbnail")
def retrieve_frame_thumbnail(ctx: RequestContext) -> Response:
    numbers = frame_numbers(ctx)
    if len(numbers) != 1:
        raise BadRequest("a thumbnail is of one frame")
    plan = retrieve.plan_thumbnail(_retrieval(ctx), path_ref(ctx), numbers[0], render_params(ctx), accept(ctx))
    return send_plan(ctx, plan)
