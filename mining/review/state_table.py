"""The review state kept in two tables, so pages read it instead of deriving it from the whole log.

Why: deriving every record's state from `review_events` (mining.review.state) scans the whole log,
about a second at 300k events, and the Review queue needs it on every page run. The log stays the
only source of truth: REVIEWER_STATE and RECORD_STATE hold exactly the rows `reviewer_state_sql()`
and `record_state_sql()` derive, and a record's rows are derived anew from its own events inside the
transaction that appends them (mining.review.events.append, the log's one writer), so a reader
never sees the log and the state disagree. `drift` names the records where they would differ (the
tests check it after every kind of write); `rebuild` derives both tables from the whole log (the
schema migration that adds them, for workspaces reviewed before).
"""

from __future__ import annotations

from typing import Iterable

import duckdb

from mining.review.state import LOG, RECORD_STATE, REVIEWER_STATE, record_state_sql, reviewer_state_sql
from mining.store import register_migration_step

CREATE_SQL = f"""
    CREATE TABLE IF NOT EXISTS {REVIEWER_STATE} (
        record_id VARCHAR NOT NULL, reviewer VARCHAR NOT NULL, verdict VARCHAR, tags VARCHAR[] NOT NULL,
        correction VARCHAR, tool_calls JSON, note VARCHAR, last_change TIMESTAMPTZ);
    CREATE TABLE IF NOT EXISTS {RECORD_STATE} (
        record_id VARCHAR NOT NULL, verdict VARCHAR, tags VARCHAR[] NOT NULL, correction VARCHAR, tool_calls JSON,
        note VARCHAR, reviewers VARCHAR[] NOT NULL, adjudicated_by VARCHAR, disputed BOOLEAN,
        last_change TIMESTAMPTZ, last_reviewer VARCHAR)"""

_TABLES = ((REVIEWER_STATE, reviewer_state_sql), (RECORD_STATE, record_state_sql))


def refresh(cursor: duckdb.DuckDBPyConnection, record_ids: Iterable[str]) -> None:
    """Derive these records' state anew from their events (inside the caller's transaction)."""
    ids = {"ids": list(dict.fromkeys(record_ids))}
    if not ids["ids"]:
        return
    for table, derived in _TABLES:
        cursor.execute(f"DELETE FROM {table} WHERE record_id IN (SELECT unnest($ids::VARCHAR[]))", ids)
        # the records' history read once: the derivation reads its events four times
        cursor.execute(f"""INSERT INTO {table} BY NAME
            WITH scoped AS MATERIALIZED (SELECT * FROM {LOG} WHERE record_id IN (SELECT unnest($ids::VARCHAR[])))
            SELECT * FROM ({derived('scoped')})""", ids)


def rebuild(cursor: duckdb.DuckDBPyConnection) -> None:
    """Create both tables if need be and derive them from the whole log."""
    cursor.execute(CREATE_SQL)
    for table, derived in _TABLES:
        cursor.execute(f"DELETE FROM {table}")
        cursor.execute(f"INSERT INTO {table} BY NAME SELECT * FROM ({derived()})")


def drift(cursor: duckdb.DuckDBPyConnection) -> list[str]:
    """The records whose kept state differs from what the log derives (none, unless a bug or a
    writer other than `append` touched the log), sorted."""
    found: set[str] = set()
    for table, derived in _TABLES:
        for first, second in ((table, f"({derived()})"), (f"({derived()})", table)):
            rows = cursor.execute(f"SELECT record_id FROM (SELECT * FROM {first} EXCEPT ALL SELECT * FROM {second})")
            found.update(row[0] for row in rows.fetchall())
    return sorted(found)


register_migration_step(10, rebuild)  # the migration that adds the tables derives them from the log
