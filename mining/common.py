"""The few small pieces every pipeline stage shares, kept here so that no stage imports another
only to reach them (and the import arrows keep pointing one way)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

Progress = Callable[[float, str], None]
"""A long step's progress callback: the share done (0 to 1) and what it is doing now."""


def now_utc() -> datetime:
    """The default time for anything a writer stamps; every writer takes `at` instead, so tests can fix the clock."""
    return datetime.now(timezone.utc)
