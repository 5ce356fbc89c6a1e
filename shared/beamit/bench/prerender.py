"""Rendering ahead (BeamIt only): what the ``prerender`` function costs when a study is received.

In production the events topic pushes each ``study.received`` to ``prerender``
(:mod:`beamit.retrieve.prerender`), which renders frame 1 of every image instance and each
series' thumbnail into the derived bucket. Here the CT series and the warm-up series stored by
the STOW phase are announced the same way, by a push to the function with each study's event,
one after the other, before the retrieve phase: the gateway's CPU during those pushes, per
rendering made, is the cost; the renderings then found are what the rendered-JPEG rows read.
(The events phase's sweep announces the same studies again later: that push finds everything
rendered and does nothing but list.) Orthanc renders on every request and has nothing to run.
"""

from __future__ import annotations

import base64
import json

import requests

from beamit.bench.context import BENCH_TENANT, BenchContext
from beamit.events import STUDY_RECEIVED
from beamit.events.event import Event

OPERATION = "render ahead on study.received (prerender function)"


def phase_prerender(ctx: BenchContext, seconds: float) -> None:
    studies = [uid for uid in (ctx.warm_up_study_uid, ctx.ct_study_uid) if uid]
    if not ctx.ct_instance_uids:
        ctx.findings.note("prerender: skipped, the CT series was not stored")
        return
    deadline = ctx.deadline.within(seconds)
    with ctx.charged(ctx.beamit, OPERATION, "rendering") as tally:
        for study in studies:
            if deadline.expired():
                ctx.findings.note("prerender: stopped by its time budget")
                break
            event = Event.new(BENCH_TENANT, STUDY_RECEIVED, {"studyInstanceUID": study})
            data, attributes = event.message()
            push = {"message": {"data": base64.b64encode(data).decode(), "attributes": attributes,
                                "messageId": event.id}}
            response = requests.post(f"{ctx.stack.url}/_triggers/prerender", data=json.dumps(push),
                                     headers={"Content-Type": "application/json"},
                                     timeout=max(1.0, deadline.remaining()))
            if response.status_code != 204:
                ctx.findings.note(f"prerender: the push answered {response.status_code}")
        tally.count = kept = _renderings(ctx)
    ct = _renderings(ctx, ctx.ct_study_uid)
    ctx.findings.facts["rendered ahead"] = (
        f"{kept} renderings and thumbnails of the STOW phase's 2 studies before the retrieve phase "
        f"(the CT series: {ct} for {len(ctx.ct_instance_uids)} slices and 1 thumbnail); the rendered-JPEG rows "
        "read them, as the first request for a received study does"
    )
    print(f"  prerender: {kept} renderings kept ({ct} of the CT study)", flush=True)


def _renderings(ctx: BenchContext, study: str = "") -> int:
    """Renderings and thumbnails in the bench tenant's derived objects (of ``study``, or all)."""
    with ctx.stack_services() as svc:
        found = svc.blobs.list(svc.settings.bucket("derived"), f"{BENCH_TENANT}/{study}")
        return sum(1 for info in found if "/rendered/" in info.name or "/thumbnails/" in info.name)
