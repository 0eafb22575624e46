"""The kept review state (mining.review.state_table) always equals what the log derives.

Every way of writing review events is exercised here: saves, tag edits, corrections with tool calls,
skips, bulk actions, undo (walking back several actions), blind second reviews, adjudications,
imports of a review exchange file, and the migration that builds the tables for a workspace
reviewed before they existed. After each, `drift` must find nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import duckdb
import pytest

from mining.review import (add_tag, adjudicate, bulk_apply, export_annotations, import_annotations, retire_tag,
                           save_review, undo)
from mining.review.state import RECORD_STATE, REVIEWER_STATE
from mining.review.state_table import drift, rebuild
from mining.store import MIGRATIONS, Workspace
from review_data import load_calls

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def ids(workspace, write_log, openai_line) -> dict[str, str]:
    return load_calls(workspace, write_log, openai_line)


def _kept(workspace: Workspace) -> int:
    cursor = workspace.cursor()
    assert drift(cursor) == []
    return cursor.execute(f"SELECT count(*) FROM {RECORD_STATE}").fetchone()[0]


def _work(workspace: Workspace, ids: dict[str, str]) -> None:
    """Every kind of review write, each followed by a drift check."""
    records = [ids[f"f-{i}"] for i in range(6)]
    at = iter(T0 + timedelta(minutes=minute) for minute in range(100))
    add_tag(workspace, "made up policy", "Invents a policy.")
    steps = [
        lambda: save_review(workspace, records[0], "ann", verdict="hard_example", tags=["made up policy"],
                            correction="Fixed.", note="first", at=next(at)),
        lambda: save_review(workspace, records[0], "ann", tags=["made up policy", "refusal"], at=next(at)),
        lambda: save_review(workspace, records[0], "ann", correction="Fixed again.",
                            tool_calls=[{"name": "refund", "arguments": {"order": "4100"}}], at=next(at)),
        lambda: save_review(workspace, records[0], "bob", verdict="not_a_failure", at=next(at)),  # a dispute
        lambda: adjudicate(workspace, records[0], "lead", pick="ann", at=next(at)),
        lambda: save_review(workspace, records[1], "ann", verdict="skip", at=next(at)),
        lambda: save_review(workspace, records[1], "ann", verdict="unsure", note="", at=next(at)),
        lambda: bulk_apply(workspace, records[1:], "bob", verdict="hard_example", at=next(at)),
        lambda: bulk_apply(workspace, records[1:], "bob", add_tag="refusal", at=next(at)),
        lambda: bulk_apply(workspace, records[2:4], "bob", remove_tag="refusal", at=next(at)),
        lambda: undo(workspace, "bob", at=next(at)),
        lambda: undo(workspace, "bob", at=next(at)),
        lambda: save_review(workspace, records[2], "cyd", verdict="hard_example", tags=["refusal"], at=next(at)),
        lambda: undo(workspace, "lead", at=next(at)),  # the adjudication undone: the dispute is back
        lambda: save_review(workspace, records[3], "ann", correction="", at=next(at)),  # clears nothing: no event
        lambda: retire_tag(workspace, "made up policy"),
        lambda: save_review(workspace, records[0], "ann", tags=["made up policy"], at=next(at)),
    ]
    for step in steps:
        step()
        _kept(workspace)


def test_every_kind_of_write_keeps_the_state_equal_to_the_derived_one(workspace, ids):
    _work(workspace, ids)
    assert _kept(workspace) == 6
    disputed = workspace.cursor().execute(f"SELECT disputed FROM {RECORD_STATE} WHERE record_id = ?",
                                          [ids["f-0"]]).fetchone()[0]
    assert disputed


def test_drift_names_a_record_the_log_and_the_state_disagree_on(workspace, ids):
    save_review(workspace, ids["f-0"], "ann", verdict="hard_example", at=T0)
    workspace.cursor().execute(f"UPDATE {REVIEWER_STATE} SET verdict = 'unsure'")
    assert drift(workspace.cursor()) == [ids["f-0"]]
    rebuild(workspace.cursor())
    assert drift(workspace.cursor()) == []


def test_an_import_keeps_the_state_right_even_with_events_older_than_those_here(tmp_path, write_log, openai_line):
    first = Workspace.open(tmp_path / "first.duckdb")
    second = Workspace.open(tmp_path / "second.duckdb")
    ids = load_calls(first, write_log, openai_line)
    load_calls(second, write_log, openai_line)
    save_review(second, ids["f-0"], "bob", verdict="unsure", tags=["refusal"], at=T0 + timedelta(days=1))
    _work(first, ids)
    export_annotations(first, tmp_path / "reviews.jsonl")
    report = import_annotations(second, tmp_path / "reviews.jsonl")
    assert report.events_added > 0
    _kept(second)
    import_annotations(second, tmp_path / "reviews.jsonl")  # again: nothing new, nothing changes
    _kept(second)
    Workspace.close_all()


def test_a_workspace_reviewed_before_the_tables_existed_gets_them_on_opening(tmp_path, write_log, openai_line):
    reviewed = Workspace.open(tmp_path / "reviewed.duckdb")
    ids = load_calls(reviewed, write_log, openai_line)
    _work(reviewed, ids)
    expected = reviewed.cursor().execute(f"SELECT * FROM {RECORD_STATE} ORDER BY record_id").fetchall()
    Workspace.close_all()
    with duckdb.connect(str(tmp_path / "reviewed.duckdb")) as connection:  # as schema 9 left it
        connection.execute(f"DROP TABLE {RECORD_STATE}; DROP TABLE {REVIEWER_STATE}")
        connection.execute("DELETE FROM schema_migrations WHERE version = 10")
    assert MIGRATIONS[9][0] == 10
    reopened = Workspace.open(tmp_path / "reviewed.duckdb")
    assert reopened.schema_version() == 10
    assert _kept(reopened) == 6
    assert reopened.cursor().execute(f"SELECT * FROM {RECORD_STATE} ORDER BY record_id").fetchall() == expected
    Workspace.close_all()
