"""The one settings object, read once from the environment.

No other module reads ``os.environ``: they call :func:`get_settings`. Tests and the dev
stack set the environment before the first call (or call :func:`reset_settings`).
Every variable is documented in README.md ("Settings").
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass

ENVIRONMENTS = ("local", "sandbox", "production")
SMS_PROVIDERS = ("outbox", "twilio")
LOCAL_SHARE_CODE_KEY = b"beamit-local-share-code-key-not-secret"
"""The share-code HMAC key of ``local`` only; elsewhere ``BEAMIT_SHARE_CODE_KEY`` (Secret Manager)."""


class SettingsError(ValueError):
    """A required setting is missing or malformed."""


@dataclass(frozen=True)
class Settings:
    """Runtime configuration of every function and tool."""

    environment: str
    project_id: str
    region: str
    public_base_url: str
    resource_prefix: str
    firestore_emulator_host: str | None
    pubsub_emulator_host: str | None
    storage_emulator_host: str | None
    kms_endpoint: str | None
    kms_location: str
    kms_key_ring: str
    stow_max_request_bytes: int
    cors_allowed_origins: tuple[str, ...]
    log_level: str
    verify_push_oidc: bool
    push_audience: str | None
    max_decode_pixels: int = 2**27
    """Pixel samples one decode may produce (beamit.dicomweb.pixel_limits); a frame over it is refused at ingest."""
    max_instance_pixels: int = 2**35
    """Pixel samples an instance may declare over all its frames; more is refused at ingest."""
    api_key_requests_per_minute: int = 600
    """Default request budget of each API key (a tenant may have its own, beamit.tenancy)."""
    trusted_proxy_hops: int = 2
    """How many ``X-Forwarded-For`` entries, counted from the right, the proxies in front of the
    functions append: the client's address is the entry this far from the right (Google's load
    balancer appends ``<client>, <load balancer>``; locally the gateway does the same). With
    fewer entries the request did not come through them, and the socket's peer is the client;
    0 ignores the header."""
    # Patient share links (beamit.shares, docs/sharing.md).
    share_base_url: str = "http://127.0.0.1:8080"
    share_code_key: bytes | None = None
    share_session_idle_seconds: int = 15 * 60
    share_session_max_seconds: int = 2 * 60 * 60
    sms_provider: str = "outbox"
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from: str | None = None
    # Domain events (beamit.events, docs/webhooks.md "Events").
    study_settle_seconds: int = 30
    """``study.received`` goes out once a study has had no new instances for this long."""
    outbox_grace_seconds: int = 10
    """The event sweep publishes outbox events left unpublished this long (the request that
    recorded one publishes it itself at once, unless it failed or died)."""
    event_sweep_watch_seconds: int = 50
    """How long one run of the event sweep keeps passing, to announce studies as they settle
    (0: one pass). Scheduled every minute, runs watch 50 s of every 60 (beamit.events.sweep)."""
    # The leftovers sweep (beamit.consistency.sweep): objects of abandoned requests older than this.
    sweep_grace_seconds: int = 2 * 60 * 60
    # Failpoints of the reliability suite (beamit.failpoints): local only.
    failpoints: tuple[tuple[str, float], ...] = ()
    failpoint_dir: str | None = None
    # OAuth 2.0 (beamit.auth.oauth): a grant ends this long after the user signed in, however
    # often it is refreshed; then the user signs in again.
    oauth_grant_lifetime_days: int = 90
    # Tests only (``local``): audit appends of this tenant fail, to prove the fail-closed path
    # of PHI reads (beamit.audit.trail.write_entry) through HTTP.
    test_audit_failure_tenant: str | None = None
    trace_storage_calls: bool = False
    """Record each request's storage round trips (:mod:`beamit.storage.trace`): the benchmark only."""

    @property
    def is_local(self) -> bool:
        """Local development and tests: loopback webhooks, emulator pushes without OIDC."""
        return self.environment == "local"

    @property
    def sandbox_tools(self) -> bool:
        """Seeding and resetting a tenant's data (``/v1/sandbox``): only where all data is synthetic."""
        return self.environment in ("local", "sandbox")

    @property
    def api_key_prefix(self) -> str:
        """Prefix of API keys issued here: ``bk_<environment>_``."""
        return "bk_live_" if self.environment == "production" else f"bk_{self.environment}_"

    def bucket(self, role: str) -> str:
        """Bucket name for a role of ``platform.json`` (dicom, inbox, quarantine, derived)."""
        return f"{self.resource_prefix}-{role}"

    def topic(self, role: str) -> str:
        """Pub/Sub topic id for a role of ``platform.json`` (events, ...)."""
        return f"{self.resource_prefix}-{role}"

    def kms_key_name(self, purpose: str) -> str:
        """Full resource name of the Cloud KMS key for a purpose (storage, secrets, ...)."""
        return (
            f"projects/{self.project_id}/locations/{self.kms_location}/"
            f"keyRings/{self.kms_key_ring}/cryptoKeys/{purpose}"
        )


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from exc


def _seconds(env: Mapping[str, str], name: str, default: int, maximum: int = 24 * 3600) -> int:
    value = _int(env, name, default)
    if not 0 <= value <= maximum:
        raise SettingsError(f"{name} must be 0 to {maximum} seconds, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes"):
        return True
    if raw.lower() in ("0", "false", "no"):
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def load_settings(env: Mapping[str, str]) -> Settings:
    """Build :class:`Settings` from an environment mapping, validating every value."""
    environment = env.get("BEAMIT_ENV", "local")
    if environment not in ENVIRONMENTS:
        raise SettingsError(f"BEAMIT_ENV must be one of {ENVIRONMENTS}, got {environment!r}")
    project_id = env.get("GOOGLE_CLOUD_PROJECT") or env.get("BEAMIT_PROJECT_ID") or ""
    if not project_id:
        if environment != "local":
            raise SettingsError("GOOGLE_CLOUD_PROJECT is required outside local development")
        project_id = "beamit-local"
    public = env.get("BEAMIT_PUBLIC_URL", "http://127.0.0.1:8080").rstrip("/")
    share_key = env.get("BEAMIT_SHARE_CODE_KEY") or ""
    if share_key and len(share_key) < 32:
        raise SettingsError("BEAMIT_SHARE_CODE_KEY must be at least 32 characters (e.g. 32 random bytes, base64)")
    sms_provider = env.get("BEAMIT_SMS_PROVIDER") or ("twilio" if environment == "production" else "outbox")
    if sms_provider not in SMS_PROVIDERS:
        raise SettingsError(f"BEAMIT_SMS_PROVIDER must be one of {SMS_PROVIDERS}, got {sms_provider!r}")
    grant_days = _int(env, "BEAMIT_OAUTH_GRANT_LIFETIME_DAYS", 90)
    if not 1 <= grant_days <= 365:
        raise SettingsError("BEAMIT_OAUTH_GRANT_LIFETIME_DAYS must be 1 to 365 (days)")
    audit_failure_tenant = env.get("BEAMIT_TEST_AUDIT_FAILURE_TENANT") or None
    if audit_failure_tenant and environment != "local":
        raise SettingsError("BEAMIT_TEST_AUDIT_FAILURE_TENANT is a test hook: only with BEAMIT_ENV=local")
    if _int(env, "BEAMIT_API_KEY_REQUESTS_PER_MINUTE", 600) < 1:
        raise SettingsError("BEAMIT_API_KEY_REQUESTS_PER_MINUTE must be at least 1")
    if not 0 <= _int(env, "BEAMIT_TRUSTED_PROXY_HOPS", 2) <= 8:
        raise SettingsError("BEAMIT_TRUSTED_PROXY_HOPS must be 0 to 8")
    origins = tuple(o.strip() for o in env.get("BEAMIT_CORS_ORIGINS", "").split(",") if o.strip())
    return Settings(
        environment=environment,
        project_id=project_id,
        region=env.get("BEAMIT_REGION", "us-central1"),
        public_base_url=public,
        resource_prefix=env.get("BEAMIT_RESOURCE_PREFIX", f"{project_id}-beamit"),
        firestore_emulator_host=env.get("FIRESTORE_EMULATOR_HOST") or None,
        pubsub_emulator_host=env.get("PUBSUB_EMULATOR_HOST") or None,
        storage_emulator_host=env.get("STORAGE_EMULATOR_HOST") or None,
        kms_endpoint=env.get("BEAMIT_KMS_ENDPOINT") or None,
        kms_location=env.get("BEAMIT_KMS_LOCATION", "us-central1"),
        kms_key_ring=env.get("BEAMIT_KMS_KEY_RING", "beamit"),
        stow_max_request_bytes=_int(env, "BEAMIT_STOW_MAX_BYTES", 32 * 1024 * 1024),
        cors_allowed_origins=origins,
        log_level=env.get("BEAMIT_LOG_LEVEL", "INFO").upper(),
        verify_push_oidc=_bool(env, "BEAMIT_VERIFY_PUSH_OIDC", environment != "local"),
        push_audience=env.get("BEAMIT_PUSH_AUDIENCE") or None,
        trusted_proxy_hops=_int(env, "BEAMIT_TRUSTED_PROXY_HOPS", 2),
        api_key_requests_per_minute=_int(env, "BEAMIT_API_KEY_REQUESTS_PER_MINUTE", 600),
        max_decode_pixels=_int(env, "BEAMIT_MAX_DECODE_PIXELS", 2**27),
        max_instance_pixels=_int(env, "BEAMIT_MAX_INSTANCE_PIXELS", 2**35),
        share_base_url=(env.get("BEAMIT_SHARE_BASE_URL") or public).rstrip("/"),
        share_code_key=(
            share_key.encode("utf-8") if share_key else (LOCAL_SHARE_CODE_KEY if environment == "local" else None)
        ),
        share_session_idle_seconds=_int(env, "BEAMIT_SHARE_SESSION_IDLE_SECONDS", 15 * 60),
        share_session_max_seconds=_int(env, "BEAMIT_SHARE_SESSION_MAX_SECONDS", 2 * 60 * 60),
        sms_provider=sms_provider,
        twilio_account_sid=env.get("BEAMIT_TWILIO_ACCOUNT_SID") or None,
        twilio_auth_token=env.get("BEAMIT_TWILIO_AUTH_TOKEN") or None,
        twilio_from=env.get("BEAMIT_TWILIO_FROM") or None,
        study_settle_seconds=_seconds(env, "BEAMIT_STUDY_SETTLE_SECONDS", 30),
        outbox_grace_seconds=_seconds(env, "BEAMIT_OUTBOX_GRACE_SECONDS", 10),
        event_sweep_watch_seconds=_seconds(env, "BEAMIT_EVENT_SWEEP_WATCH_SECONDS", 50, maximum=100),
        sweep_grace_seconds=_int(env, "BEAMIT_SWEEP_GRACE_SECONDS", 2 * 60 * 60),
        failpoints=_failpoints(env.get("BEAMIT_FAILPOINTS", "")),
        failpoint_dir=env.get("BEAMIT_FAILPOINT_DIR") or None,
        oauth_grant_lifetime_days=grant_days,
        test_audit_failure_tenant=audit_failure_tenant,
        trace_storage_calls=_bool(env, "BEAMIT_TRACE_STORAGE", False),
    )


def _failpoints(raw: str) -> tuple[tuple[str, float], ...]:
    """``name=seconds,name=seconds`` (see :mod:`beamit.failpoints`)."""
    points: dict[str, float] = {}
    for item in (part.strip() for part in raw.split(",") if part.strip()):
        name, _, seconds = item.partition("=")
        try:
            points[name.strip()] = float(seconds)
        except ValueError as exc:
            raise SettingsError(f"BEAMIT_FAILPOINTS: {item!r} is not name=seconds") from exc
    return tuple(sorted(points.items()))


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings, read from ``os.environ`` on first use."""
    return load_settings(os.environ)


def reset_settings() -> None:
    """Forget the cached settings (tests and the dev stack, after changing the environment)."""
    get_settings.cache_clear()
