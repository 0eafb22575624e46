"""The review queue: which failure a reviewer should look at next, and claims on batches of them.

Why the order: a reviewer's hour is best spent where a correction fixes the most calls, so the
queue follows the latest clustering run's impact (size x lift), with new and growing modes first,
then the other modes, then unclustered failures; within that, work still to do comes before work
done. Filtering, ordering and paging all happen in one DuckDB query.

Why claims: two reviewers working the same queue would otherwise judge the same records. A claim
holds a record for one reviewer until it expires (30 minutes by default), so an abandoned batch
frees itself; others' live claims are skipped by every reviewer's queue, and judging a record
releases its reviewer's claim (mining.review.events). Every function takes the time `at`, so
tests can move the clock.

Blindness: while a record picked for a second review (mining.review.second_review) waits for its second
reviewer, every reviewer who has not judged it gets its record-level verdict, tags and dispute
flag as NULL, never the first reviewer's answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import polars as pl

from mining.cluster import NOISE, latest_run, membership_sql
from mining.common import now_utc
from mining.review.second_review import second_review_share, second_review_sql
from mining.review.state import RECORD_STATE, REVIEWER_STATE
from mining.review.suggest import doubts_for
from mining.sql_filter import Where
from mining.store import Workspace

ReviewStateFilter = Literal["any", "todo", "unreviewed", "reviewed", "disputed", "adjudicated"]
STATES: tuple[str, ...] = ("any", "todo", "unreviewed", "reviewed", "disputed", "adjudicated")
ORDERS: tuple[str, ...] = ("priority", "uncertain", "newest", "oldest")
DOUBT_LIMIT = 5_000  # unreviewed calls, in priority order, that the reader ranks for the "uncertain" order
CLAIM_TTL = timedelta(minutes=30)
PREVIEW_CHARS = 160


@dataclass(frozen=True)
class QueueFilter:
    """Which failures to show; empty tuples and None mean "no restriction".

    `clusters` may hold -1 for unclustered failures; `tags` matches records whose current tags
    include any of these tag ids; `reviewed_by` records judged by any of these reviewers; `state`:
    todo (needs a review, from this reviewer when one is given), unreviewed, reviewed, disputed,
    adjudicated. `until` is exclusive. `order` (one of ORDERS) is how the queue is sorted:
    priority (the default: the reviewer's claims, work to do, then new and growing modes and the
    others by impact), uncertain (the calls the small reader is least sure of first, which reaches
    modes nobody reviewed sooner; priority order until it has learnt from enough reviews), newest
    or oldest first; save-and-next and claims follow it too.
    """

    clusters: tuple[int, ...] = ()
    signals: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    source_files: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    reviewed_by: tuple[str, ...] = ()
    state: ReviewStateFilter = "any"
    order: str = "priority"


def _preview(column: str) -> str:
    return f"regexp_replace(left({column}, {PREVIEW_CHARS}), '\\s+', ' ', 'g')"


def _base_sql(share: float) -> str:
    """Every failure with its cluster, review state (as $reviewer sees it) and live claim."""
    return f"""
    WITH fail AS (SELECT record_id, list(signal ORDER BY signal) AS signals FROM signals GROUP BY record_id),
    cl AS ({membership_sql()}),
    my AS (SELECT record_id, verdict, tags FROM {REVIEWER_STATE} WHERE reviewer = $reviewer),
    rs AS (SELECT * FROM {RECORD_STATE}),
    claim AS (SELECT record_id, reviewer AS claimed_by, expires_at FROM claims WHERE expires_at > $at),
    q AS (
        SELECT r.record_id, coalesce(r.source_id, r.record_id) AS source_id, r.ts, r.model, r.source_file, fail.signals,
               coalesce(cl.cluster_id, {NOISE}) AS cluster_id, cl.cluster_name, cl.cluster_status,
               coalesce(cl.impact, 0) AS impact,
               CASE WHEN cl.cluster_status IN ('growing', 'new') THEN 0 WHEN cl.cluster_status IS NOT NULL THEN 1
                    ELSE 2 END AS tier,
               claim.claimed_by, claim.expires_at AS claim_expires,
               my.verdict AS my_verdict, coalesce(my.tags, []::VARCHAR[]) AS my_tags,
               coalesce(rs.reviewers, []::VARCHAR[]) AS reviewers, rs.verdict AS shared_verdict,
               coalesce(rs.tags, []::VARCHAR[]) AS shared_tags, coalesce(rs.disputed, false) AS disputed,
               rs.adjudicated_by IS NOT NULL AS adjudicated, rs.last_change,
               {second_review_sql('r.record_id', share)} AS second_review,
               my.verdict IS NOT NULL AS judged_by_me
        FROM fail JOIN records r USING (record_id) LEFT JOIN cl USING (record_id)
        LEFT JOIN my USING (record_id) LEFT JOIN rs USING (record_id) LEFT JOIN claim USING (record_id))
    SELECT *, len(reviewers) AS reviews,
           NOT adjudicated AND NOT judged_by_me
               AND (len(reviewers) = 0 OR (second_review AND len(reviewers) < 2)) AS todo,
           $reviewer IS NOT NULL AND NOT adjudicated AND NOT judged_by_me
               AND second_review AND len(reviewers) = 1 AS blind
    FROM q"""


def _where(f: QueueFilter, reviewer: str | None) -> Where:
    """The filter's conditions over the base query's columns."""
    if f.state not in STATES:
        raise ValueError(f"unknown review state {f.state!r}; use one of {', '.join(STATES)}")
    where = Where()
    where.among("clusters", "cluster_id", f.clusters)
    where.among("source_files", "source_file", f.source_files)
    where.among("models", "model", f.models)
    where.overlapping("signals", "signals", f.signals)
    where.overlapping("tags", "CASE WHEN blind THEN []::VARCHAR[] ELSE shared_tags END", f.tags)
    where.overlapping("reviewed_by", "reviewers", f.reviewed_by)
    where.between("ts", f.since, f.until)
    where.add({"any": "true", "todo": "todo", "unreviewed": "len(reviewers) = 0 AND NOT adjudicated",
               "reviewed": "(len(reviewers) > 0 OR adjudicated)", "disputed": "disputed",
               "adjudicated": "adjudicated"}[f.state])
    if reviewer is not None:
        where.add("(claimed_by IS NULL OR claimed_by = $reviewer)")
    return where


_ORDER_BY = {
    "priority": "coalesce(claimed_by = $reviewer, false) DESC, todo DESC, tier, impact DESC, ts DESC NULLS LAST",
    "uncertain": "coalesce(claimed_by = $reviewer, false) DESC, todo DESC, doubt DESC NULLS LAST, tier, impact DESC, "
                 "ts DESC NULLS LAST",
    "newest": "coalesce(claimed_by = $reviewer, false) DESC, todo DESC, ts DESC NULLS LAST",
    "oldest": "coalesce(claimed_by = $reviewer, false) DESC, todo DESC, ts NULLS LAST",
}


def _query(workspace: Workspace, f: QueueFilter, reviewer: str | None, at: datetime | None,
           ranked: bool = True) -> tuple[str, dict[str, Any]]:
    """The queue's SELECT and its parameters; `ranked` False leaves out its order and the reader's
    doubts, which a count does not need."""
    if f.order not in ORDERS:
        raise ValueError(f"unknown order {f.order!r}; use one of {', '.join(ORDERS)}")
    where = _where(f, reviewer)
    run = latest_run(workspace)
    params = {**where.params, "run_id": run["run_id"] if run else None, "reviewer": reviewer, "at": at or now_utc()}
    base = _base_sql(second_review_share(workspace))
    if f.order == "uncertain" and ranked:
        doubts = _doubts(workspace, base, params)
        params.update(doubt_ids=list(doubts), doubt_values=list(doubts.values()))
        base = (f"SELECT b.*, d.doubt FROM ({base}) b LEFT JOIN (SELECT unnest($doubt_ids::VARCHAR[]) AS record_id, "
                f"unnest($doubt_values::DOUBLE[]) AS doubt) d USING (record_id)")
    sql = f"SELECT * FROM ({base}) WHERE {where.sql}" + (f" ORDER BY {_order(f)}" if ranked else "")
    return sql, params


def _order(f: QueueFilter) -> str:
    """The queue's order over the base query's columns; record_id last, so it is total."""
    return f"{_ORDER_BY[f.order]}, record_id"


def _doubts(workspace: Workspace, base: str, params: dict[str, Any]) -> dict[str, float]:
    """The reader's doubt about the first DOUBT_LIMIT calls nobody reviewed, in priority order
    (mining.review.suggest); the others sort after them, in priority order."""
    unreviewed = workspace.cursor().execute(
        f"SELECT record_id FROM ({base}) WHERE len(reviewers) = 0 AND NOT adjudicated "
        f"ORDER BY {_ORDER_BY['priority']}, record_id LIMIT {DOUBT_LIMIT}", params).fetchall()
    return doubts_for(workspace, [row[0] for row in unreviewed])


_SHOWN = f"""record_id, source_id, ts, model, source_file, {_preview('r.cluster_text')} AS request,
    {_preview('r.response_text')} AS response, signals, cluster_id, cluster_name,
    cluster_status, impact, claimed_by, claim_expires, my_verdict, my_tags, reviews, todo, second_review, blind,
    CASE WHEN blind THEN NULL ELSE shared_verdict END AS verdict,
    CASE WHEN blind THEN NULL ELSE shared_tags END AS tags,
    CASE WHEN blind THEN NULL ELSE disputed END AS disputed, adjudicated, last_change"""


def queue_page(workspace: Workspace, f: QueueFilter = QueueFilter(), reviewer: str | None = None, page: int = 1,
               page_size: int = 50, at: datetime | None = None) -> pl.DataFrame:
    """One page of the queue as `reviewer` sees it (None: a lead's view of everything).

    Columns: record_id, source_id, ts, model, source_file, request, response (one-line previews),
    signals, cluster_id (-1 unclustered), cluster_name, cluster_status, impact, claimed_by,
    claim_expires, my_verdict, my_tags, reviews (reviewers with a verdict), todo, second_review,
    blind, verdict and tags (the record's; NULL while blind), disputed, adjudicated, last_change.
    """
    sql, params = _query(workspace, f, reviewer, at)
    params.update(limit=page_size, offset=(max(page, 1) - 1) * page_size)
    # The previews are cut from the page's records alone: cutting them for every failure before
    # sorting read the text of the whole queue (a second at 100k failures).
    return workspace.frame(f"""
        WITH page AS (SELECT * FROM ({sql}) LIMIT $limit OFFSET $offset),
        r AS (SELECT record_id, cluster_text, response_text FROM records
              WHERE record_id IN (SELECT record_id FROM page))
        SELECT {_SHOWN} FROM page LEFT JOIN r USING (record_id) ORDER BY {_order(f)}""", params)


def queue_count(workspace: Workspace, f: QueueFilter = QueueFilter(), reviewer: str | None = None,
                at: datetime | None = None) -> int:
    """How many failures the filter holds, for paging and a bulk action's confirmation. The order
    changes no count, so "uncertain" does not ask the reader for its doubts here as well as for the page."""
    sql, params = _query(workspace, f, reviewer, at, ranked=False)
    return workspace.cursor().execute(f"SELECT count(*) FROM ({sql})", params).fetchone()[0]


def queue_record_ids(workspace: Workspace, f: QueueFilter = QueueFilter(), reviewer: str | None = None,
                     limit: int | None = None, at: datetime | None = None) -> list[str]:
    """The record ids of the queue in order (all of a cluster for a bulk action, or the next few)."""
    sql, params = _query(workspace, f, reviewer, at)
    params["limit"] = limit
    return [row[0] for row in workspace.cursor().execute(f"SELECT record_id FROM ({sql}) LIMIT $limit",
                                                         params).fetchall()]


def in_queue(workspace: Workspace, record_id: str, f: QueueFilter = QueueFilter(), reviewer: str | None = None,
             at: datetime | None = None) -> bool:
    """Whether the queue `f` (as `reviewer` sees it) holds the record: when a reviewer changes the
    filter, the Review page keeps the call under review only while the new queue still shows it."""
    sql, params = _query(workspace, f, reviewer, at)
    params["record_id"] = record_id
    return workspace.cursor().execute(f"SELECT count(*) FROM ({sql}) WHERE record_id = $record_id",
                                      params).fetchone()[0] > 0


def next_record(workspace: Workspace, reviewer: str, f: QueueFilter = QueueFilter(state="todo"),
                after: str | None = None, at: datetime | None = None) -> str | None:
    """The record to open after saving `after` (save-and-next): the first of the reviewer's queue
    other than it, or None when the queue is done."""
    sql, params = _query(workspace, f, reviewer, at)
    params["after"] = after
    row = workspace.cursor().execute(
        f"SELECT record_id FROM ({sql}) WHERE record_id IS DISTINCT FROM $after LIMIT 1", params).fetchone()
    return row[0] if row else None


def claim_batch(workspace: Workspace, reviewer: str, n: int = 20, f: QueueFilter = QueueFilter(state="todo"),
                ttl: timedelta = CLAIM_TTL, at: datetime | None = None) -> list[str]:
    """Claim the next `n` records of the reviewer's queue that nobody holds a live claim on, until
    `at + ttl`. Returns their ids in queue order (fewer when the queue runs out)."""
    at = at or now_utc()
    with workspace.transaction() as cursor:
        sql, params = _query(workspace, f, reviewer, at)
        params["n"] = n
        ids = [row[0] for row in cursor.execute(
            f"SELECT record_id FROM ({sql}) WHERE claimed_by IS NULL LIMIT $n", params).fetchall()]
        for record_id in ids:
            cursor.execute("INSERT OR REPLACE INTO claims (record_id, reviewer, claimed_at, expires_at)"
                           " VALUES (?, ?, ?, ?)", [record_id, reviewer, at, at + ttl])
    return ids


def release_claims(workspace: Workspace, reviewer: str, record_ids: list[str] | None = None) -> int:
    """Give back the reviewer's claims (all of them, or these records'); returns how many."""
    with workspace.transaction() as cursor:
        where, params = "reviewer = ?", [reviewer]
        if record_ids is not None:
            where += " AND record_id IN (SELECT unnest(?::VARCHAR[]))"
            params.append(record_ids)
        count = cursor.execute(f"SELECT count(*) FROM claims WHERE {where}", params).fetchone()[0]
        cursor.execute(f"DELETE FROM claims WHERE {where}", params)
    return count


def live_claims(workspace: Workspace, reviewer: str | None = None, at: datetime | None = None) -> list[dict[str, Any]]:
    """The claims not yet expired (of one reviewer, or everyone's): record_id, reviewer, claimed_at, expires_at."""
    cursor = workspace.cursor().execute(
        "SELECT record_id, reviewer, claimed_at, expires_at FROM claims WHERE expires_at > $at"
        " AND ($reviewer IS NULL OR reviewer = $reviewer) ORDER BY claimed_at, record_id",
        {"at": at or now_utc(), "reviewer": reviewer})
    columns = [column[0] for column in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]
