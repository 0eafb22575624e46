"""Review progress for the team and the weekly meeting: per failure mode, per reviewer, per day.

Why from the log: progress is just another reading of `review_events` (through the review state
mining.review.state derives and mining.review.state_table keeps), so it can never disagree with what
the queue shows. A record counts as reviewed once someone gave
it a verdict other than skip, or a lead adjudicated it; "remaining" are the failing records not
reviewed yet.
"""

from __future__ import annotations

import polars as pl

from mining.cluster import latest_run, membership_sql
from mining.review.state import EFFECTIVE_SQL, NOT_A_REVIEW, RECORD_STATE, REVIEWER_STATE
from mining.store import Workspace

_REVIEWED = "(len(s.reviewers) > 0 OR s.adjudicated_by IS NOT NULL)"


def progress_by_cluster(workspace: Workspace) -> pl.DataFrame:
    """Per mode of the latest run (-1: unclustered, including failures no run has seen yet):
    cluster_id, cluster_name, failures, reviewed, hard_examples, remaining; biggest first."""
    run = latest_run(workspace)
    return workspace.frame(f"""
        WITH fail AS (SELECT DISTINCT record_id FROM signals),
        cl AS ({membership_sql()})
        SELECT coalesce(cl.cluster_id, -1) AS cluster_id, any_value(cl.cluster_name) AS cluster_name,
               count(*) AS failures,
               count(*) FILTER (WHERE {_REVIEWED}) AS reviewed,
               count(*) FILTER (WHERE s.verdict = 'hard_example') AS hard_examples,
               count(*) FILTER (WHERE NOT coalesce({_REVIEWED}, false)) AS remaining
        FROM fail LEFT JOIN cl USING (record_id) LEFT JOIN {RECORD_STATE} s USING (record_id)
        GROUP BY 1 ORDER BY failures DESC, cluster_id""", {"run_id": run["run_id"] if run else None})


def progress_by_reviewer(workspace: Workspace) -> pl.DataFrame:
    """Per reviewer: reviewed (records judged), hard_examples, skipped, corrections written,
    open_claims (live claims not judged yet), last_change; most reviews first."""
    return workspace.frame(f"""
        WITH s AS (SELECT * FROM {REVIEWER_STATE})
        SELECT reviewer,
               count(*) FILTER (WHERE verdict IS NOT NULL AND verdict <> '{NOT_A_REVIEW}') AS reviewed,
               count(*) FILTER (WHERE verdict = 'hard_example') AS hard_examples,
               count(*) FILTER (WHERE verdict = '{NOT_A_REVIEW}') AS skipped,
               count(*) FILTER (WHERE correction IS NOT NULL) AS corrections,
               (SELECT count(*) FROM claims c WHERE c.reviewer = s.reviewer AND c.expires_at > now()) AS open_claims,
               max(last_change) AS last_change
        FROM s GROUP BY reviewer ORDER BY reviewed DESC, reviewer""")


def reviews_per_day(workspace: Workspace) -> pl.DataFrame:
    """Per UTC day and reviewer: records given a verdict that day (undone ones not counted)."""
    return workspace.frame(f"""
        SELECT CAST(event_at AT TIME ZONE 'UTC' AS DATE) AS day, reviewer, count(DISTINCT record_id) AS reviews
        FROM ({EFFECTIVE_SQL}) WHERE action = 'verdict' AND payload ->> '$.after' <> '{NOT_A_REVIEW}'
        GROUP BY ALL ORDER BY day, reviewer""")
