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
    # Patient share links (beamit.shares, docs/sharing.md).
    share_base_url: str = "http://127.0.0.1:8080"
    share_code_key: bytes | None = None
    share_session_idle_seconds: int = 15 * 60
    share_session_max_seconds: int = 2 * 60 * 60
    sms_provider: str = "outbox"
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from: str | None = None
    trace_storage_calls: bool = False
    """Record each request's storage round trips (:mod:`beamit.storage.trace`): the benchmark only."""

    @property
    def is_local(self) -> bool:
        """Local development and tests: loopback webhooks, emulator pushes without OIDC."""
        return self.environment == "local"

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
        trace_storage_calls=_bool(env, "BEAMIT_TRACE_STORAGE", False),
    )


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings, read from ``os.environ`` on first use."""
    return load_settings(os.environ)


def reset_settings() -> None:
    """Forget the cached settings (tests and the dev stack, after changing the environment)."""
    get_settings.cache_clear()
