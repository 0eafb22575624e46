"""Password hashes for the local user list: Argon2id through argon2-cffi, never a password in plain.

Why Argon2id: it is the OWASP default for password storage, memory-hard, and argon2-cffi is the
well-kept binding (hash strings carry their own parameters, so raising the cost later keeps old
hashes valid and `needs_rehash` says when to renew one).
"""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    return PasswordHasher()


def hash_password(password: str) -> str:
    """The Argon2id hash string to store for `password`."""
    if not password:
        raise ValueError("a password cannot be empty")
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether `password` matches the stored hash; a malformed hash never matches."""
    try:
        return _hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def check_hash(password_hash: str) -> None:
    """Refuse a stored value that is not an Argon2 hash (a password pasted in plain, say)."""
    if not password_hash.startswith("$argon2"):
        raise ValueError("password_hash is not an Argon2 hash: make one with `faultline users add`")


# A hash to verify against when the user name is unknown, so that a wrong name takes as long as a
# wrong password and the timing does not tell which names exist.
@lru_cache(maxsize=1)
def decoy_hash() -> str:
    return _hasher().hash("not a real password")
