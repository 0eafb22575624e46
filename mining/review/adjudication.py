"""Settling disagreements: the list of disputed records and a lead's final answer for each.

Why an event and not an overwrite: the reviewers' own answers stay in the log as they gave them
(agreement is measured on them); the lead's `adjudication` event only decides what the record
counts as from now on (mining.review.state), and the lead can undo it like any other action.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

from mining.common import now_utc
from mining.review.events import ReviewError, ReviewEvent, append, check_verdict, new_id
from mining.review.state import RECORD_STATE, record_state, reviewer_states, reviewer_states_of
from mining.store import Workspace
from mining.review.taxonomy import UnknownTag, tag_ids_for_review


def disagreements(workspace: Workspace, limit: int = 200) -> list[dict[str, Any]]:
    """Disputed records (judged differently, in verdict or tags, and not adjudicated), most recent first.

    Each: record_id, source_id, last_change, reviews (every reviewer's own ReviewState).
    """
    cursor = workspace.cursor()
    rows = cursor.execute(f"""
        SELECT s.record_id, coalesce(r.source_id, s.record_id), s.last_change
        FROM {RECORD_STATE} s JOIN records r USING (record_id)
        WHERE s.disputed ORDER BY s.last_change DESC, s.record_id LIMIT ?""", [limit]).fetchall()
    states = reviewer_states_of(workspace, [row[0] for row in rows], cursor)
    return [{"record_id": record_id, "source_id": source_id, "last_change": last_change,
             "reviews": [state for state in states.get(record_id, []) if state.verdict]}
            for record_id, source_id, last_change in rows]


def adjudicate(workspace: Workspace, record_id: str, lead: str, *, pick: str | None = None,
               verdict: str | None = None, tags: Iterable[str] | None = None, correction: str | None = None,
               tool_calls: Any = None, at: datetime | None = None) -> ReviewEvent:
    """Record a lead's final answer for a record: one reviewer's review (`pick`), or the lead's own,
    or a pick with some fields overridden. Returns the adjudication event."""
    lead = " ".join((lead or "").split())
    if not lead:
        raise ReviewError("an adjudication needs the lead's name")
    with workspace.transaction() as cursor:
        states = {state.reviewer: state for state in reviewer_states(workspace, record_id, cursor)}
        if not states:
            raise ReviewError(f"record {record_id!r} has no reviews to adjudicate")
        if pick is not None and pick not in states:
            raise ReviewError(f"{pick!r} has not reviewed record {record_id!r}")
        base = states.get(pick)
        final_verdict = verdict or (base.verdict if base else None)
        if final_verdict is None:
            raise ReviewError("an adjudication needs a verdict, given or picked")
        check_verdict(final_verdict)
        offered = frozenset(tag for state in states.values() for tag in state.tags)
        try:
            final_tags = tag_ids_for_review(workspace, list(tags), offered, cursor) if tags is not None else (
                sorted(base.tags) if base else [])
        except UnknownTag as exc:
            raise ReviewError(str(exc)) from exc
        after = {"verdict": final_verdict, "tags": final_tags,
                 "correction": correction if correction is not None else (base.correction if base else None),
                 "tool_calls": tool_calls if tool_calls is not None else (base.tool_calls if base else None)}
        now = record_state(workspace, record_id)
        before = {"verdict": now.verdict, "tags": list(now.tags), "correction": now.correction,
                  "tool_calls": now.tool_calls}
        event = ReviewEvent(new_id(), record_id, lead, at or now_utc(), "adjudication",
                            {"before": before, "after": after, "picked": pick}, new_id())
        append(cursor, [event])
    return event
