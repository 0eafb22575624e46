"""mining.sql_filter: the one WHERE builder behind Records, the Review queue and the export."""

from __future__ import annotations

from datetime import datetime, timezone

import duckdb

from mining.sql_filter import Where


def rows(where: Where) -> list[str]:
    connection = duckdb.connect()
    connection.execute("CREATE TABLE t (name VARCHAR, tags VARCHAR[], ts TIMESTAMPTZ)")
    connection.execute("""INSERT INTO t VALUES ('a', ['x'], '2026-11-01 00:00+00'), ('b''; DROP TABLE t; --', ['y'],
                          '2026-11-02 00:00+00'), ('c', [], NULL)""")
    return [row[0] for row in connection.execute(f"SELECT name FROM t WHERE {where.sql} ORDER BY name",
                                                 where.params).fetchall()]


def test_no_condition_keeps_everything_and_empty_choices_add_none():
    where = Where()
    where.among("names", "name", [])
    where.overlapping("tags", "tags", ())
    where.between("ts", None, None)
    assert where.sql == "true" and where.params == {} and len(rows(where)) == 3


def test_chosen_values_are_bound_never_written_into_the_sql():
    hostile = "b'; DROP TABLE t; --"
    where = Where()
    where.among("names", "name", [hostile, "a"])
    assert hostile not in where.sql and rows(where) == ["a", hostile]


def test_lists_overlap_and_the_time_range_is_half_open():
    where = Where()
    where.overlapping("tags", "tags", ["y", "z"])
    assert rows(where) == ["b'; DROP TABLE t; --"]
    day = Where()
    day.between("ts", datetime(2026, 11, 1, tzinfo=timezone.utc), datetime(2026, 11, 2, tzinfo=timezone.utc))
    assert rows(day) == ["a"]  # until is exclusive; a call with no time is in no range
