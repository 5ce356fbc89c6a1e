"""Prefixed resource ids (``key_``, ``share_``, ``evt_``, ``whk_``, ``req_`` ...), Stripe style."""

from __future__ import annotations

import secrets

_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def random_token(length: int) -> str:
    """``length`` characters from [a-z0-9], from the OS's cryptographic random source."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_id(prefix: str, length: int = 20) -> str:
    return f"{prefix}_{random_token(length)}"
