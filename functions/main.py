"""Cloud Function entry points (gen2, Python 3.11).

One source archive, one entry point per function; ``shared/beamit/platform.json``
names each function's entry point, trigger and routes, and Terraform deploys them from
the same table. Each entry point only hands the request to the domain package.

Every function loads this module, so each entry point imports its own API module when it
is first called (Python keeps it afterwards): a function's cold start pays for what it
uses (the platform function does not load pydicom, the DICOMweb function not Authlib).
Those imports run under :func:`beamit.lazy.first_use`, as every deferred import does.
"""

from __future__ import annotations

import functions_framework
from cloudevents.http import CloudEvent
from flask import Request, Response

from beamit.lazy import first_use


@functions_framework.errorhandler(404)
def unroutable(error: Exception) -> Response:
    """A path functions-framework routes to no function (a line break in it): the API's error object."""
    with first_use():
        from beamit.web.responses import unroutable_path_error

    return unroutable_path_error(error)


@functions_framework.http
def platform(request: Request) -> Response:
    """``/v1/health``, ``/v1/openapi.*``, ``/v1/conformance``."""
    with first_use():
        from beamit.api import platform as platform_api

    return platform_api.router.dispatch(request)


@functions_framework.http
def api_keys(request: Request) -> Response:
    """``/v1/api-keys``."""
    with first_use():
        from beamit.api import api_keys as api_keys_api

    return api_keys_api.router.dispatch(request)


@functions_framework.http
def auth(request: Request) -> Response:
    """``/v1/auth``: OAuth 2.0 authorization server, users and clients; RFC 8414 metadata."""
    with first_use():
        from beamit.api import auth as auth_api

    return auth_api.dispatch(request)


@functions_framework.http
def audit(request: Request) -> Response:
    """``/v1/audit``: the audit trail, its FHIR export and its chain check."""
    with first_use():
        from beamit.api import audit as audit_api

    return audit_api.router.dispatch(request)


@functions_framework.http
def dicomweb(request: Request) -> Response:
    """``/v1/dicomweb``: STOW-RS, QIDO-RS, WADO-RS."""
    with first_use():
        from beamit.api import dicomweb as dicomweb_api

    return dicomweb_api.router.dispatch(request)


@functions_framework.http
def uploads(request: Request) -> Response:
    """``/v1/uploads``: resumable uploads into the inbox bucket, and their ingest jobs."""
    with first_use():
        from beamit.api import uploads as uploads_api

    return uploads_api.router.dispatch(request)


@functions_framework.cloud_event
def ingest(event: CloudEvent) -> None:
    """``google.cloud.storage.object.v1.finalized`` in the inbox bucket: ingest the upload."""
    with first_use():
        from beamit.ingest.bucket_upload import ingest_finalized
        from beamit.storage import services

    ingest_finalized(services(), event.data, event_id=event["id"])


@functions_framework.http
def webhooks(request: Request) -> Response:
    """``/v1/webhooks``: webhook endpoints, secrets, delivery logs, redelivery."""
    with first_use():
        from beamit.api import webhooks as webhooks_api

    return webhooks_api.router.dispatch(request)


@functions_framework.http
def webhook_delivery(request: Request) -> Response:
    """Pub/Sub push of the events topic: fan each event out to the tenant's webhook endpoints."""
    with first_use():
        from beamit.api import webhook_delivery as webhook_delivery_api

    return webhook_delivery_api.delivery_router.dispatch(request)


@functions_framework.http
def prerender(request: Request) -> Response:
    """Pub/Sub push of the events topic (``study.received``): render a study's first images ahead."""
    with first_use():
        from beamit.api import prerender as prerender_api

    return prerender_api.router.dispatch(request)


@functions_framework.http
def webhook_retry(request: Request) -> Response:
    """Cloud Scheduler, every minute: attempt the webhook deliveries whose retry is due."""
    with first_use():
        from beamit.api import webhook_delivery as webhook_delivery_api

    return webhook_delivery_api.retry_router.dispatch(request)


@functions_framework.http
def event_sweep(request: Request) -> Response:
    """Cloud Scheduler, every minute: publish the outbox's leftovers, announce settled studies."""
    with first_use():
        from beamit.api import event_sweep as event_sweep_api

    return event_sweep_api.router.dispatch(request)


@functions_framework.http
def shares(request: Request) -> Response:
    """``/v1/shares``: patient share links (create, list, get, revoke, extend)."""
    with first_use():
        from beamit.api import shares as shares_api

    return shares_api.router.dispatch(request)


@functions_framework.http
def viewer(request: Request) -> Response:
    """``/s``: the patient viewer page, its verification, session and share-scoped WADO-RS reads."""
    with first_use():
        from beamit.api import viewer as viewer_api

    return viewer_api.router.dispatch(request)


@functions_framework.http
def share_expiry(request: Request) -> Response:
    """Cloud Scheduler, every 5 minutes: expire due shares and publish ``share.expired``."""
    with first_use():
        from beamit.api import shares as shares_api

    return shares_api.expiry_router.dispatch(request)


@functions_framework.http
def consistency_sweep(request: Request) -> Response:
    """Cloud Scheduler, hourly: remove the objects abandoned requests left behind."""
    with first_use():
        from beamit.api import consistency as consistency_api

    return consistency_api.sweep_router.dispatch(request)


@functions_framework.http
def sandbox(request: Request) -> Response:
    """``/v1/sandbox``: seed synthetic studies, reset a tenant's data (local and sandbox only)."""
    with first_use():
        from beamit.api import sandbox as sandbox_api

    return sandbox_api.router.dispatch(request)


@functions_framework.http
def dashboard(request: Request) -> Response:
    """``/dashboard``: the integration dashboard's page, its static files and workspace lookup."""
    with first_use():
        from beamit.api import dashboard as dashboard_api

    return dashboard_api.router.dispatch(request)
