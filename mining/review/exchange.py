"""Backup and exchange of annotations: every review event as JSONL, and reading such a file back.

Why events and not the current state: the file is the whole history (who, when, before and after,
undos), so importing it into another workspace derives exactly the same state there. Event ids
are UUIDs, so importing a file twice, or a file that overlaps one imported earlier, adds nothing.
Record ids are stable across workspaces (they come from the source's ids or the content), so a
colleague's workspace that ingested the same logs matches them.

The file starts with one `{"type": "tag", ...}` line per tag, so tags added elsewhere arrive with
the reviews that use them, then one `{"type": "event", ...}` line per event, oldest first.
Events for records this workspace does not hold are imported all the same (they take effect once
those logs are ingested) and reported, never dropped silently.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from mining.review.events import ACTIONS, ReviewError, ReviewEvent, append, list_events
from mining.store import Workspace

_EVENT_KEYS = ("event_id", "record_id", "reviewer", "event_at", "action", "payload", "batch_id")


@dataclass
class ExportReport:
    """What an export wrote."""

    file: str
    events: int
    tags: int

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ImportReport:
    """What an import found: events read, added, already present; events whose record is missing here."""

    file: str
    events_read: int = 0
    events_added: int = 0
    events_present: int = 0
    tags_added: list[str] = field(default_factory=list)
    missing_records: list[str] = field(default_factory=list)
    events_for_missing_records: int = 0

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def export_annotations(workspace: Workspace, path: Path) -> ExportReport:
    """Write the taxonomy and every review event to `path` as JSONL (replacing the file)."""
    cursor = workspace.cursor()
    tags = cursor.execute("SELECT tag_id, name, description, retired FROM tags ORDER BY tag_id").fetchall()
    source_ids = dict(cursor.execute("SELECT record_id, source_id FROM records WHERE record_id IN "
                                     "(SELECT record_id FROM review_events)").fetchall())
    events = list_events(workspace, cursor=cursor)
    with Path(path).open("w", encoding="utf-8") as out:
        for tag_id, name, description, retired in tags:
            out.write(json.dumps({"type": "tag", "tag_id": tag_id, "name": name, "description": description,
                                  "retired": retired}, ensure_ascii=False) + "\n")
        for event in events:
            line = {"type": "event", **asdict(event), "event_at": event.event_at.isoformat(),
                    "source_id": source_ids.get(event.record_id)}
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
    return ExportReport(str(path), len(events), len(tags))


def _read(path: Path) -> tuple[list[dict[str, Any]], list[ReviewEvent]]:
    """The tag lines and the events of a file; a line that is not one of ours fails the whole file."""
    tags, events = [], []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ReviewError(f"cannot read {path}: {exc}") from exc
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            line = json.loads(text)
            if line.get("type") == "tag":
                tags.append({key: line[key] for key in ("tag_id", "name", "description", "retired")})
            elif line.get("type") == "event":
                if line["action"] not in ACTIONS or not isinstance(line["payload"], dict):
                    raise ValueError(f"unknown action {line['action']!r}")
                values = {key: line[key] for key in _EVENT_KEYS}
                values["event_at"] = datetime.fromisoformat(values["event_at"])
                events.append(ReviewEvent(**values, bulk=bool(line.get("bulk")), undoes=line.get("undoes")))
            else:
                raise ValueError("neither a tag nor an event")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ReviewError(f"{path} line {number} is not an annotation: {exc}") from exc
    return tags, events


def _add_missing_tags(cursor: duckdb.DuckDBPyConnection, tags: list[dict[str, Any]]) -> list[str]:
    """Create the file's tags this workspace lacks (a clashing name gets the tag id appended)."""
    added = []
    for tag in tags:
        if cursor.execute("SELECT count(*) FROM tags WHERE tag_id = ?", [tag["tag_id"]]).fetchone()[0]:
            continue
        name = tag["name"]
        if cursor.execute("SELECT count(*) FROM tags WHERE lower(name) = lower(?)", [name]).fetchone()[0]:
            name = f"{name} ({tag['tag_id']})"
        cursor.execute("INSERT INTO tags (tag_id, name, description, retired) VALUES (?, ?, ?, ?)",
                       [tag["tag_id"], name, tag["description"] or "", bool(tag["retired"])])
        cursor.execute("INSERT INTO tag_events (tag_id, changed_at, action, after) VALUES (?, now(), 'import', ?)",
                       [tag["tag_id"], name])
        added.append(tag["tag_id"])
    return added


def import_annotations(workspace: Workspace, path: Path) -> ImportReport:
    """Add the file's events this workspace does not have yet, all in one transaction."""
    tags, events = _read(path)
    report = ImportReport(str(path), events_read=len(events))
    with workspace.transaction() as cursor:
        report.tags_added = _add_missing_tags(cursor, tags)
        present = {row[0] for row in cursor.execute(
            "SELECT event_id FROM review_events WHERE event_id IN (SELECT unnest(?::VARCHAR[]))",
            [[event.event_id for event in events]]).fetchall()}
        missing = [row[0] for row in cursor.execute(
            "SELECT DISTINCT id FROM unnest(?::VARCHAR[]) AS t(id) WHERE id NOT IN (SELECT record_id FROM records)"
            " ORDER BY 1", [[event.record_id for event in events]]).fetchall()]
        new = list({event.event_id: event for event in events if event.event_id not in present}.values())
        append(cursor, sorted(new, key=lambda event: event.event_at))
    report.events_added, report.events_present = len(new), len(events) - len(new)
    report.missing_records = missing
    absent = frozenset(missing)
    report.events_for_missing_records = sum(event.record_id in absent for event in events)
    return report
