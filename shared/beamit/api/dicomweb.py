"""``/v1/dicomweb``: STOW-RS, QIDO-RS and WADO-RS (DICOM PS3.18), and deletion.

This module holds the router and the STOW-RS handler; QIDO-RS (:mod:`beamit.api.qido`), WADO-RS
(:mod:`beamit.api.wado`) and deletion (:mod:`beamit.api.deletion`) register their routes on it
when imported (below). Browser
viewers (OHIF, Cornerstone3D) call DICOMweb cross-origin: CORS is enabled for
``BEAMIT_CORS_ORIGINS``.
"""

from __future__ import annotations

from flask import Response

from beamit.audit.event_codes import IMPORT
from beamit.auth.scopes import STUDIES_WRITE
from beamit.lazy import first_use
from beamit.web import RequestContext, Router
from beamit.web.dicomweb import add_warnings, dicom_json_response, dicomweb_root, path_uid

router = Router("dicomweb")


# -- STOW-RS (PS3.18 §10.5) --------------------------------------------------------------------------


@router.route("/v1/dicomweb/studies", methods=["POST"], scope=STUDIES_WRITE, audit=IMPORT)
@router.route("/v1/dicomweb/studies/<study>", methods=["POST"], scope=STUDIES_WRITE, audit=IMPORT)
def store(ctx: RequestContext) -> Response:
    with first_use():  # ingest (pydicom, numpy) loads with the first store, not a search's cold start
        from beamit.dicomweb import stow
        from beamit.ingest.stow import store_instances

    study = path_uid(ctx, "study", "StudyInstanceUID") if "study" in ctx.args else None
    boundary = stow.request_boundary(ctx.request.headers.get("Content-Type"))
    result = store_instances(ctx.services, ctx.tenant, ctx.request.stream, boundary, study=study,
                             content_length=ctx.request.content_length)
    ctx.audit.phi = True
    ctx.audit.resources.studies = result.studies
    ctx.audit.resources.instances = [s.sop_instance_uid for s in result.stored]
    ctx.audit.detail(stored=len(result.stored), failed=len(result.failed))
    body = stow.response_body(result, dicomweb_root(ctx.settings), study)
    response = dicom_json_response(body, status=stow.response_status(result))
    add_warnings(response, ctx.settings, stow.failure_warnings(result))
    return response


# -- QIDO-RS and WADO-RS: handlers in their modules, registered on this router ------------------------

from beamit.api import deletion as _deletion  # noqa: E402,F401  (importing it registers the DELETE routes)
from beamit.api import qido as _qido  # noqa: E402,F401  (importing it registers the QIDO-RS routes)
from beamit.api import wado as _wado  # noqa: E402,F401  (importing it registers the WADO-RS routes)

router.enable_cors()
