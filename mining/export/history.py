"""Past exports and what changed between versions of a dataset.

Why a diff: the weekly question is "what does v7 add to v6?" (new hard examples, corrections that
changed, records that left because they became golden or were re-judged), so a team can tell
whether a new training run is worth it. Compared per kind, by record: added, removed, changed
(the record's rows differ, e.g. a rewritten correction), unchanged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import polars as pl

from mining.store import Workspace


def list_exports(workspace: Workspace, name: str | None = None) -> pl.DataFrame:
    """Every export, newest first: export_id, name, version, folder, created_at, created_by, kinds,
    rows (per kind), golden, leaks, warnings."""
    cursor = workspace.cursor()
    cursor.execute("""SELECT export_id, name, version, folder, created_at, created_by, kinds, report FROM exports
                      WHERE $name IS NULL OR name = $name ORDER BY created_at DESC, version DESC""", {"name": name})
    rows = []
    for export_id, export_name, version, folder, created_at, created_by, kinds, report in cursor.fetchall():
        summary = json.loads(report)
        rows.append({"export_id": export_id, "name": export_name, "version": version, "folder": folder,
                     "created_at": created_at, "created_by": created_by, "kinds": ", ".join(kinds),
                     "rows": ", ".join(f"{kind} {counts['rows']}" for kind, counts in summary["kinds"].items()),
                     "golden": summary["golden"], "leaks": summary["leaks"], "warnings": len(summary["warnings"])})
    schema = {"export_id": pl.String, "name": pl.String, "version": pl.Int64, "folder": pl.String,
              "created_at": pl.Datetime(time_zone="UTC"), "created_by": pl.String, "kinds": pl.String,
              "rows": pl.String, "golden": pl.Int64, "leaks": pl.Int64, "warnings": pl.Int64}
    return pl.DataFrame(rows, schema=schema)


def export_manifest(workspace: Workspace, export_id: str) -> dict[str, Any] | None:
    row = workspace.cursor().execute("SELECT manifest FROM exports WHERE export_id = ?", [export_id]).fetchone()
    return json.loads(row[0]) if row else None


def previous_version(workspace: Workspace, export_id: str) -> str | None:
    """The export of the same name with the highest version below this one's."""
    row = workspace.cursor().execute("""
        SELECT p.export_id FROM exports e JOIN exports p ON p.name = e.name AND p.version < e.version
        WHERE e.export_id = ? ORDER BY p.version DESC LIMIT 1""", [export_id]).fetchone()
    return row[0] if row else None


@dataclass(frozen=True)
class KindDiff:
    """One kind's change between two exports, as record ids as their sources gave them."""

    kind: str
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]
    unchanged: int


def _written(workspace: Workspace, export_id: str) -> dict[str, dict[str, tuple[str, ...]]]:
    """kind -> source id -> the sorted hashes of that record's rows."""
    cursor = workspace.cursor()
    cursor.execute("""SELECT i.kind, coalesce(r.source_id, i.record_id), list(i.row_hash ORDER BY i.row_hash)
                      FROM export_items i LEFT JOIN records r USING (record_id)
                      WHERE i.export_id = ? AND i.status = 'written' GROUP BY ALL""", [export_id])
    written: dict[str, dict[str, tuple[str, ...]]] = {}
    for kind, source_id, hashes in cursor.fetchall():
        written.setdefault(kind, {})[source_id] = tuple(hashes)
    return written


def diff_exports(workspace: Workspace, old_id: str, new_id: str) -> list[KindDiff]:
    """Per kind in either export: the records added, removed and changed from `old_id` to `new_id`."""
    old, new = _written(workspace, old_id), _written(workspace, new_id)
    diffs = []
    for kind in sorted(set(old) | set(new)):
        before, after = old.get(kind, {}), new.get(kind, {})
        changed = tuple(sorted(key for key in before.keys() & after.keys() if before[key] != after[key]))
        diffs.append(KindDiff(kind, tuple(sorted(after.keys() - before.keys())),
                              tuple(sorted(before.keys() - after.keys())), changed,
                              len(before.keys() & after.keys()) - len(changed)))
    return diffs
