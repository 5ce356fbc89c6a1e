"""Prefixed resource ids (``key_``, ``share_``, ``evt_``, ``whk_``, ``req_`` ...), Stripe style."""

from __future__ import annotations

import secrets

_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_UNBIASED = 256 - 256 % len(_ALPHABET)
"""Random bytes below this (252) map to the alphabet uniformly (each symbol 7 times); larger ones
are drawn again."""


def random_token(length: int) -> str:
    """``length`` characters from [a-z0-9], uniformly, from the OS's cryptographic random source:
    one ``secrets.token_bytes`` call for all of them (about one in 64 bytes is drawn again), not
    one ``secrets.choice`` (a system call each) per character; every request and stored instance
    makes a few."""
    chars: list[str] = []
    while len(chars) < length:
        chars.extend(_ALPHABET[byte % len(_ALPHABET)] for byte in secrets.token_bytes(length) if byte < _UNBIASED)
    return "".join(chars[:length])


def new_id(prefix: str, length: int = 20) -> str:
    return f"{prefix}_{random_token(length)}"
