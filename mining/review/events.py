"""Writing reviews: every change is one appended row of `review_events`, never an update.

Why append-only: a correction is the most valuable thing the workspace holds, so nothing may
overwrite it. Each event has a UUID (so an exported log imports idempotently), who and when, the
action, and a payload with the field's value `before` and `after`. One user action (a save, a
bulk apply, an undo) is one `batch_id` shared by its events, so an undo reverts it as a whole.

Actions: `verdict`, `tags` (the full set of tag ids), `correction` ({text, tool_calls}), `note`
set a field of the reviewer's own review; `bulk` events are verdict/tags events with `bulk` set;
`adjudication` is a lead's final answer (see mining.review.agreement); `undo` points (`undoes`) at an
event it cancels. The current state is derived from these rows in mining.review.state.

Two writers (threads, browser sessions) lose nothing: each action reads the `before` values and
appends its events inside one transaction under the workspace's write lock. `append` is the
log's one writer: it also rewrites the appended records' kept state (mining.review.state_table).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable

import duckdb
import pyarrow as pa

from mining.common import now_utc
from mining.review.state import ReviewState, reviewer_state, reviews_by
from mining.review.state_table import refresh
from mining.store import Workspace
from mining.review.taxonomy import UnknownTag, resolve_tag, tag_ids_for_review

VERDICTS = ("hard_example", "not_a_failure", "unsure", "skip")
ACTIONS = ("verdict", "tags", "correction", "note", "adjudication", "undo")


class ReviewError(ValueError):
    """A review that cannot be recorded (unknown record, verdict or tag); the message is for a person."""


@dataclass(frozen=True)
class ReviewEvent:
    """One row of the log, payload decoded."""

    event_id: str
    record_id: str
    reviewer: str
    event_at: datetime
    action: str
    payload: dict[str, Any]
    batch_id: str
    bulk: bool = False
    undoes: str | None = None

    @property
    def before(self) -> Any:
        """The field's value before this event (for an adjudication: the record's state)."""
        return self.payload.get("before")

    @property
    def after(self) -> Any:
        """The field's value this event set."""
        return self.payload.get("after")


def new_id() -> str:
    """A random UUID: unique across workspaces, which is what makes import idempotent."""
    return str(uuid.uuid4())


def append(cursor: duckdb.DuckDBPyConnection, events: list[ReviewEvent]) -> None:
    """Insert events as they are (used inside a caller's transaction), in the order given."""
    if not events:
        return
    # One INSERT from an Arrow table that DuckDB finds by this local variable's name (its documented
    # replacement scan; cursor.register is refused while a caller's result is still open on the
    # cursor): a bulk action's thousands of events stay quick.
    appended_events = pa.table({  # noqa: F841  (read by name in the SQL below)
        "n": list(range(len(events))), "event_id": [e.event_id for e in events],
        "record_id": [e.record_id for e in events], "reviewer": [e.reviewer for e in events],
        "event_at": pa.array([e.event_at for e in events], pa.timestamp("us", "UTC")),
        "action": [e.action for e in events], "payload": [json.dumps(e.payload, ensure_ascii=False) for e in events],
        "batch_id": [e.batch_id for e in events], "bulk": pa.array([e.bulk for e in events], pa.bool_()),
        "undoes": pa.array([e.undoes for e in events], pa.string())})
    cursor.execute("INSERT INTO review_events (event_id, record_id, reviewer, event_at, action, payload, batch_id, bulk,"
                   " undoes) SELECT event_id, record_id, reviewer, event_at, action, payload, batch_id, bulk, undoes"
                   " FROM appended_events ORDER BY n")
    refresh(cursor, [event.record_id for event in events])  # the kept state follows the log, in this transaction
    # a claim's work is done once its reviewer has judged the record
    cursor.execute("DELETE FROM claims WHERE (record_id, reviewer) IN"
                   " (SELECT (record_id, reviewer) FROM appended_events WHERE action = 'verdict')")


def _reviewer(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ReviewError("a review needs a reviewer's name")
    return name


def _check_records(cursor: duckdb.DuckDBPyConnection, record_ids: list[str]) -> None:
    if len(record_ids) <= _LOOKED_UP:  # a save: found through the records' key index, not a join over all keys
        found = {row[0] for row in cursor.execute(
            f"SELECT record_id FROM records WHERE record_id IN ({', '.join('?' * len(record_ids))})",
            record_ids).fetchall()}
        missing = next(((record_id,) for record_id in record_ids if record_id not in found), None)
    else:
        missing = cursor.execute("SELECT id FROM unnest(?::VARCHAR[]) AS t(id) ANTI JOIN records r ON r.record_id = t.id"
                                 " LIMIT 1", [record_ids]).fetchone()
    if missing:
        raise ReviewError(f"no record {missing[0]!r} in this workspace")


_LOOKED_UP = 100  # up to this many records are checked by key lookups (0.4 ms) rather than a join (~50 ms at 1M)


def check_verdict(verdict: str) -> None:
    """Refuse anything but the four verdicts."""
    if verdict not in VERDICTS:
        raise ReviewError(f"unknown verdict {verdict!r}; use one of {', '.join(VERDICTS)}")


def _changes(workspace: Workspace, cursor: duckdb.DuckDBPyConnection, current: ReviewState,
             verdict: str | None, tags: Iterable[str] | None, correction: str | None, tool_calls: Any,
             note: str | None) -> list[tuple[str, Any, Any]]:
    """(action, before, after) for every field the save changes; None leaves a field as it is."""
    changes: list[tuple[str, Any, Any]] = []
    if verdict is not None and verdict != current.verdict:
        check_verdict(verdict)
        changes.append(("verdict", current.verdict, verdict))
    if tags is not None:
        try:
            ids = tag_ids_for_review(workspace, list(tags), frozenset(current.tags), cursor)
        except UnknownTag as exc:
            raise ReviewError(str(exc)) from exc
        if ids != sorted(current.tags):
            changes.append(("tags", sorted(current.tags), ids))
    if correction is not None or tool_calls is not None:
        before = {"text": current.correction, "tool_calls": current.tool_calls} if (
            current.correction is not None or current.tool_calls is not None) else None
        text = current.correction if correction is None else (correction or None)
        calls = current.tool_calls if tool_calls is None else (tool_calls or None)
        after = {"text": text, "tool_calls": calls} if (text is not None or calls is not None) else None
        if after != before:
            changes.append(("correction", before, after))
    if note is not None and (note or None) != current.note:
        changes.append(("note", current.note, note or None))
    return changes


def save_review(workspace: Workspace, record_id: str, reviewer: str, *, verdict: str | None = None,
                tags: Iterable[str] | None = None, correction: str | None = None, tool_calls: Any = None,
                note: str | None = None, at: datetime | None = None) -> list[ReviewEvent]:
    """Record one save of a reviewer's review: one event per changed field, all in one batch.

    None leaves a field unchanged; "" (or [] for tags and tool calls) clears it. Tags are ids or
    names; a retired tag is refused unless the review already had it. Returns the events written
    (none when nothing changed).
    """
    reviewer = _reviewer(reviewer)
    at = at or now_utc()
    with workspace.transaction() as cursor:
        _check_records(cursor, [record_id])
        current = reviewer_state(workspace, record_id, reviewer, cursor)
        batch_id = new_id()
        events = [ReviewEvent(new_id(), record_id, reviewer, at, action, {"before": before, "after": after}, batch_id)
                  for action, before, after in
                  _changes(workspace, cursor, current, verdict, tags, correction, tool_calls, note)]
        append(cursor, events)
    return events


def save_from_editor(workspace: Workspace, record: dict[str, Any], reviewer: str, *, verdict: str | None,
                     tags: Iterable[str], correction: str, tool_calls_text: str | None, note: str,
                     at: datetime | None = None) -> list[ReviewEvent]:
    """Save what a review form holds: its correction editor starts as the model's own answer.

    An editor left as it was prefilled (the response, and the logged tool calls as JSON) is no
    correction and is not saved as one, unless the reviewer had saved a correction before (then
    going back to the response is a change). `tool_calls_text` is the tool-call editor's JSON (None
    when the record has no tool calls; empty for none). Bad JSON raises ReviewError.
    """
    try:
        tool_calls = (json.loads(tool_calls_text) if tool_calls_text.strip() else []) \
            if tool_calls_text is not None else None
    except ValueError as exc:
        raise ReviewError(f"the corrected tool calls are not JSON: {exc}") from exc
    current = reviewer_state(workspace, record["record_id"], _reviewer(reviewer))
    had_correction = current.correction is not None or current.tool_calls is not None
    untouched = correction == (record["response_text"] or "") and tool_calls in (None, record["tool_calls"])
    if untouched and not had_correction:
        correction, tool_calls = None, None
    return save_review(workspace, record["record_id"], reviewer, verdict=verdict, tags=tags,
                       correction=correction, tool_calls=tool_calls, note=note, at=at)


def _bulk_events(workspace: Workspace, cursor: duckdb.DuckDBPyConnection, record_ids: Iterable[str], reviewer: str,
                 verdict: str | None, add_tag: str | None, remove_tag: str | None, at: datetime) -> list[ReviewEvent]:
    """The events a bulk action would write: one per record it changes, sharing one batch id."""
    if sum(value is not None for value in (verdict, add_tag, remove_tag)) != 1:
        raise ReviewError("a bulk action sets a verdict or adds or removes one tag")
    if verdict is not None:
        check_verdict(verdict)
    try:
        tag = tag_ids_for_review(workspace, [add_tag], cursor=cursor)[0] if add_tag else None
        untag = resolve_tag(workspace, remove_tag, cursor).tag_id if remove_tag else None
    except UnknownTag as exc:
        raise ReviewError(str(exc)) from exc
    batch_id = new_id()
    events = []
    record_ids = list(dict.fromkeys(record_ids))
    _check_records(cursor, record_ids)
    for record_id, current in reviews_by(workspace, reviewer, record_ids, cursor).items():
        if verdict is not None:
            before, after, action = current.verdict, verdict, "verdict"
        else:
            before, action = sorted(current.tags), "tags"
            after = sorted(set(before) - {untag}) if untag else sorted(set(before) | {tag})
        if before != after:
            events.append(ReviewEvent(new_id(), record_id, reviewer, at, action, {"before": before, "after": after},
                                      batch_id, bulk=True))
    return events


def bulk_preview(workspace: Workspace, record_ids: Iterable[str], reviewer: str, *, verdict: str | None = None,
                 add_tag: str | None = None, remove_tag: str | None = None) -> int:
    """How many records a bulk action would change, for its confirmation; writes nothing."""
    cursor = workspace.cursor()
    return len(_bulk_events(workspace, cursor, record_ids, _reviewer(reviewer), verdict, add_tag, remove_tag, now_utc()))


def bulk_apply(workspace: Workspace, record_ids: Iterable[str], reviewer: str, *, verdict: str | None = None,
               add_tag: str | None = None, remove_tag: str | None = None,
               at: datetime | None = None) -> list[ReviewEvent]:
    """Set one verdict, or add or remove one tag, on many records at once: one event per record
    changed, one batch, undone as a whole by `undo`. Returns the events written."""
    reviewer = _reviewer(reviewer)
    with workspace.transaction() as cursor:
        events = _bulk_events(workspace, cursor, record_ids, reviewer, verdict, add_tag, remove_tag, at or now_utc())
        append(cursor, events)
    return events


def _event(row: tuple, columns: list[str]) -> ReviewEvent:
    values = dict(zip(columns, row))
    values["payload"] = json.loads(values["payload"])
    return ReviewEvent(**values)


_EVENT_COLUMNS = "event_id, record_id, reviewer, event_at, action, payload, batch_id, bulk, undoes"


def list_events(workspace: Workspace, record_id: str | None = None,
                cursor: duckdb.DuckDBPyConnection | None = None) -> list[ReviewEvent]:
    """The log, oldest first; of one record when `record_id` is given (its history, for the page)."""
    cursor = cursor or workspace.cursor()
    where, params = ("WHERE record_id = ?", [record_id]) if record_id is not None else ("", [])
    cursor.execute(f"SELECT {_EVENT_COLUMNS} FROM review_events {where} ORDER BY event_at, seq", params)
    columns = [column[0] for column in cursor.description]
    return [_event(row, columns) for row in cursor.fetchall()]


# The reviewer's actions still in effect, latest first (a save, a bulk action or an adjudication is one
# batch); `$batch` NULL: all of them, else only that one. Shared by undo and by what undo says it will do.
_EFFECTIVE_BATCHES_SQL = """
    WITH effective AS (SELECT * FROM review_events e WHERE e.action <> 'undo' AND NOT EXISTS (
        SELECT 1 FROM review_events u WHERE u.action = 'undo' AND u.undoes = e.event_id)),
    target AS (SELECT batch_id FROM effective WHERE reviewer = $reviewer AND ($batch IS NULL OR batch_id = $batch)
               GROUP BY batch_id ORDER BY max(event_at) DESC, max(seq) DESC LIMIT 1)"""


@dataclass(frozen=True)
class Action:
    """One of a reviewer's actions still in effect, as undo names it before undoing it: which calls
    (by the id their source gave them), which fields, when, and whether it was a bulk action."""

    batch_id: str
    reviewer: str
    at: datetime
    bulk: bool
    fields: tuple[str, ...]
    record_ids: tuple[str, ...]
    calls: tuple[str, ...]
    verdicts: tuple[str, ...] = ()


def last_action(workspace: Workspace, reviewer: str, batch_id: str | None = None) -> Action | None:
    """The reviewer's latest action still in effect (or the batch `batch_id`, while it is in effect):
    what `undo` with the same arguments would cancel. None when there is nothing left to undo."""
    reviewer = _reviewer(reviewer)
    rows = workspace.cursor().execute(f"""{_EFFECTIVE_BATCHES_SQL}
        SELECT e.batch_id, e.record_id, coalesce(r.source_id, e.record_id), e.event_at, e.action, e.payload, e.bulk
        FROM effective e LEFT JOIN records r USING (record_id)
        WHERE e.batch_id IN (SELECT batch_id FROM target) ORDER BY e.seq""",
        {"reviewer": reviewer, "batch": batch_id}).fetchall()
    if not rows:
        return None
    verdicts = [json.loads(row[5]).get("after") for row in rows if row[4] == "verdict"]
    return Action(rows[0][0], reviewer, max(row[3] for row in rows), any(row[6] for row in rows),
                  tuple(dict.fromkeys(row[4] for row in rows)), tuple(dict.fromkeys(row[1] for row in rows)),
                  tuple(dict.fromkeys(row[2] for row in rows)), tuple(dict.fromkeys(v for v in verdicts if v)))


def describe_action(action: Action, now: datetime | None = None, most: int = 3) -> str:
    """The action in words, for the undo button and its confirmation: "ana's save on call f-0
    (verdict hard_example, correction) from 10:02 UTC". Why so much: an undo that names only a count
    lets a second press cancel an earlier save on another call without the reviewer noticing."""
    when = action.at.astimezone(timezone.utc)
    today = (now or now_utc()).astimezone(timezone.utc).date() == when.date()
    kind = ("bulk action" if action.bulk else "final answer" if action.fields == ("adjudication",) else "save")
    more = len(action.calls) - most
    shown = ", ".join(action.calls[:most]) + (f" and {more} more" if more > 0 else "")
    calls = f"call {shown}" if len(action.calls) == 1 else f"{len(action.calls)} calls ({shown})"
    fields = ", ".join(f"verdict {action.verdicts[0]}" if field == "verdict" and len(action.verdicts) == 1 else field
                       for field in action.fields if field != "adjudication")
    return (f"{action.reviewer}'s {kind} on {calls}" + (f" ({fields})" if fields else "")
            + f" from {when:%H:%M} UTC" + ("" if today else f" on {when:%Y-%m-%d}"))


def undo(workspace: Workspace, reviewer: str, batch_id: str | None = None,
         at: datetime | None = None) -> list[ReviewEvent]:
    """Undo one of the reviewer's own actions, by default the latest one still in effect (so calling
    it again walks further back): one `undo` event per event of that action. Returns them (none
    when there is nothing left to undo, or `batch_id` is no longer in effect); someone else's action
    cannot be undone."""
    reviewer = _reviewer(reviewer)
    at = at or now_utc()
    with workspace.transaction() as cursor:
        cursor.execute(f"""{_EFFECTIVE_BATCHES_SQL}
            SELECT {_EVENT_COLUMNS} FROM effective WHERE batch_id IN (SELECT batch_id FROM target)
            ORDER BY seq""", {"reviewer": reviewer, "batch": batch_id})
        columns = [column[0] for column in cursor.description]
        undone = [_event(row, columns) for row in cursor.fetchall()]
        undo_batch = new_id()
        events = [ReviewEvent(new_id(), event.record_id, reviewer, at, "undo",
                              {"action": event.action, "before": event.after, "after": event.before},
                              undo_batch, event.bulk, event.event_id) for event in undone]
        append(cursor, events)
    return events
