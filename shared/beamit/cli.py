"""The ``beamit`` command: local stack, tenants, API keys, sandbox data.

beamit dev [--port 8080]
beamit tenants create --id acme --name "Acme Health"
beamit tenants rate-limit --id acme --requests 1200 --window-seconds 60
beamit keys create --tenant acme --scopes studies:read,studies:write [--name NAME]
beamit keys revoke --tenant acme --id key_...
beamit users create --tenant acme --email ana@acme.example --role clinician   (password: stdin or prompt)
beamit users disable|enable --tenant acme --id usr_...
beamit users grants --tenant acme --id usr_...                 (list the user's grants)
beamit users revoke-grants --tenant acme --id usr_... [--grant grt_...]
beamit clients create --tenant acme --name "Acme EHR" --redirect-uri https://ehr.acme.example/cb [--public]
beamit clients revoke --tenant acme --id cli_...
beamit dashboard register --tenant acme [--url https://api.beamit.health]
beamit check [--tenant acme] [--grace-seconds 7200] [--json]   (exit 1 if an invariant fails)
beamit sweep [--tenant acme] [--grace-seconds 7200]            (remove leftovers of abandoned requests)

Changes of access made here are recorded in the tenant's audit trail (principal ``cli``,
DICOM 110113 Security Alert), like the same calls through the API.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import sys
from collections.abc import Sequence
from pathlib import Path


def _cmd_dev(args: argparse.Namespace) -> int:
    from beamit.devstack.dev import run, seed_stack

    seed = None if args.no_seed else seed_stack
    return run(args.port, seed=seed, state_dir=args.state_dir)


def _cmd_tenants_create(args: argparse.Namespace) -> int:
    from beamit.storage import services
    from beamit.tenancy import TenantExists, create_tenant

    try:
        tenant = create_tenant(services().metadata, args.id, args.name)
    except TenantExists:
        print(f"tenant {args.id!r} already exists", file=sys.stderr)
        return 1
    print(json.dumps({"id": tenant.id, "name": tenant.name}))
    return 0


def _cmd_tenants_rate_limit(args: argparse.Namespace) -> int:
    from beamit.storage import services
    from beamit.tenancy import ApiKeyRateLimit, get_tenant, set_api_key_rate_limit

    store = services().metadata
    try:
        limit = None if args.default else ApiKeyRateLimit(args.requests, args.window_seconds)
        set_api_key_rate_limit(store, args.id, limit)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    tenant = get_tenant(store, args.id)
    assert tenant is not None
    budget = tenant.api_key_rate_limit
    print(json.dumps({"id": tenant.id, "apiKeyRateLimit": None if budget is None else {
        "requests": budget.requests, "windowSeconds": budget.window_seconds}}))
    return 0


def _cmd_keys_create(args: argparse.Namespace) -> int:
    from beamit.auth.api_keys import create_key
    from beamit.auth.scopes import UnknownScope
    from beamit.storage import services
    from beamit.tenancy import TenantScope, get_tenant

    svc = services()
    if get_tenant(svc.metadata, args.tenant) is None:
        print(f"no tenant {args.tenant!r}: create it with 'beamit tenants create'", file=sys.stderr)
        return 1
    try:
        issued = create_key(
            svc.metadata,
            env_prefix=svc.settings.api_key_prefix,
            tenant=TenantScope(args.tenant),
            name=args.name,
            scopes=args.scopes,
            created_by="cli",
        )
    except (UnknownScope, ValueError) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(json.dumps({**issued.key.to_json(), "key": issued.token}))
    print("Store the key now: it is shown only once.", file=sys.stderr)
    return 0


def _cmd_keys_revoke(args: argparse.Namespace) -> int:
    from beamit.auth.api_keys import revoke_key
    from beamit.errors import NotFound
    from beamit.storage import services
    from beamit.tenancy import TenantScope

    try:
        key = revoke_key(services().metadata, TenantScope(args.tenant), args.id)
    except NotFound:
        print(f"no API key {args.id!r} in tenant {args.tenant!r}", file=sys.stderr)
        return 1
    print(json.dumps(key.to_json()))
    return 0


def _cmd_sandbox_seed(args: argparse.Namespace) -> int:
    from beamit.sandbox.config import SandboxConfig
    from beamit.sandbox.load import seed_sandbox

    url = args.url or _sandbox_env().get("BEAMIT_URL")
    key = args.key or _sandbox_env().get("BEAMIT_API_KEY")
    if not url or not key:
        print(
            "no BeamIt to seed: pass --url and --key, or run 'make dev' (it writes .beamit/sandbox.env)",
            file=sys.stderr,
        )
        return 1
    report = seed_sandbox(url, key, seed=args.seed, count=args.count, config=SandboxConfig(scale=args.scale))
    print(json.dumps(report.__dict__))
    return 0 if report.failed_requests == 0 else 1


def _sandbox_env() -> dict[str, str]:
    import os

    from beamit.devstack.emulators import REPO_ROOT

    values = {k: v for k, v in os.environ.items() if k in ("BEAMIT_URL", "BEAMIT_API_KEY")}
    env_file = REPO_ROOT / ".beamit" / "sandbox.env"
    if env_file.exists():
        for line in env_file.read_text().splitlines():
            name, _, value = line.partition("=")
            values.setdefault(name, value)
    return values


def _read_password() -> str:
    """The new user's password: the first line of stdin when it is piped, else prompted twice."""
    import getpass

    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != first:
        raise ValueError("the passwords do not match")
    return first


def _cmd_users_create(args: argparse.Namespace) -> int:
    from beamit.auth.passwords import WeakPassword
    from beamit.auth.roles import UnknownRole
    from beamit.auth.users import InvalidEmail, create_user
    from beamit.errors import Conflict
    from beamit.storage import services
    from beamit.tenancy import TenantScope, get_tenant

    svc = services()
    if get_tenant(svc.metadata, args.tenant) is None:
        print(f"no tenant {args.tenant!r}: create it with 'beamit tenants create'", file=sys.stderr)
        return 1
    try:
        password = _read_password()
        user = create_user(svc.metadata, TenantScope(args.tenant), email=args.email, role=args.role,
                           password=password, created_by="cli")
    except (InvalidEmail, UnknownRole, WeakPassword, ValueError) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except Conflict as exc:
        print(exc.message, file=sys.stderr)
        return 1
    print(json.dumps(user.to_json()))
    return 0


def _audit_cli(tenant_id: str, action: str, **resources: str) -> int:
    """Record an access change made with the CLI in the tenant's trail; the exit status (3
    when the trail refused the record: the change is made, the record is in Cloud Logging)."""
    from beamit.audit.event_codes import SECURITY_ALERT
    from beamit.audit.trail import AuditEntry, write_entry
    from beamit.ids import new_id
    from beamit.storage import services

    try:
        entry = AuditEntry(tenant_id=tenant_id, action=f"CLI {action}", event_code=SECURITY_ALERT, outcome=200,
                           principal="cli", credential_id="cli", request_id=new_id("req"), resources=resources)
        with contextlib.redirect_stdout(sys.stderr):  # its Cloud Logging line: stdout is the command's answer
            write_entry(services(), entry)
    except Exception as exc:
        print(f"done, but the audit record was not written ({type(exc).__name__}); it is in the logs",
              file=sys.stderr)
        return 3
    return 0


def _cmd_users_access(args: argparse.Namespace) -> int:
    """users disable | enable | grants | revoke-grants"""
    from datetime import timedelta

    from beamit.auth import access
    from beamit.clock import utcnow
    from beamit.errors import NotFound
    from beamit.storage import services
    from beamit.tenancy import TenantScope

    svc = services()
    tenant = TenantScope(args.tenant)
    try:
        if args.action == "grants":
            lifetime = timedelta(days=svc.settings.oauth_grant_lifetime_days)
            found = access.user_grants(svc.metadata, tenant, args.id, lifetime)
            print(json.dumps({"object": "list", "data": [g.to_json(utcnow()) for g in found]}))
            return 0
        if args.action == "disable":
            user, ended = access.disable_user(svc.metadata, tenant, args.id, by="cli")
            out = {**user.to_json(), "revokedGrants": ended.revoked_grants}
        elif args.action == "enable":
            out = access.enable_user(svc.metadata, tenant, args.id, by="cli").to_json()
        elif args.grant:
            out = access.revoke_user_grant(svc.metadata, tenant, args.id, args.grant).to_json(utcnow())
        else:
            out = {"object": "grant_revocation", "userId": args.id,
                   "revokedGrants": access.revoke_user_grants(svc.metadata, tenant, args.id).revoked_grants}
    except NotFound as exc:
        print(f"{exc.message} in tenant {args.tenant!r}", file=sys.stderr)
        return 1
    print(json.dumps(out))
    return _audit_cli(args.tenant, f"users {args.action}", user=args.id)


def _cmd_clients_revoke(args: argparse.Namespace) -> int:
    from beamit.auth import access
    from beamit.errors import NotFound
    from beamit.storage import services
    from beamit.tenancy import TenantScope

    try:
        client, ended = access.revoke_client(services().metadata, TenantScope(args.tenant), args.id, by="cli")
    except NotFound:
        print(f"no OAuth client {args.id!r} in tenant {args.tenant!r}", file=sys.stderr)
        return 1
    print(json.dumps({**client.to_json(), "revokedGrants": ended.revoked_grants}))
    return _audit_cli(args.tenant, "clients revoke", oauthClient=args.id)


def _cmd_clients_create(args: argparse.Namespace) -> int:
    from beamit.auth.oauth.clients import InvalidClientSpec, create_client
    from beamit.auth.scopes import UnknownScope
    from beamit.storage import services
    from beamit.tenancy import TenantScope, get_tenant

    svc = services()
    if get_tenant(svc.metadata, args.tenant) is None:
        print(f"no tenant {args.tenant!r}: create it with 'beamit tenants create'", file=sys.stderr)
        return 1
    try:
        issued = create_client(svc.metadata, TenantScope(args.tenant), name=args.name,
                               redirect_uris=args.redirect_uri, public=args.public, scopes=args.scopes,
                               created_by="cli", pkce_required=not args.no_pkce)
    except (InvalidClientSpec, UnknownScope) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    out = {**issued.client.to_json(), "client_id": issued.client.client_id}
    if issued.client_secret:
        out["client_secret"] = issued.client_secret
        print("Store the client secret now: it is shown only once.", file=sys.stderr)
    print(json.dumps(out))
    return 0


def _grace(args: argparse.Namespace, svc_settings_grace: int) -> datetime.timedelta:
    return datetime.timedelta(seconds=args.grace_seconds if args.grace_seconds is not None else svc_settings_grace)


def _cmd_check(args: argparse.Namespace) -> int:
    from beamit.consistency.scan import check
    from beamit.storage import services

    svc = services()
    report = check(svc, tenants=args.tenant or None, grace=_grace(args, svc.settings.sweep_grace_seconds))
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        for tenant in report.tenants:
            counts = ", ".join(f"{k} {v}" for k, v in sorted(tenant.counts.items()))
            print(f"{tenant.tenant}: {counts}")
            for finding in tenant.findings:
                print(f"  {finding.invariant}: {finding.subject} {finding.detail}".rstrip())
        violations = ", ".join(f"{k} {v}" for k, v in sorted(report.violations.items()))
        print("clean" if report.clean else f"violations: {violations}")
    return 0 if report.clean else 1


def _cmd_sweep(args: argparse.Namespace) -> int:
    from beamit.consistency.sweep import sweep_leftovers
    from beamit.storage import services

    svc = services()
    result = sweep_leftovers(svc, tenants=args.tenant or None, grace=_grace(args, svc.settings.sweep_grace_seconds))
    print(json.dumps(result.to_json()))
    return 0


def _cmd_dashboard_register(args: argparse.Namespace) -> int:
    from beamit.dashboard.workspaces import register_dashboard_client
    from beamit.storage import services

    svc = services()
    url = args.url or svc.settings.public_base_url
    try:
        client = register_dashboard_client(svc.metadata, args.tenant, url, created_by="cli")
    except LookupError:
        print(f"no tenant {args.tenant!r}: create it with 'beamit tenants create'", file=sys.stderr)
        return 1
    print(json.dumps({**client.to_json(), "dashboardUrl": f"{url.rstrip('/')}/dashboard/?workspace={args.tenant}"}))
    return 0


def build_parser() -> argparse.ArgumentParser:
    import os

    parser = argparse.ArgumentParser(
        prog="beamit", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)

    dev = sub.add_parser("dev", help="run the whole product locally on emulators")
    dev.add_argument("--port", type=int, default=int(os.environ.get("BEAMIT_PORT", "8080")))
    dev.add_argument("--no-seed", action="store_true", help="do not load synthetic sandbox studies")
    dev.add_argument("--state-dir", type=Path, default=None, help="where sandbox.env and logs go (default .beamit)")
    dev.set_defaults(func=_cmd_dev)

    tenants = sub.add_parser("tenants").add_subparsers(dest="action", required=True)
    t_create = tenants.add_parser("create")
    t_create.add_argument("--id", required=True)
    t_create.add_argument("--name", required=True)
    t_create.set_defaults(func=_cmd_tenants_create)
    t_limit = tenants.add_parser("rate-limit", help="the request budget of each of the tenant's API keys")
    t_limit.add_argument("--id", required=True)
    t_limit.add_argument("--requests", type=int, default=600, help="requests per window (default 600)")
    t_limit.add_argument("--window-seconds", type=int, default=60, help="the window (default 60)")
    t_limit.add_argument("--default", action="store_true", help="back to the platform default")
    t_limit.set_defaults(func=_cmd_tenants_rate_limit)

    keys = sub.add_parser("keys").add_subparsers(dest="action", required=True)
    k_create = keys.add_parser("create", help="issue an API key (printed once)")
    k_create.add_argument("--tenant", required=True)
    k_create.add_argument("--scopes", required=True, help="comma or space separated, e.g. studies:read,studies:write")
    k_create.add_argument("--name", default="")
    k_create.set_defaults(func=_cmd_keys_create)
    k_revoke = keys.add_parser("revoke")
    k_revoke.add_argument("--tenant", required=True)
    k_revoke.add_argument("--id", required=True)
    k_revoke.set_defaults(func=_cmd_keys_revoke)

    users = sub.add_parser("users").add_subparsers(dest="action", required=True)
    u_create = users.add_parser("create", help="add a user who can sign in to authorize OAuth clients")
    u_create.add_argument("--tenant", required=True)
    u_create.add_argument("--email", required=True)
    u_create.add_argument("--role", required=True, help="admin, clinician, integration or auditor")
    u_create.set_defaults(func=_cmd_users_create)
    for action, text in (("disable", "disable a user and revoke all their grants (tokens stop at once)"),
                         ("enable", "let a disabled user sign in again"),
                         ("grants", "list a user's grants that are not revoked"),
                         ("revoke-grants", "revoke a user's grants (all, or --grant)")):
        u_access = users.add_parser(action, help=text)
        u_access.add_argument("--tenant", required=True)
        u_access.add_argument("--id", required=True, help="usr_...")
        if action == "revoke-grants":
            u_access.add_argument("--grant", default=None, help="grt_...: only this grant")
        u_access.set_defaults(func=_cmd_users_access)

    oauth_clients = sub.add_parser("clients").add_subparsers(dest="action", required=True)
    c_create = oauth_clients.add_parser("create", help="register an OAuth client (secret printed once)")
    c_create.add_argument("--tenant", required=True)
    c_create.add_argument("--name", required=True)
    c_create.add_argument("--redirect-uri", required=True, action="append", help="exact URI; repeat for several")
    c_create.add_argument("--public", action="store_true", help="a browser or native app: no secret, PKCE required")
    c_create.add_argument("--scopes", default=None, help="scopes it may request (default: all)")
    c_create.add_argument("--no-pkce", action="store_true",
                          help="a confidential client that cannot send PKCE (the documented request without it)")
    c_create.set_defaults(func=_cmd_clients_create)
    c_revoke = oauth_clients.add_parser("revoke", help="revoke a client and every token issued to it")
    c_revoke.add_argument("--tenant", required=True)
    c_revoke.add_argument("--id", required=True, help="cli_...")
    c_revoke.set_defaults(func=_cmd_clients_revoke)
    for name, func, text in (("check", _cmd_check, "scan the consistency invariants (exit 1 if one fails)"),
                             ("sweep", _cmd_sweep, "remove the objects abandoned requests left behind")):
        command = sub.add_parser(name, help=text)
        command.add_argument("--tenant", action="append", help="only this tenant (repeat for several)")
        command.add_argument("--grace-seconds", type=int, default=None,
                             help="objects younger than this are in flight (default BEAMIT_SWEEP_GRACE_SECONDS)")
        if name == "check":
            command.add_argument("--json", action="store_true")
        command.set_defaults(func=func)

    dashboard = sub.add_parser("dashboard").add_subparsers(dest="action", required=True)
    d_register = dashboard.add_parser(
        "register", help="register the tenant's integration dashboard client (first-party, public, PKCE)")
    d_register.add_argument("--tenant", required=True)
    d_register.add_argument("--url", default=None, help="public base URL (default: BEAMIT_PUBLIC_URL)")
    d_register.set_defaults(func=_cmd_dashboard_register)
    sandbox = sub.add_parser("sandbox").add_subparsers(dest="action", required=True)
    seed = sandbox.add_parser("seed", help="store synthetic studies through STOW-RS")
    seed.add_argument("--url", help="BeamIt base URL (default: BEAMIT_URL or .beamit/sandbox.env)")
    seed.add_argument("--key", help="API key with studies:write (default: BEAMIT_API_KEY or .beamit/sandbox.env)")
    seed.add_argument("--seed", type=int, default=20260115)
    seed.add_argument("--count", type=int, default=10)
    seed.add_argument("--scale", type=float, default=1.0, help="image size factor (0.125 = 64x64 CT)")
    seed.set_defaults(func=_cmd_sandbox_seed)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
