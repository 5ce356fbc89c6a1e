"""QIDO-RS (PS3.18 §10.6): the search resources of ``/v1/dicomweb``, on the DICOMweb router.

Parameters -> :func:`~beamit.dicomweb.qido.query.parse_search` -> the catalog's search
(:mod:`beamit.catalog.search`) -> DICOM JSON.  Responses:

* 200 with a JSON array of results (``application/dicom+json``, or ``application/json`` when
  only that is acceptable); 406 for any other ``Accept``.
* 204 (No Content, no payload) when the page is empty: PS3.18 §8.3.4.4.1 "If (results <= 0)
  ... a 204 (No Content) response shall be returned" (CP-2473 would make it 200 with an empty
  payload; dicomweb-client and OHIF read both as no results).
* ``Warning: 299 <host> "<text>"`` (RFC 7234 §5.5) for each warning of the query (a clamped
  ``limit``, an unsupported matching flag), when more matches exist after the page
  (§8.3.4.4.1; BeamIt does not count them, so the text carries no number), and when the scan
  cap stopped a too broad search.
* 400 with the :class:`~beamit.dicomweb.qido.errors.QueryError` message for a bad parameter.

Each search is audited as a PHI query (PS3.15 §A.5 Query, 110112) with the *names* of the
matching parameters, never their values.
"""

from __future__ import annotations

from flask import Response

from beamit.api.dicomweb import router
from beamit.audit.event_codes import QUERY
from beamit.auth.scopes import STUDIES_READ
from beamit.catalog.search import SCAN_CAP
from beamit.dicomweb.media_types import metadata_offers
from beamit.dicomweb.qido import SearchLevel, parse_search
from beamit.web import RequestContext
from beamit.web.dicomweb import add_warnings, dicom_json_response, dicomweb_root, negotiate_accept

STUDIES = "/v1/dicomweb/studies"

MORE_RESULTS = "There are additional results that can be requested"
TOO_BROAD = (
    f"The query is too broad: the search stopped after examining {SCAN_CAP} candidates, so "
    "results may be missing. Add a more selective matching key (PatientID, AccessionNumber, "
    "PatientName, StudyDate)."
)
_NOT_FILTERS = frozenset(
    {"limit", "offset", "fuzzymatching", "includefield", "accept", "charset", "emptyvaluematching",
     "multiplevaluematching"}
)


@router.route(STUDIES, methods=["GET"], scope=STUDIES_READ, audit=QUERY)
def search_for_studies(ctx: RequestContext) -> Response:
    return _search(ctx, SearchLevel.STUDY)


@router.route("/v1/dicomweb/series", methods=["GET"], scope=STUDIES_READ, audit=QUERY)
def search_for_series(ctx: RequestContext) -> Response:
    return _search(ctx, SearchLevel.SERIES)


@router.route("/v1/dicomweb/instances", methods=["GET"], scope=STUDIES_READ, audit=QUERY)
def search_for_instances(ctx: RequestContext) -> Response:
    return _search(ctx, SearchLevel.INSTANCE)


@router.route(f"{STUDIES}/<study>/series", methods=["GET"], scope=STUDIES_READ, audit=QUERY)
def search_for_study_series(ctx: RequestContext) -> Response:
    return _search(ctx, SearchLevel.SERIES)


@router.route(f"{STUDIES}/<study>/instances", methods=["GET"], scope=STUDIES_READ, audit=QUERY)
def search_for_study_instances(ctx: RequestContext) -> Response:
    return _search(ctx, SearchLevel.INSTANCE)


@router.route(f"{STUDIES}/<study>/series/<series>/instances", methods=["GET"], scope=STUDIES_READ, audit=QUERY)
def search_for_series_instances(ctx: RequestContext) -> Response:
    return _search(ctx, SearchLevel.INSTANCE)


def _search(ctx: RequestContext, level: SearchLevel) -> Response:
    representation = negotiate_accept(ctx, metadata_offers())
    args = ctx.request.args
    query = parse_search(level, args, study_uid=ctx.args.get("study"), series_uid=ctx.args.get("series"))
    outcome = ctx.catalog.search(query, dicomweb_root(ctx.settings))
    ctx.audit.phi = True
    ctx.audit.resources.studies = outcome.studies
    ctx.audit.detail(
        level=level.value,
        filters=sorted({name for name in args if name not in _NOT_FILTERS and not name.startswith("_")}),
        results=len(outcome.results),
    )
    if outcome.results:
        response = dicom_json_response(outcome.results, media_type=representation.media_type)
    else:
        response = Response(status=204)
        del response.headers["Content-Type"]
    warnings = list(query.warnings)
    if outcome.more:
        warnings.append(MORE_RESULTS)
    if outcome.truncated:
        warnings.append(TOO_BROAD)
    add_warnings(response, ctx.settings, warnings)
    response.vary.add("Accept")
    return response
