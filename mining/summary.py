"""What a workspace holds, in numbers: for `python -m mining info` and the app's home page."""

from __future__ import annotations

from typing import Any

from mining.store import Workspace


def workspace_summary(workspace: Workspace) -> dict[str, Any]:
    """Totals, counts per source file and format, quarantine by file, and the recent ingests.

    The shape of this dict is the stable `info --json` contract: add keys, never rename them.
    """
    cursor = workspace.cursor()
    records, first, last = cursor.execute("SELECT count(*), min(ts), max(ts) FROM records").fetchone()
    quarantined = cursor.execute("SELECT count(*) FROM quarantine").fetchone()[0]
    by_source = [
        {"source_file": file, "format": fmt, "records": count}
        for file, fmt, count in cursor.execute(
            "SELECT source_file, source_format, count(*) FROM records GROUP BY ALL ORDER BY 1, 2"
        ).fetchall()
    ]
    by_format = dict(cursor.execute(
        "SELECT source_format, count(*) FROM records GROUP BY ALL ORDER BY 1").fetchall())
    quarantine_by_file = dict(cursor.execute(
        "SELECT file, count(*) FROM quarantine GROUP BY ALL ORDER BY 1").fetchall())
    ingests = [
        {
            "ingest_id": row[0], "file": row[1], "format": row[2], "started_at": row[3].isoformat(),
            "rows_read": row[4], "rows_added": row[5], "rows_present": row[6],
            "rows_quarantined": row[7], "rows_skipped": row[8], "message": row[9],
        }
        for row in cursor.execute(
            "SELECT ingest_id, file, format, started_at, rows_read, rows_added, rows_present,"
            " rows_quarantined, rows_skipped, message FROM ingests ORDER BY started_at DESC LIMIT 20"
        ).fetchall()
    ]
    return {
        "workspace": str(workspace.path),
        "schema_version": workspace.schema_version(),
        "records": records,
        "quarantined": quarantined,
        "first_ts": first.isoformat() if first else None,
        "last_ts": last.isoformat() if last else None,
        "by_source": by_source,
        "by_format": by_format,
        "quarantine_by_file": quarantine_by_file,
        "recent_ingests": ingests,
    }
