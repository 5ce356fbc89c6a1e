"""Password hashing with Argon2id (RFC 9106), through argon2-cffi.

argon2-cffi's defaults follow RFC 9106's second recommended option (Argon2id, t=3,
m=64 MiB, p=4); a hash made with older parameters is upgraded at the next sign-in
(:func:`needs_rehash`). Unknown users are checked against :data:`_DUMMY_HASH` so a
sign-in for an unknown email costs the same time as one for a known email.
"""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12
MAX_LENGTH = 256


class WeakPassword(ValueError):
    """A password that does not meet the length policy."""


@functools.cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()  # Argon2id with RFC 9106 parameters


@functools.cache
def _dummy_hash() -> str:
    return _hasher().hash("beamit-dummy-password-for-unknown-users")


def check_policy(password: str) -> None:
    """NIST SP 800-63B style: a length floor and ceiling, no composition rules."""
    if not isinstance(password, str) or not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise WeakPassword(f"passwords are {MIN_LENGTH} to {MAX_LENGTH} characters long")


def hash_password(password: str) -> str:
    check_policy(password)
    return _hasher().hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash`` (``None``: an unknown user, always False)."""
    try:
        _hasher().verify(stored_hash or _dummy_hash(), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return stored_hash is not None


def needs_rehash(stored_hash: str) -> bool:
    return _hasher().check_needs_rehash(stored_hash)
