"""The current state of reviews, derived in SQL from the append-only `review_events` log.

Why derived: the log is the only thing reviewers write, so nothing a reviewer did can be
overwritten or lost, two writers can only ever add rows, and undo is one more event. The SQL here
is the definition of the state; the pages read a copy of it kept in two tables
(mining.review.state_table), rewritten for each record an append touches, because deriving it
from the whole log on every page run is too slow for a big workspace. The state is:

- per (record, reviewer): that reviewer's own verdict, tags, correction (text and, for tool-calling
  records, the corrected tool calls), note and last change. Reviewers never overwrite each other:
  a blind second review stays its own answer, so agreement can be measured.
- per record: the adjudicated answer when a lead gave one; otherwise the verdict all reviewers
  agree on (None while they disagree: the record is `disputed`), and the latest tags, correction
  and note anyone wrote.

An event counts ("is effective") unless it is an undo or an undo points at it; the value of a field
is the `after` of the latest effective event setting it (by time, then arrival order). So undoing
twice walks back two actions, and an undone event simply stops counting.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mining.store import Workspace

FIELDS = ("verdict", "tags", "correction", "note")
NOT_A_REVIEW = "skip"  # a verdict that passes on the record: it judges nothing

LOG = "review_events"
# The maintained copies of what the two derivations below give (mining.review.state_table keeps them
# right on every append): what pages read, since deriving costs a scan of the whole log per call.
REVIEWER_STATE = "review_reviewer_state"
RECORD_STATE = "review_record_state"


def effective_sql(events: str = LOG) -> str:
    """The events that count, of `events` (the log, or a SELECT of some records' whole history:
    an undo always has the record of the event it undoes)."""
    return f"""
    SELECT e.* FROM {events} e
    WHERE e.action <> 'undo'
      AND NOT EXISTS (SELECT 1 FROM {events} u WHERE u.action = 'undo' AND u.undoes = e.event_id)"""


EFFECTIVE_SQL = effective_sql()


def reviewer_state_sql(events: str = LOG) -> str:
    """A SELECT of every (record_id, reviewer)'s own state: verdict, tags (VARCHAR[]), correction,
    tool_calls (JSON), note, last_change. Adjudications are not reviews and are left out. Derived
    from `events` (see effective_sql); REVIEWER_STATE holds the same rows, kept up to date."""
    return f"""
    WITH effective AS ({effective_sql(events)}),
    latest AS (
        SELECT record_id, reviewer, action, payload FROM effective WHERE action IN {FIELDS}
        QUALIFY row_number() OVER (PARTITION BY record_id, reviewer, action ORDER BY event_at DESC, seq DESC) = 1),
    touched AS (
        SELECT record_id, reviewer, max(event_at) AS last_change FROM {events}
        WHERE action <> 'adjudication' GROUP BY record_id, reviewer)
    SELECT t.record_id, t.reviewer,
           any_value(CASE WHEN l.action = 'verdict' THEN l.payload ->> '$.after' END) AS verdict,
           coalesce(any_value(CASE WHEN l.action = 'tags' THEN (l.payload -> '$.after')::VARCHAR[] END),
                    []::VARCHAR[]) AS tags,
           any_value(CASE WHEN l.action = 'correction' THEN l.payload -> '$.after' ->> '$.text' END) AS correction,
           any_value(CASE WHEN l.action = 'correction' THEN l.payload -> '$.after' -> '$.tool_calls' END) AS tool_calls,
           any_value(CASE WHEN l.action = 'note' THEN l.payload ->> '$.after' END) AS note,
           t.last_change
    FROM touched t LEFT JOIN latest l USING (record_id, reviewer)
    GROUP BY t.record_id, t.reviewer, t.last_change"""


def record_state_sql(events: str = LOG) -> str:
    """A SELECT of every reviewed record's state: verdict, tags, correction, tool_calls, note,
    reviewers (those with a real verdict), adjudicated_by, disputed, last_change, last_reviewer.
    Derived from `events` (see effective_sql); RECORD_STATE holds the same rows, kept up to date."""
    judged = f"verdict IS NOT NULL AND verdict <> '{NOT_A_REVIEW}'"
    return f"""
    WITH effective AS ({effective_sql(events)}),
    states AS ({reviewer_state_sql(events)}),
    field_latest AS (
        SELECT record_id, action, payload FROM effective WHERE action IN {FIELDS}
        QUALIFY row_number() OVER (PARTITION BY record_id, action ORDER BY event_at DESC, seq DESC) = 1),
    latest AS (
        SELECT record_id,
               coalesce(any_value(CASE WHEN action = 'tags' THEN (payload -> '$.after')::VARCHAR[] END),
                        []::VARCHAR[]) AS tags,
               any_value(CASE WHEN action = 'correction' THEN payload -> '$.after' ->> '$.text' END) AS correction,
               any_value(CASE WHEN action = 'correction' THEN payload -> '$.after' -> '$.tool_calls' END) AS tool_calls,
               any_value(CASE WHEN action = 'note' THEN payload ->> '$.after' END) AS note
        FROM field_latest GROUP BY record_id),
    adjudication AS (
        SELECT record_id, reviewer AS adjudicated_by, payload -> '$.after' AS final FROM effective
        WHERE action = 'adjudication'
        QUALIFY row_number() OVER (PARTITION BY record_id ORDER BY event_at DESC, seq DESC) = 1),
    judged AS (
        SELECT record_id,
               list(reviewer ORDER BY reviewer) FILTER (WHERE {judged}) AS reviewers,
               count(DISTINCT verdict) FILTER (WHERE {judged}) AS verdicts,
               count(DISTINCT list_sort(tags)) FILTER (WHERE {judged}) AS tag_sets,
               any_value(verdict) FILTER (WHERE {judged}) AS agreed_verdict,
               bool_or(verdict = '{NOT_A_REVIEW}') AS skipped
        FROM states GROUP BY record_id),
    last AS (
        SELECT record_id, event_at AS last_change, reviewer AS last_reviewer FROM {events}
        QUALIFY row_number() OVER (PARTITION BY record_id ORDER BY event_at DESC, seq DESC) = 1)
    SELECT last.record_id,
           CASE WHEN a.record_id IS NOT NULL THEN a.final ->> '$.verdict'
                WHEN j.verdicts = 1 THEN j.agreed_verdict
                WHEN j.verdicts = 0 AND j.skipped THEN '{NOT_A_REVIEW}' END AS verdict,
           CASE WHEN a.record_id IS NOT NULL THEN coalesce((a.final -> '$.tags')::VARCHAR[], []::VARCHAR[])
                ELSE coalesce(l.tags, []::VARCHAR[]) END AS tags,
           CASE WHEN a.record_id IS NOT NULL THEN a.final ->> '$.correction' ELSE l.correction END AS correction,
           CASE WHEN a.record_id IS NOT NULL THEN a.final -> '$.tool_calls' ELSE l.tool_calls END AS tool_calls,
           l.note,
           coalesce(j.reviewers, []::VARCHAR[]) AS reviewers,
           a.adjudicated_by,
           a.record_id IS NULL AND (coalesce(j.verdicts, 0) > 1 OR coalesce(j.tag_sets, 0) > 1) AS disputed,
           last.last_change, last.last_reviewer
    FROM last LEFT JOIN latest l USING (record_id) LEFT JOIN judged j USING (record_id)
    LEFT JOIN adjudication a USING (record_id)"""


@dataclass(frozen=True)
class ReviewState:
    """One reviewer's own review of one record (all None / empty when they have not reviewed it)."""

    record_id: str
    reviewer: str
    verdict: str | None = None
    tags: tuple[str, ...] = ()
    correction: str | None = None
    tool_calls: Any = None
    note: str | None = None
    last_change: datetime | None = None


@dataclass(frozen=True)
class RecordState:
    """What the reviews of one record add up to (see the module docstring)."""

    record_id: str
    verdict: str | None = None
    tags: tuple[str, ...] = ()
    correction: str | None = None
    tool_calls: Any = None
    note: str | None = None
    reviewers: tuple[str, ...] = ()
    adjudicated_by: str | None = None
    disputed: bool = False
    last_change: datetime | None = None
    last_reviewer: str | None = None


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    row["tags"] = tuple(row["tags"] or ())
    row["tool_calls"] = json.loads(row["tool_calls"]) if row["tool_calls"] else None
    if "reviewers" in row:
        row["reviewers"] = tuple(row["reviewers"] or ())
    return row


def reviewer_states(workspace: Workspace, record_id: str, cursor: Any = None) -> list[ReviewState]:
    """Every reviewer's own review of a record, by reviewer name (for adjudication; never for a blind reviewer)."""
    return reviewer_states_of(workspace, [record_id], cursor).get(record_id, [])


def reviewer_states_of(workspace: Workspace, record_ids: list[str], cursor: Any = None) -> dict[str, list[ReviewState]]:
    """`reviewer_states` of many records in one query (the adjudication list's): record id -> states."""
    cursor = cursor or workspace.cursor()
    cursor.execute(f"SELECT * FROM {REVIEWER_STATE} WHERE record_id IN (SELECT unnest(?::VARCHAR[]))"
                   " ORDER BY record_id, reviewer", [record_ids])
    columns = [column[0] for column in cursor.description]
    found: dict[str, list[ReviewState]] = {}
    for row in cursor.fetchall():
        state = ReviewState(**_decoded(dict(zip(columns, row))))
        found.setdefault(state.record_id, []).append(state)
    return found


def reviews_by(workspace: Workspace, reviewer: str, record_ids: list[str], cursor: Any = None) -> dict[str, ReviewState]:
    """One reviewer's own reviews of many records in one query (empty states where they have none)."""
    cursor = cursor or workspace.cursor()
    cursor.execute(f"""SELECT * FROM {REVIEWER_STATE} WHERE reviewer = ?
                       AND record_id IN (SELECT unnest(?::VARCHAR[]))""", [reviewer, record_ids])
    columns = [column[0] for column in cursor.description]
    found = {row[0]: ReviewState(**_decoded(dict(zip(columns, row)))) for row in cursor.fetchall()}
    return {record_id: found.get(record_id, ReviewState(record_id, reviewer)) for record_id in record_ids}


def reviewer_state(workspace: Workspace, record_id: str, reviewer: str, cursor: Any = None) -> ReviewState:
    """One reviewer's own review of a record; empty when they have none."""
    return reviews_by(workspace, reviewer, [record_id], cursor)[record_id]


def record_state(workspace: Workspace, record_id: str) -> RecordState:
    """The record's reviews taken together; empty when nobody reviewed it."""
    cursor = workspace.cursor()
    cursor.execute(f"SELECT * FROM {RECORD_STATE} WHERE record_id = ?", [record_id])
    row = cursor.fetchone()
    if row is None:
        return RecordState(record_id)
    return RecordState(**_decoded(dict(zip([column[0] for column in cursor.description], row))))
