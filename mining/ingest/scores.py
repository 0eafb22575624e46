"""Scores logged apart from the calls they judge (Langfuse scores), joined onto records.

Why after every ingest: scores and observations are often exported as two files, in either order.
Each score is kept in `source_scores`; after each ingest the records it touches get their
feedback recomputed, so the result is the same whichever file came first.
"""

from __future__ import annotations

import json
from collections import defaultdict

from mining.ingest.record import FeedbackItem, Record

# Links by observation id, or by trace id for a score on a whole trace: two equality joins rather
# than one join on an OR, which DuckDB cannot hash and would run as records x scores comparisons.
# Then every score of each touched record, not only this ingest's: scores may come in several
# files, and a record's feedback is rewritten whole.
_JOIN = """
    WITH links AS (
        SELECT r.record_id, r.ingest_id AS record_ingest, s.score_id, s.item, s.ingest_id AS score_ingest
        FROM records r JOIN source_scores s ON s.observation_id = r.source_id
        WHERE r.source_format = 'langfuse' AND s.source_format = 'langfuse_scores'
        UNION ALL
        SELECT r.record_id, r.ingest_id, s.score_id, s.item, s.ingest_id
        FROM records r JOIN source_scores s ON s.trace_id = r.trace_id
        WHERE r.source_format = 'langfuse' AND s.source_format = 'langfuse_scores' AND s.observation_id IS NULL
    )
    SELECT record_id, item FROM links
    WHERE record_id IN (SELECT record_id FROM links WHERE record_ingest = ? OR score_ingest = ?)
    ORDER BY record_id, score_id
"""


def apply_source_scores(cursor, ingest_id: str) -> int:
    """Recompute feedback of the records joined to scores of (or records from) this ingest."""
    by_record: dict[str, list[FeedbackItem]] = defaultdict(list)
    for record_id, item in cursor.execute(_JOIN, [ingest_id, ingest_id]).fetchall():
        by_record[record_id].append(FeedbackItem(**json.loads(item)))
    if not by_record:
        return 0
    updates = []
    for record_id, items in by_record.items():
        holder = Record(source_format="langfuse", raw="", feedback=items)
        updates.append((record_id, holder.feedback_score(), holder.feedback_comment(),
                        json.dumps([item.as_json() for item in items], ensure_ascii=False, default=str)))
    cursor.execute("CREATE OR REPLACE TEMP TABLE score_updates (record_id VARCHAR, score DOUBLE, comment VARCHAR, feedback JSON)")
    cursor.executemany("INSERT INTO score_updates VALUES (?, ?, ?, ?)", updates)
    cursor.execute(
        "UPDATE records SET feedback_score = u.score, feedback_comment = u.comment, feedback = u.feedback"
        " FROM score_updates u WHERE records.record_id = u.record_id"
    )
    cursor.execute("DROP TABLE score_updates")
    return len(updates)
