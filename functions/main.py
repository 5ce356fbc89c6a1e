"""Cloud Function entry points (gen2, Python 3.11).

One source archive, one entry point per function; ``shared/beamit/platform.json``
names each function's entry point, trigger and routes, and Terraform deploys them from
the same table. Each entry point only hands the request to the domain package.
"""

from __future__ import annotations

import functions_framework
from cloudevents.http import CloudEvent
from flask import Request, Response

from beamit.api import api_keys as api_keys_api
from beamit.api import audit as audit_api
from beamit.api import auth as auth_api
from beamit.api import dicomweb as dicomweb_api
from beamit.api import platform as platform_api
from beamit.api import shares as shares_api
from beamit.api import uploads as uploads_api
from beamit.api import viewer as viewer_api
from beamit.api import webhook_delivery as webhook_delivery_api
from beamit.api import webhooks as webhooks_api
from beamit.ingest.bucket_upload import ingest_finalized
from beamit.storage import services


@functions_framework.http
def platform(request: Request) -> Response:
    """``/v1/health``, ``/v1/openapi.*``."""
    return platform_api.router.dispatch(request)


@functions_framework.http
def api_keys(request: Request) -> Response:
    """``/v1/api-keys``."""
    return api_keys_api.router.dispatch(request)


@functions_framework.http
def auth(request: Request) -> Response:
    """``/v1/auth``: OAuth 2.0 authorization server, users and clients; RFC 8414 metadata."""
    return auth_api.dispatch(request)


@functions_framework.http
def audit(request: Request) -> Response:
    """``/v1/audit``: the audit trail, its FHIR export and its chain check."""
    return audit_api.router.dispatch(request)


@functions_framework.http
def dicomweb(request: Request) -> Response:
    """``/v1/dicomweb``: STOW-RS, QIDO-RS, WADO-RS."""
    return dicomweb_api.router.dispatch(request)


@functions_framework.http
def uploads(request: Request) -> Response:
    """``/v1/uploads``: resumable uploads into the inbox bucket, and their ingest jobs."""
    return uploads_api.router.dispatch(request)


@functions_framework.cloud_event
def ingest(event: CloudEvent) -> None:
    """``google.cloud.storage.object.v1.finalized`` in the inbox bucket: ingest the upload."""
    ingest_finalized(services(), event.data, event_id=event["id"])


@functions_framework.http
def webhooks(request: Request) -> Response:
    """``/v1/webhooks``: webhook endpoints, secrets, delivery logs, redelivery."""
    return webhooks_api.router.dispatch(request)


@functions_framework.http
def webhook_delivery(request: Request) -> Response:
    """Pub/Sub push of the events topic: fan each event out to the tenant's webhook endpoints."""
    return webhook_delivery_api.delivery_router.dispatch(request)


@functions_framework.http
def webhook_retry(request: Request) -> Response:
    """Cloud Scheduler, every minute: attempt the webhook deliveries whose retry is due."""
    return webhook_delivery_api.retry_router.dispatch(request)


@functions_framework.http
def shares(request: Request) -> Response:
    """``/v1/shares``: patient share links (create, list, get, revoke, extend)."""
    return shares_api.router.dispatch(request)


@functions_framework.http
def viewer(request: Request) -> Response:
    """``/s``: the patient viewer page, its verification, session and share-scoped WADO-RS reads."""
    return viewer_api.router.dispatch(request)


@functions_framework.http
def share_expiry(request: Request) -> Response:
    """Cloud Scheduler, every 5 minutes: expire due shares and publish ``share.expired``."""
    return shares_api.expiry_router.dispatch(request)
