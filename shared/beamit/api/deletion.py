"""``DELETE`` of a study, series or instance, registered on the ``/v1/dicomweb`` router.

Not a PS3.18 transaction (the standard defines none for stored studies; dicomweb-client's
``delete_study``/``delete_series``/``delete_instance`` and the major cloud archives use these
paths): scope ``studies:delete`` (the admin role only), answered **204 No Content** once nothing
of the resource is left in the caller's tenant, also when nothing was there (a repeat, a retry
after a timeout), so a retry is always safe. Audited as PS3.15 110105 DICOM Study Deleted.
"""

from __future__ import annotations

from flask import Response

from beamit.api.dicomweb import router
from beamit.audit.event_codes import STUDY_DELETED
from beamit.auth.scopes import STUDIES_DELETE
from beamit.lazy import first_use
from beamit.web import RequestContext
from beamit.web.dicomweb import path_ref

STUDY = "/v1/dicomweb/studies/<study>"
SERIES = f"{STUDY}/series/<series>"
INSTANCE = f"{SERIES}/instances/<instance>"


@router.route(STUDY, methods=["DELETE"], scope=STUDIES_DELETE, audit=STUDY_DELETED)
@router.route(SERIES, methods=["DELETE"], scope=STUDIES_DELETE, audit=STUDY_DELETED)
@router.route(INSTANCE, methods=["DELETE"], scope=STUDIES_DELETE, audit=STUDY_DELETED)
def delete(ctx: RequestContext) -> Response:
    with first_use():  # ingest's modules: not loaded by a search's cold start
        from beamit.deletion import delete_resource

    ref = path_ref(ctx)
    result = delete_resource(ctx.services, ctx.tenant, ref)
    ctx.audit.phi = True
    ctx.audit.resources.studies = [ref.study]
    ctx.audit.resources.series = [ref.series] if ref.series else None
    ctx.audit.resources.instances = [ref.instance] if ref.instance else None
    ctx.audit.detail(action="study.deleted" if result.study_deleted else f"{ref.level}.deleted",
                     instancesDeleted=result.removal.instances, seriesDeleted=len(result.removal.series),
                     objectsDeleted=result.objects, sharesRevoked=result.shares_revoked or None)
    return Response(status=204)
