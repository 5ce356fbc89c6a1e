"""Routing inside one Cloud Function, with authentication, scopes, errors and logs.

A function's entry point is ``return router.dispatch(request)``. Each route declares
the scope it needs (or ``public=True``); the router authenticates the caller, checks the
scope, hands the handler a :class:`RequestContext` whose ``tenant`` is the caller's,
maps :class:`~beamit.errors.BeamItError` to the function's error form, and writes one
structured access log line (route template, never the query string: QIDO filters are PHI).
Every call whose tenant is known is audited before its response leaves, refused ones
included (a 403 ``insufficient_scope``, a revoked credential's 401); a PHI read whose audit
record cannot be written fails closed with 503 (:meth:`Router._audit`).
The rate limits a request met (:mod:`beamit.auth.rate_limits`) go onto its response as the
``RateLimit-Policy`` and ``RateLimit`` fields, whatever its status; an API key's calls spend
its request budget (:mod:`beamit.auth.key_budget`) before anything else is done.
Every response, errors and CORS preflights included, carries :data:`SECURITY_HEADERS`.
A router that browsers call opts in to CORS with :meth:`Router.enable_cors`
(see :mod:`beamit.web.cors`); the others send no CORS headers at all.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from flask import Request, Response
from werkzeug.exceptions import MethodNotAllowed as WzMethodNotAllowed
from werkzeug.exceptions import NotFound as WzNotFound
from werkzeug.routing import Map, Rule

from beamit import logs
from beamit.audit.calls import Call, audit_call
from beamit.audit.event_codes import APPLICATION_ACTIVITY
from beamit.audit.note import AuditActor, AuditNote
from beamit.auth import rate_limits
from beamit.auth.credentials import authenticate, likely_principal
from beamit.auth.key_budget import key_budget
from beamit.auth.principal import Principal, RejectedCredential
from beamit.errors import BeamItError, Forbidden, MethodNotAllowed, NotFound, Unavailable
from beamit.ids import new_id
from beamit.settings import get_settings
from beamit.storage import Services, services
from beamit.storage.trace import carried
from beamit.web import cors
from beamit.web.context import RequestContext
from beamit.web.responses import ErrorRenderer, render_json_error

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

PHI_READ_METHODS = ("GET", "HEAD")
"""A call with these methods that read PHI (``ctx.audit.phi``) is answered only once its audit
record is written (fail closed); a PHI write is answered either way: it is committed, and its
record is in Cloud Logging when the trail refused it."""

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    # RFC 6797: browsers keep to HTTPS for a year (HTTP on the load balancer only redirects).
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
}

Handler = Callable[["RequestContext"], Response]
Authenticator = Callable[[Services, Request], Principal]


def default_authenticator(svc: Services, request: Request) -> Principal:
    return authenticate(svc.metadata, request.headers)


_CREDENTIAL_CHECKS = ThreadPoolExecutor(max_workers=16, thread_name_prefix="credential-check")
"""Credential checks of reads that run beside their handler (:meth:`Router._read_while_checking`)."""
_READS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True)
class RouteSpec:
    handler: Handler
    scope: str | None
    public: bool
    audit_event: str


class Router:
    def __init__(
        self,
        name: str,
        *,
        error_renderer: ErrorRenderer = render_json_error,
        authenticator: Authenticator = default_authenticator,
        default_headers: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self._map = Map(strict_slashes=False, merge_slashes=False)
        self._routes: dict[str, RouteSpec] = {}
        self._render_error = error_renderer
        self._authenticate = authenticator
        self._default_headers = {**SECURITY_HEADERS, **(default_headers or {})}
        self.cors: cors.CorsPolicy | None = None

    def enable_cors(self, policy: cors.CorsPolicy | None = None) -> None:
        """Answer CORS preflights (unauthenticated) and add CORS headers to every response;
        allowed origins are ``settings.cors_allowed_origins`` (``BEAMIT_CORS_ORIGINS``)."""
        self.cors = policy or cors.CorsPolicy()

    def route(
        self,
        rule: str,
        *,
        methods: Iterable[str],
        scope: str | None = None,
        public: bool = False,
        audit: str = APPLICATION_ACTIVITY,
    ) -> Callable[[Handler], Handler]:
        """Declare a route; exactly one of ``scope`` and ``public`` must be given. ``audit``:
        the DICOM audit event code (PS3.15 §A.5, :mod:`beamit.audit.event_codes`) of its calls."""
        if (scope is None) == (not public):
            raise ValueError(f"{rule}: declare either a scope or public=True")

        def register(handler: Handler) -> Handler:
            endpoint = f"{handler.__name__}:{rule}:{','.join(methods)}"
            self._map.add(Rule(rule, endpoint=endpoint, methods=list(methods)))
            self._routes[endpoint] = RouteSpec(handler, scope, public, audit)
            return handler

        return register

    def rules(self) -> list[tuple[str, tuple[str, ...], str | None]]:
        """(rule, methods, scope) of every route: for docs and the drift tests."""
        out = []
        for rule in self._map.iter_rules():
            spec = self._routes[rule.endpoint]
            methods = tuple(sorted(m for m in (rule.methods or ()) if m not in ("HEAD", "OPTIONS")))
            out.append((rule.rule, methods, spec.scope))
        return out

    def dispatch(self, request: Request) -> Response:
        started = time.monotonic()
        incoming = request.headers.get("X-Request-Id", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else new_id("req")
        token = logs.request_id_var.set(request_id)
        limits = rate_limits.begin_request()
        ctx: RequestContext | None = None
        route = "-"
        if self.cors is not None and cors.is_preflight(request):
            try:
                return self._preflight(request, request_id, started)
            finally:
                rate_limits.end_request(limits)
                logs.request_id_var.reset(token)
        try:
            svc = services()
            try:
                endpoint, args = self._map.bind_to_environ(request.environ).match(request.path, method=request.method)
            except WzNotFound:
                raise NotFound("no such resource") from None
            except WzMethodNotAllowed as exc:
                allowed = ", ".join(sorted(exc.valid_methods or ()))
                raise MethodNotAllowed(f"{request.method} is not allowed here", headers={"Allow": allowed}) from None
            spec = self._routes[endpoint]
            route = endpoint.split(":", 2)[1]
            guess = self._likely_principal(spec, request)
            if guess is not None:  # a read by an API key this process resolved before
                self._spend_budget(svc, guess)  # the same key's budget: 429 when spent
                checking = _CREDENTIAL_CHECKS.submit(carried(self._authenticate), svc, request)
                ctx = RequestContext(request, request_id, route, dict(args), guess, svc,
                                     AuditNote(event_code=spec.audit_event))
                try:
                    ctx, response = self._answer_when_confirmed(spec, ctx, checking)
                except BaseException:
                    if checking.exception() is not None:  # refused: audited as without the guess
                        ctx = None
                    raise
            else:
                principal = None if spec.public else self._authenticate(svc, request)
                if principal is not None:
                    self._spend_budget(svc, principal)
                # The context exists from here on, so a refused call is audited like any other.
                ctx = RequestContext(request, request_id, route, dict(args), principal, svc,
                                     AuditNote(event_code=spec.audit_event))
                if spec.scope is not None and principal is not None and not principal.has_scope(spec.scope):
                    ctx.audit.detail(refused="insufficient_scope", requiredScope=spec.scope)
                    raise Forbidden(f"this request needs the '{spec.scope}' scope")
                response = spec.handler(ctx)
        except BeamItError as error:
            response = self._render_error(error, request_id)
            if isinstance(error, RejectedCredential) and ctx is None:  # a revoked/expired credential: audited
                rejected = error.principal
                note = AuditNote(actor=AuditActor(rejected.tenant_id, rejected.subject or rejected.credential_id,
                                                  rejected.credential_id),
                                 details={"authentication": "rejected"})
                ctx = RequestContext(request, request_id, route, {}, None, svc, note)
        except Exception as exc:
            logs.error("unhandled error", function=self.name, route=route, error=type(exc).__name__)
            response = self._render_error(BeamItError("internal error"), request_id)
        finally:
            logs.request_id_var.reset(token)
            response_limits = rate_limits.end_request(limits)
        if ctx is not None:
            response = self._audit(ctx, response)
        response.headers.update(rate_limits.fields(response_limits))
        for name, value in self._default_headers.items():
            response.headers.setdefault(name, value)
        response.headers["X-Request-Id"] = request_id
        if self.cors is not None:
            cors.decorate(self.cors, request, response, get_settings().cors_allowed_origins)
        self._log_access(request, route, response, started, ctx, request_id)
        return response

    def _audit(self, ctx: RequestContext, response: Response) -> Response:
        """Append the call's record before the response leaves. A PHI read whose record could
        not be written fails closed: its body is dropped unread (a streamed body is never
        started) and the caller gets 503; the record is in Cloud Logging either way."""
        request = ctx.request
        call = Call(request.method, ctx.route, response.status_code, ctx.request_id, ctx.client_ip,
                    request.user_agent.string)
        token = logs.request_id_var.set(ctx.request_id)
        try:
            if audit_call(ctx.services, ctx.audit_actor, ctx.audit, call):
                return response
            if not (ctx.audit.phi and request.method in PHI_READ_METHODS and response.status_code < 400):
                return response  # a write is committed (retrying it is idempotent); metadata calls go on
            response.close()
            logs.error("PHI read refused: its audit record was not written", function=self.name, route=ctx.route)
            return self._render_error(Unavailable("the audit trail is unavailable; nothing was returned, retry later",
                                                  code="audit_unavailable", headers={"Retry-After": "5"}),
                                      ctx.request_id)
        finally:
            logs.request_id_var.reset(token)

    @staticmethod
    def _spend_budget(svc: Services, principal: Principal) -> None:
        """An API key's calls spend its request budget (429 when spent) before anything else is
        done; a refusal is not audited: a write per refused call would let a flood cost what the
        budget is there to bound."""
        if principal.kind == "api_key":
            key_budget(svc.metadata, svc.settings.api_key_requests_per_minute).spend(
                principal.tenant_id, principal.credential_id)

    def _likely_principal(self, spec: RouteSpec, request: Request) -> Principal | None:
        """For a read with an API key this process has resolved before, that key's principal (if
        it has the route's scope): the read then starts while the key is checked."""
        if spec.public or request.method not in _READS or self._authenticate is not default_authenticator:
            return None
        guess = likely_principal(request.headers)
        if guess is None or (spec.scope is not None and not guess.has_scope(spec.scope)):
            return None
        return guess

    def _answer_when_confirmed(self, spec: RouteSpec, ctx: RequestContext, checking: Future[Principal]
                               ) -> tuple[RequestContext, Response]:
        """Run a read's handler with the key's remembered principal (``ctx``) while ``checking``
        checks the key (one round trip instead of two in a row). Nothing the handler made is
        answered unless the check confirms that principal: a failed check raises its own error
        (a revoked key: 401), and a different principal runs the handler again with the
        confirmed one."""
        guess = ctx.principal
        try:
            response = spec.handler(ctx)
        except BaseException:
            confirmed = checking.result()  # the credential's error comes first
            if confirmed == guess:
                raise
            response = None
        else:
            confirmed = checking.result()
        if confirmed == guess and response is not None:
            return ctx, response
        if response is not None:
            response.close()
        # Another principal than remembered (the key changed): the call is its, from the start.
        ctx.principal, ctx.audit = confirmed, AuditNote(event_code=spec.audit_event)
        if spec.scope is not None and not confirmed.has_scope(spec.scope):
            ctx.audit.detail(refused="insufficient_scope", requiredScope=spec.scope)
            raise Forbidden(f"this request needs the '{spec.scope}' scope")
        return ctx, spec.handler(ctx)

    def _preflight(self, request: Request, request_id: str, started: float) -> Response:
        """A CORS preflight: no credential needed; 204 for an allowed origin and an existing
        route and method, else the error the real request would get (or 403 for the origin)."""
        assert self.cors is not None
        route = "-"
        try:
            adapter = self._map.bind_to_environ(request.environ)
            wanted = request.headers["Access-Control-Request-Method"].strip().upper()
            try:
                endpoint, _ = adapter.match(request.path, method=wanted)
            except WzNotFound:
                raise NotFound("no such resource") from None
            except WzMethodNotAllowed as exc:
                allowed = ", ".join(sorted(exc.valid_methods or ()))
                raise MethodNotAllowed(f"{wanted} is not allowed here", headers={"Allow": allowed}) from None
            route = endpoint.split(":", 2)[1]
            origin = request.headers["Origin"]
            if not cors.origin_allowed(origin, get_settings().cors_allowed_origins):
                raise Forbidden(
                    "this origin may not call the API from a browser (BEAMIT_CORS_ORIGINS)", code="origin_not_allowed"
                )
            methods = [m for m in adapter.allowed_methods(request.path) if m != "OPTIONS"]
            response = Response(status=204, headers=cors.preflight_headers(self.cors, origin, methods))
        except BeamItError as error:
            response = self._render_error(error, request_id)
        response.vary.add("Origin")
        response.headers.setdefault("Cross-Origin-Resource-Policy", self.cors.resource_policy)
        for name, value in self._default_headers.items():
            response.headers.setdefault(name, value)
        response.headers["X-Request-Id"] = request_id
        self._log_access(request, route, response, started, None, request_id)
        return response

    def _log_access(
        self,
        request: Request,
        route: str,
        response: Response,
        started: float,
        ctx: RequestContext | None,
        request_id: str,
    ) -> None:
        principal = ctx.principal if ctx else None
        token = logs.request_id_var.set(request_id)
        try:
            logs.info(
                f"{request.method} {route} {response.status_code}",
                function=self.name,
                httpRequest={
                    "requestMethod": request.method,
                    "requestUrl": route,
                    "status": response.status_code,
                    "latency": f"{time.monotonic() - started:.4f}s",
                    "userAgent": (request.user_agent.string or "")[:200],
                },
                tenantId=principal.tenant_id if principal else None,
                credentialId=principal.credential_id if principal else None,
            )
        finally:
            logs.request_id_var.reset(token)
