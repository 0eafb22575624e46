"""Moving parsed rows into `records` and `source_scores`: every call once, and none lost in silence.

Why one place: both ingest paths (row by row, and the vectorised OpenAI one) hand their rows here in
batches, so what counts as new, as already present or as a conflict is the same whichever read them.

Duplicate ids. A record id comes from the id the source gave the call (else from its content), so a
call read twice (the same file again, an overlapping export, the .gz beside the .jsonl) maps to the
row already stored. Whatever is stored under an id is the first call read with it; a later row with
the same id, in the same file or in a later ingest, is compared with it by content (the raw text,
key order and spacing aside):
- the same call: counted as already present, nothing changes. This is what makes ingest idempotent;
- a different call: quarantined with the reason "id X already holds a different call", and the
  stored call is left as it was.
Why quarantine rather than keep both (under an id made from the source id and the content): a source
id is the source's name for one call. Two different calls under one name is a logging bug, or an
export that changed a call after it was ingested, and Faultline cannot tell which version is right.
Keeping both would count one call twice in failure rates and failure modes and make `show ID` and
`review ID` ambiguous; replacing the stored one would silently change a record reviewers may have
judged. In quarantine the second version is in plain view, with its raw text, until someone decides.
Scores logged apart from calls (Langfuse) follow the same rule by score id.
"""

from __future__ import annotations

from typing import Any

from mining.ingest.quarantine import Quarantine
from mining.ingest.record import canonical_json_text

# Rows of the batch that are not new: their id is stored already, or an earlier row of the batch has it.
_DUPLICATES = """
CREATE OR REPLACE TEMP TABLE batch_duplicates AS
WITH ranked AS (SELECT seq, {key}, min(seq) OVER (PARTITION BY {key}) AS first_seq FROM {batch})
SELECT r.seq, r.first_seq FROM ranked AS r LEFT JOIN {stored} AS s ON s.{key} = r.{key}
WHERE s.{key} IS NOT NULL OR r.seq <> r.first_seq
"""

# The duplicates whose content is not the same text as what their id holds, with where that came from.
_DIFFERING_RECORDS = """
SELECT b.source_line, b.source_id, b.raw, coalesce(s.raw, f.raw) AS held,
       coalesce(s.source_file, f.source_file), coalesce(s.source_line, f.source_line)
FROM batch_duplicates d JOIN {batch} AS b ON b.seq = d.seq
LEFT JOIN records AS s ON s.record_id = b.record_id
LEFT JOIN {batch} AS f ON f.seq = d.first_seq AND s.record_id IS NULL
WHERE b.raw IS DISTINCT FROM coalesce(s.raw, f.raw)
"""

_DIFFERING_SCORES = """
SELECT b.line, b.score_id, b.raw
FROM batch_duplicates d JOIN {batch} AS b ON b.seq = d.seq
LEFT JOIN source_scores AS s ON s.score_id = b.score_id
LEFT JOIN {batch} AS f ON f.seq = d.first_seq AND s.score_id IS NULL
WHERE b.item::VARCHAR IS DISTINCT FROM coalesce(s.item::VARCHAR, f.item::VARCHAR)
"""


def commit_records(cursor: Any, batch: str, problems: Quarantine) -> tuple[int, int]:
    """Insert the batch's new records, quarantine the ones whose id holds a different call (see the
    module); returns (added, already present).

    `batch` names a table or view with the columns of `records` plus `seq`, unique, the reading order.
    """
    cursor.execute(_DUPLICATES.format(batch=batch, key="record_id", stored="records"))
    conflicts = 0
    for line, source_id, raw, held, held_file, held_line in cursor.execute(
            _DIFFERING_RECORDS.format(batch=batch)).fetchall():
        if canonical_json_text(raw) != canonical_json_text(held):
            conflicts += 1
            problems.add(line, f"id {source_id!r} already holds a different call (read from {held_file} line "
                               f"{held_line}); that one is kept as it was, this one is here", raw)
    problems.conflicts += conflicts
    added = cursor.execute(f"INSERT INTO records SELECT * EXCLUDE (seq) FROM {batch}"
                           " WHERE seq NOT IN (SELECT seq FROM batch_duplicates)").fetchall()[0][0]
    duplicates = cursor.execute("SELECT count(*) FROM batch_duplicates").fetchall()[0][0]
    cursor.execute("DROP TABLE batch_duplicates")
    return added, duplicates - conflicts


def commit_scores(cursor: Any, batch: str, problems: Quarantine) -> None:
    """Insert the batch's new scores; a score whose id holds a different score is quarantined.

    `batch` has the columns of `source_scores`, then `seq`, `line` and `raw` (the row it came from).
    """
    cursor.execute(_DUPLICATES.format(batch=batch, key="score_id", stored="source_scores"))
    for line, score_id, raw in cursor.execute(_DIFFERING_SCORES.format(batch=batch)).fetchall():
        problems.conflicts += 1
        problems.add(line, f"score id {score_id!r} already holds a different score; that one is kept as it was, "
                           f"this one is here", raw)
    cursor.execute(f"INSERT INTO source_scores SELECT * EXCLUDE (seq, line, raw) FROM {batch}"
                   " WHERE seq NOT IN (SELECT seq FROM batch_duplicates)")
    cursor.execute("DROP TABLE batch_duplicates")
