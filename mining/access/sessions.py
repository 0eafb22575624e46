"""Signed sign-in tokens, so that a reload or a deep link does not sign a local user out.

Why a token in a cookie: a Streamlit session lives as long as its browser tab's connection, and a
reload starts a new one. The app hands the browser a token after a password sign-in; a new session
reads it from the cookies its connection arrived with (st.context.cookies).

What makes a token good: an HMAC-SHA256 over (name, issue time, a digest of the user's current
password hash) with a server secret kept beside the settings (`session.key`, owner-only), younger
than LIFETIME_S, for a user who still exists, and not signed out. Changing a password or removing
a user ends their tokens at once; signing out ends that token for the server's lifetime.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
import time

from mining.access.config import LocalUser, ServerConfig

COOKIE = "faultline_session"
LIFETIME_S = 12 * 3600

_revoked: set[str] = set()
_revoked_lock = threading.Lock()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def session_secret(config: ServerConfig) -> bytes:
    """The server's signing key, made on first use (32 random bytes, readable by the owner only)."""
    path = config.path.parent / "session.key"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(32)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another session made it first
            return path.read_bytes()
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(key)
        return key


def _password_digest(user: LocalUser) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:32]


def _signature(secret: bytes, payload: str) -> str:
    return _b64(hmac.new(secret, payload.encode("ascii"), hashlib.sha256).digest())


def issue(user: LocalUser, secret: bytes, now: float | None = None) -> str:
    payload = _b64(json.dumps({"u": user.name, "t": int(now if now is not None else time.time()),
                               "p": _password_digest(user)}, separators=(",", ":")).encode())
    return f"{payload}.{_signature(secret, payload)}"


def verify(token: str | None, config: ServerConfig, secret: bytes, now: float | None = None) -> LocalUser | None:
    """The user a token signs in, or None when it is forged, expired, revoked or its user changed."""
    if not token or token.count(".") != 1:
        return None
    payload, signature = token.split(".")
    if not hmac.compare_digest(signature, _signature(secret, payload)):
        return None
    with _revoked_lock:
        if token in _revoked:
            return None
    try:
        claims = json.loads(_unb64(payload))
        name, issued, digest = str(claims["u"]), float(claims["t"]), str(claims["p"])
    except (ValueError, KeyError, TypeError):
        return None
    now = now if now is not None else time.time()
    if not 0 <= now - issued <= LIFETIME_S:
        return None
    user = config.users.get(name)
    if user is None or not hmac.compare_digest(digest, _password_digest(user)):
        return None
    return user


def revoke(token: str | None) -> None:
    """Sign a token out for the rest of the server's life (a copy of the cookie stops working too)."""
    if token:
        with _revoked_lock:
            _revoked.add(token)
