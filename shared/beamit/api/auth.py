"""``/v1/auth``: the OAuth 2.0 authorization server, and its metadata.

- ``GET /v1/auth/authorize``: the sign-in and consent page (RFC 6749 §4.1.1)
- ``POST /v1/auth/authorize``: that form; redirects with ``code`` and ``state`` (§4.1.2)
- ``POST /v1/auth/token``: ``authorization_code`` and ``refresh_token`` grants; the body is
  form-encoded (RFC 6749) or the documented JSON object
- ``POST /v1/auth/revoke`` (RFC 7009), ``POST /v1/auth/introspect`` (RFC 7662)
- ``GET /.well-known/oauth-authorization-server`` (RFC 8414)

Errors are RFC 6749's ``{"error", "error_description"}`` (the router's renderer is
:func:`render_oauth_error`); the user and client administration of
:mod:`beamit.api.auth_admin` shares the function and keeps the JSON error object.

Audit: a call is recorded in the trail of the tenant of the client it names (the handler
names the client as the :class:`~beamit.audit.note.AuditActor`). A call by a client that
proved itself (a confidential client's secret, a public client's successful code exchange or
refresh) and a successful sign-in are ordinary records. Any other call naming a client is a
*claimed client* event (:mod:`beamit.auth.oauth.claims`): known values only, rate-limited per
client id and IP; over the budget nothing is recorded and the token endpoints answer 429.
Opening the sign-in page proves nothing and is in the access log only.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

from authlib.oauth2.rfc6749 import OAuth2Error
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from flask import Request, Response

from beamit import logs
from beamit.api import auth_admin
from beamit.audit.event_codes import APPLICATION_ACTIVITY, USER_AUTHENTICATION
from beamit.audit.note import AuditActor
from beamit.auth.oauth import consent
from beamit.auth.oauth.claims import GRANT_TYPES, OAUTH_ERRORS, ClaimBudget, known
from beamit.auth.oauth.clients import OAuthClient, find_client
from beamit.auth.oauth.requests import BeamItOAuth2Request, bare_request, oauth_request
from beamit.auth.oauth.server import authorization_server, server_metadata
from beamit.auth.oauth.tokens import GrantHolder
from beamit.auth.rate_limits import retry_after
from beamit.auth.users import SignInFailed, sign_in
from beamit.clock import utcnow
from beamit.errors import BeamItError, RateLimited
from beamit.tenancy import TenantScope
from beamit.web import RequestContext, Router
from beamit.web.responses import json_response

_ERROR_CODES = {"internal_error": "server_error", "unavailable": "temporarily_unavailable"}


def render_oauth_error(error: BeamItError, request_id: str) -> Response:
    """A :class:`BeamItError` (unknown path, wrong method, internal error) in RFC 6749 §5.2 form."""
    body = {"error": _ERROR_CODES.get(error.code, error.code), "error_description": error.message}
    return json_response(body, status=error.status, headers={**error.headers, "Pragma": "no-cache"})


server = authorization_server()
router = Router("auth", error_renderer=render_oauth_error)


def dispatch(request: Request) -> Response:
    """The ``auth`` function: administration routes, or the authorization server."""
    if request.path.startswith(auth_admin.PREFIXES):
        return auth_admin.router.dispatch(request)
    return router.dispatch(request)


def _base(ctx: RequestContext) -> str:
    return ctx.settings.public_base_url


def _attribute(ctx: RequestContext, client: OAuthClient | None, *, event_code: str | None = None,
               outcome: int | None = None, principal: str | None = None, claimed: bool = False,
               **details: object) -> None:
    """Tie the call to the client's tenant for the audit record (``principal``: the user, when
    known; else the client). Only :func:`_claim` passes ``claimed``."""
    if client is None:
        return
    ctx.audit.actor = AuditActor(client.tenant_id, principal or client.client_id, client.client_id, claimed)
    if event_code is not None:
        ctx.audit.event_code = event_code
    ctx.audit.outcome = outcome
    ctx.audit.detail(**details)


def _claim(ctx: RequestContext, client: OAuthClient | None, *, event_code: str | None = None,
           outcome: int | None = None, principal: str | None = None, **details: object) -> datetime | None:
    """Record a claimed-client call (details: known values only) if the client's and the IP's
    budget admit it: ``None`` then (or when no client is known), else when the next may be."""
    if client is None:
        return None
    until = ClaimBudget(server.store()).admit(client.client_id, ctx.client_ip)
    if until is not None:
        logs.warning("claimed-client call over its audit budget: not recorded", tenantId=client.tenant_id,
                     clientId=client.client_id, route=ctx.route)
        return until
    _attribute(ctx, client, event_code=event_code, outcome=outcome, principal=principal, claimed=True, **details)
    return None


def _slow_down(ctx: RequestContext, until: datetime) -> Response:
    """429 for a claimed-client call over its budget (``slow_down``: RFC 8628 §3.5's code,
    registered for the token endpoint)."""
    seconds = max(1, math.ceil((until - utcnow()).total_seconds()))
    return render_oauth_error(RateLimited("Too many failed calls in this client's name; retry later.",
                                          code="slow_down", headers={"Retry-After": str(seconds)}), ctx.request_id)


def _claimed_client(req: BeamItOAuth2Request) -> OAuthClient | None:
    """The client a failed token-endpoint call named (for its audit record)."""
    client_id, _ = extract_basic_authorization(req.headers)
    return find_client(server.store(), client_id or req.form.get("client_id"))


def _error_code(response: Response) -> str | None:
    if response.status_code < 400 or response.mimetype != "application/json":
        return None
    try:
        return str(json.loads(response.get_data()).get("error"))
    except (ValueError, AttributeError):
        return None


# --- authorization endpoint ----------------------------------------------------------------------


def _authorization_error(ctx: RequestContext, req: BeamItOAuth2Request, error: OAuth2Error) -> Response:
    """Redirect the error to the client when its redirect URI is known to be its own
    (RFC 6749 §4.1.2.1); otherwise tell the user, never redirecting to an unchecked URI."""
    if error.redirect_uri:
        _claim(ctx, find_client(server.store(), req.payload.data.get("client_id")),
               event_code=APPLICATION_ACTIVITY, step="authorize", error=known(error.error, OAUTH_ERRORS))
        response: Response = server.handle_error_response(req, error)
        return response
    return consent.error_page(error.error, error.get_error_description() or "The request is not valid.")


def _page(ctx: RequestContext, req: BeamItOAuth2Request, client: OAuthClient, redirect_uri: str,
          error: str | None = None) -> Response:
    return consent.sign_in_page(
        client_name=client.name,
        scopes=(req.scope or "").split(),
        parameters={k: str(req.payload.data[k]) for k in consent.FORWARDED_PARAMETERS if req.payload.data.get(k)},
        redirect_uri=redirect_uri,
        csrf=consent.csrf_token(ctx.request),
        error=error,
    )


def _authorization_request(ctx: RequestContext) -> BeamItOAuth2Request | Response:
    try:
        return oauth_request(ctx.request, _base(ctx))
    except OAuth2Error as error:
        return consent.error_page(error.error, error.get_error_description() or "The request is not valid.")


@router.route("/v1/auth/authorize", methods=["GET"], public=True, audit=APPLICATION_ACTIVITY)
def authorize_page(ctx: RequestContext) -> Response:
    req = _authorization_request(ctx)
    if isinstance(req, Response):
        return req
    try:
        grant = server.get_consent_grant(req)
    except OAuth2Error as error:
        return _authorization_error(ctx, req, error)
    return _page(ctx, req, grant.client, grant.redirect_uri)


@router.route("/v1/auth/authorize", methods=["POST"], public=True, audit=USER_AUTHENTICATION)
def authorize_submit(ctx: RequestContext) -> Response:
    if ctx.request.mimetype != "application/x-www-form-urlencoded":
        return consent.error_page("invalid_request", "Submit the sign-in form.", 415)
    if not consent.csrf_valid(ctx.request):
        return consent.error_page("invalid_request", "The sign-in form expired or did not come from this browser.",
                                  403)
    req = _authorization_request(ctx)
    if isinstance(req, Response):
        return req
    try:
        grant = server.get_consent_grant(req)
    except OAuth2Error as error:
        return _authorization_error(ctx, req, error)
    client: OAuthClient = grant.client
    decision = req.form.get("decision")
    if decision == "deny":
        _claim(ctx, client, event_code=APPLICATION_ACTIVITY, step="consent", result="denied")
        denied: Response = server.create_authorization_response(req, grant_user=None, grant=grant)
        return denied
    if decision != "approve":
        return consent.error_page("invalid_request", "Choose to allow or deny the request.")
    try:
        user = sign_in(server.store(), TenantScope(client.tenant_id), req.form.get("email", ""),
                       req.form.get("password", ""), ip=ctx.client_ip)
    except SignInFailed as failure:
        _claim(ctx, client, outcome=401, principal=failure.user_id, event="login", result="failure",
               reason=failure.reason)
        page = _page(ctx, req, client, grant.redirect_uri, error=consent.SIGN_IN_FAILED)
        if failure.retry_at is not None:  # throttled, nothing checked: 429 (the router adds the RateLimit fields)
            page.status_code = 429
            page.headers.update(retry_after(failure.retry_at, utcnow()))
        return page
    _attribute(ctx, client, principal=user.id, event="login", result="success", role=user.role)
    holder = GrantHolder(user.id, user.tenant_id, user.scopes)
    response: Response = server.create_authorization_response(req, grant_user=holder, grant=grant)
    return response


# --- token, revocation, introspection --------------------------------------------------------------


def _token_endpoint_call(ctx: RequestContext, event: str, respond: Any) -> Response:
    try:
        req = oauth_request(ctx.request, _base(ctx))
    except OAuth2Error as error:
        bad: Response = server.handle_error_response(bare_request(ctx.request, _base(ctx)), error)
        return bad
    response: Response = respond(req)
    failure = _error_code(response)
    client: OAuthClient | None = req.client
    result, grant_type = known(failure, OAUTH_ERRORS) or "ok", known(req.form.get("grant_type"), GRANT_TYPES)
    # A confidential client proved itself with its secret; a public client only by a
    # successful exchange (PKCE verifier, or a live refresh token).
    if failure == "invalid_client" and response.status_code != 401:
        # One status for a failed client authentication, whichever way the client authenticated:
        # RFC 6749 §5.2 allows 401 always (and requires it for HTTP Basic); Authlib answers 400
        # for an unknown client_id sent in the body.
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Basic realm="beamit", error="invalid_client"'
    if client is not None and (not client.public or (event == "token" and failure is None)):
        holder = req.user if isinstance(req.user, GrantHolder) else None
        _attribute(ctx, client, principal=holder.user_id if holder else None, event=event, result=result,
                   grantType=grant_type)
        return response
    until = _claim(ctx, client or _claimed_client(req), event=event, result=result, grantType=grant_type)
    return response if until is None else _slow_down(ctx, until)


@router.route("/v1/auth/token", methods=["POST"], public=True, audit=USER_AUTHENTICATION)
def token(ctx: RequestContext) -> Response:
    return _token_endpoint_call(ctx, "token", server.create_token_response)


@router.route("/v1/auth/revoke", methods=["POST"], public=True, audit=USER_AUTHENTICATION)
def revoke(ctx: RequestContext) -> Response:
    return _token_endpoint_call(ctx, "revocation", lambda req: server.create_endpoint_response("revocation", req))


@router.route("/v1/auth/introspect", methods=["POST"], public=True, audit=APPLICATION_ACTIVITY)
def introspect(ctx: RequestContext) -> Response:
    return _token_endpoint_call(ctx, "introspection",
                                lambda req: server.create_endpoint_response("introspection", req))


@router.route("/.well-known/oauth-authorization-server", methods=["GET"], public=True)
def metadata(ctx: RequestContext) -> Response:
    return json_response(server_metadata(_base(ctx)), headers={"Cache-Control": "public, max-age=3600"})
