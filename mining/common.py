"""The few small pieces every pipeline stage shares, kept here so that no stage imports another
only to reach them (and the import arrows keep pointing one way)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

Progress = Callable[[float, str], None]
"""A long step's progress callback: the share done (0 to 1) and what it is doing now."""


def now_utc() -> datetime:
    """The default time for anything a writer stamps; every writer takes `at` instead, so tests can fix the clock."""
    return datetime.now(timezone.utc)


def plural(count: int, noun: str, many: str | None = None) -> str:
    """"1 row", "2 rows", "1,234 rows": a count with its noun, for every message a person reads."""
    return f"{count:,} {noun if count == 1 else many or noun + 's'}"


def missing_folder(path: str | Path) -> Path | None:
    """The folder `path` would be written in, when that folder does not exist; else None.

    Every path a person types to write to (a report, an export folder, a workspace, the demo log)
    is checked with this: a mistyped path is refused with its name, never answered with a tree of
    new folders somewhere unexpected. The new file or folder itself may be new; its parent not."""
    parent = Path(path).expanduser().resolve().parent
    return None if parent.is_dir() else parent
