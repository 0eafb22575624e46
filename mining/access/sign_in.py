"""Checking a local user's name and password, with a pause after repeated failures.

Why a throttle: a team server's sign-in form is reachable by anyone on the network, and Argon2 alone
slows each guess but does not stop a patient script. After `MAX_FAILURES` wrong passwords for one
name within `WINDOW_S`, that name is refused for `LOCKOUT_S` whatever the password. The state is the
server process's memory: a restart forgets it, which is acceptable for a desktop team server.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from typing import Callable

from mining.access.config import LocalUser, ServerConfig
from mining.access.passwords import decoy_hash, verify_password

MAX_FAILURES = 5
WINDOW_S = 300.0
LOCKOUT_S = 60.0


class SignInRefused(Exception):
    """Wrong name or password, or too many tries; the message never says which of name or password was wrong."""


class Throttle:
    """Failed sign-ins per user name, shared by every session of the server."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def wait_left(self, name: str) -> float:
        """Seconds until `name` may try again (0 when it may now)."""
        with self._lock:
            failures = self._recent(name)
            if len(failures) < MAX_FAILURES:
                return 0.0
            return max(0.0, failures[-1] + LOCKOUT_S - self._clock())

    def failed(self, name: str) -> None:
        with self._lock:
            self._recent(name).append(self._clock())

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(name, None)

    def _recent(self, name: str) -> deque[float]:
        failures, now = self._failures[name], self._clock()
        while failures and failures[0] < now - WINDOW_S:
            failures.popleft()
        return failures


def authenticate(config: ServerConfig, name: str, password: str, throttle: Throttle) -> LocalUser:
    """The user whose name and password these are; SignInRefused otherwise."""
    name = name.strip()
    wait = throttle.wait_left(name)
    if wait > 0:
        raise SignInRefused(f"too many failed sign-ins for this name: try again in {int(wait) + 1} s")
    user = config.users.get(name)
    # An unknown name is checked against a decoy hash, so it costs as long as a wrong password.
    matches = verify_password(user.password_hash if user else decoy_hash(), password)
    if user is None or not matches:
        throttle.failed(name)
        raise SignInRefused("wrong name or password")
    throttle.succeeded(name)
    return user
