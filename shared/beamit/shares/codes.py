"""Share codes: ``BM-`` and six characters from an alphabet without look-alikes.

The alphabet leaves out ``0``/``O``, ``1``/``I``/``L`` (31 symbols: about 8.9e8 codes), so a
code read aloud or typed from a printout is not mistyped. Codes come from the OS's
cryptographic random source (:mod:`secrets`) and are stored only as HMAC-SHA256 digests
under a server key (``BEAMIT_SHARE_CODE_KEY``): the database alone cannot recover a code
or test guesses offline. Guessing online is throttled (:mod:`beamit.shares.access`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from beamit.errors import Unavailable
from beamit.settings import Settings

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
PREFIX = "BM-"
LENGTH = 6
SHARE_CODE = re.compile(rf"^{PREFIX}[{ALPHABET}]{{{LENGTH}}}$")


def new_share_code() -> str:
    return PREFIX + "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalize_share_code(raw: str) -> str | None:
    """The canonical form of a typed or linked code (case-insensitive, ``BM`` optional), or None."""
    text = raw.strip().upper().replace(" ", "")
    if not text.startswith(PREFIX):
        text = PREFIX + text.removeprefix("BM")
    return text if SHARE_CODE.match(text) else None


def share_code_key(settings: Settings) -> bytes:
    if settings.share_code_key is None:
        raise Unavailable("share links are not configured (BEAMIT_SHARE_CODE_KEY)")
    return settings.share_code_key


def keyed_digest(settings: Settings, purpose: str, *parts: str) -> str:
    """HMAC-SHA256 (hex) of ``parts`` under the share-code key, separated by purpose."""
    message = "\x1f".join((purpose, *parts)).encode("utf-8")
    return hmac.new(share_code_key(settings), message, hashlib.sha256).hexdigest()


def share_code_digest(settings: Settings, code: str) -> str:
    return keyed_digest(settings, "share-code", code)
