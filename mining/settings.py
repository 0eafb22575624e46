"""Per-workspace settings: a small key -> JSON table, so choices travel with the workspace file.

Why in the workspace: signal thresholds, the embedding model and what text is embedded are team
decisions about this data; a colleague opening the same file must get the same failures.
"""

from __future__ import annotations

import json
from typing import Any

from mining.store import Workspace


def get_setting(workspace: Workspace, key: str, default: Any = None) -> Any:
    """The stored value of `key`, or `default` when it was never set."""
    row = workspace.cursor().execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
    return default if row is None else json.loads(row[0])


def set_setting(workspace: Workspace, key: str, value: Any) -> None:
    """Store `value` (anything JSON can hold) under `key`, replacing what was there."""
    with workspace.transaction() as cursor:
        cursor.execute(
            "INSERT OR REPLACE INTO settings (key, value, updated_at) VALUES (?, ?, now())",
            [key, json.dumps(value)],
        )
