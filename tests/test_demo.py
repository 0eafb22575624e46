"""The demo log: deterministic, fully ingestible, and carrying each failure mode in plausible amounts."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from mining.demo import generate_demo, load_demo
from mining.ingest import ingest_paths
from mining.store import Workspace


@pytest.fixture(scope="module")
def demo_workspace(tmp_path_factory):
    """The default demo (3,000 calls) loaded once into a workspace shared by this module's checks."""
    folder = tmp_path_factory.mktemp("demo")
    workspace = Workspace.open(folder / "demo.duckdb")
    reports = load_demo(workspace)
    yield workspace, reports
    Workspace.close_all()


def _one(workspace: Workspace, sql: str) -> float:
    return workspace.cursor().execute(sql).fetchone()[0]


def _share(workspace: Workspace, condition: str) -> float:
    return _one(workspace, f"SELECT avg(CASE WHEN {condition} THEN 1.0 ELSE 0.0 END) FROM records")


def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    first = generate_demo(tmp_path / "a.jsonl", seed=3, calls=400)
    second = generate_demo(tmp_path / "b.jsonl", seed=3, calls=400)
    other = generate_demo(tmp_path / "c.jsonl", seed=4, calls=400)
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes() != other.read_bytes()


def test_end_date_fixes_the_window(tmp_path: Path) -> None:
    end = datetime(2025, 3, 1, tzinfo=timezone.utc)
    path = generate_demo(tmp_path / "d.jsonl", calls=300, end=end)
    times = [datetime.fromisoformat(json.loads(line)["timestamp"].replace("Z", "+00:00"))
             for line in path.read_text().splitlines()]
    assert times == sorted(times)
    assert end - timedelta(days=28) <= times[0] and times[-1] <= end


def test_every_line_ingests_as_openai(demo_workspace) -> None:
    workspace, reports = demo_workspace
    assert len(reports) == 1 and reports[0].ok
    assert reports[0].rows_read == reports[0].rows_added == 3000
    assert reports[0].rows_quarantined == 0
    assert _one(workspace, "SELECT count(*) FROM quarantine") == 0
    assert _one(workspace, "SELECT count(DISTINCT source_format) FROM records") == 1
    assert _one(workspace, "SELECT min(source_format) FROM records") == "openai"


def test_texts_vary_and_conversations_have_several_turns(demo_workspace) -> None:
    workspace, _ = demo_workspace
    assert _one(workspace, "SELECT count(DISTINCT cluster_text) FROM records") > 1000
    assert _one(workspace, "SELECT count(DISTINCT session_id) FROM records") > 1500
    assert _share(workspace, "json_array_length(input_messages) > 2") > 0.1
    assert _one(workspace, "SELECT count(DISTINCT model) FROM records") >= 2


def test_time_span_covers_at_least_three_weeks(demo_workspace) -> None:
    workspace, _ = demo_workspace
    assert _one(workspace, "SELECT date_diff('day', min(ts), max(ts)) FROM records") >= 21


def test_failure_modes_are_present_in_plausible_proportions(demo_workspace) -> None:
    workspace, _ = demo_workspace
    truncated = _share(workspace, "finish_reason = 'length'")
    tool_errors = _share(workspace, "error IS NOT NULL AND tool_calls IS NOT NULL")
    asked_json = "request_params->>'$.response_format.type' = 'json_object'"
    invalid_json = _share(workspace, f"{asked_json} AND NOT coalesce(json_valid(response_text), false)")
    refusals = _share(workspace, "regexp_matches(response_text, '(can''t help|cannot assist|not able to discuss)')")
    abstentions = _share(workspace, "regexp_matches(response_text, '^I(''m not sure| don''t)')")
    hallucinated = _share(workspace, "regexp_matches(response_text, '(full refund|money-back|100% uptime|99\\.999%|Pro plan SLA guarantees 99\\.95)')")  # noqa: E501 (one pattern, kept whole)
    for share in (truncated, tool_errors, invalid_json, refusals, abstentions, hallucinated):
        assert 0.01 <= share <= 0.12
    failing = truncated + tool_errors + invalid_json + refusals + abstentions + hallucinated
    assert 0.12 <= failing <= 0.4  # most answers are good


def test_some_failure_modes_grow_over_the_weeks(demo_workspace) -> None:
    workspace, _ = demo_workspace
    halves = workspace.cursor().execute(
        "SELECT ts > (SELECT min(ts) + (max(ts) - min(ts)) / 2 FROM records) AS late,"
        " avg(CASE WHEN finish_reason = 'length' THEN 1.0 ELSE 0.0 END),"
        " avg(CASE WHEN error IS NOT NULL THEN 1.0 ELSE 0.0 END)"
        " FROM records GROUP BY late ORDER BY late").fetchall()
    (_, early_truncated, early_errors), (_, late_truncated, late_errors) = halves
    assert late_truncated > 1.5 * early_truncated
    assert late_errors > early_errors


def test_feedback_is_sparse_and_mostly_negative_on_failures(demo_workspace) -> None:
    workspace, _ = demo_workspace
    with_feedback = _share(workspace, "feedback IS NOT NULL")
    assert 0.05 <= with_feedback <= 0.35
    assert _one(workspace, "SELECT count(*) FROM records WHERE feedback_comment IS NOT NULL") > 20
    failed = _one(workspace, "SELECT avg(feedback_score) FROM records WHERE finish_reason = 'length' OR error IS NOT NULL")
    fine = _one(workspace, "SELECT avg(feedback_score) FROM records WHERE finish_reason = 'stop' AND error IS NULL"
                " AND response_text LIKE '%>%'")  # good answers point at a console page
    assert failed < 0.4 < fine


def test_reloading_adds_nothing(demo_workspace) -> None:
    workspace, _ = demo_workspace
    again = load_demo(workspace)
    assert again[0].rows_added == 0 and again[0].rows_present == 3000
    assert _one(workspace, "SELECT count(*) FROM records") == 3000


def test_demo_file_ingests_like_any_log(tmp_path: Path, workspace: Workspace) -> None:
    path = generate_demo(tmp_path / "nimbus.jsonl", calls=200)
    report, = ingest_paths(workspace, [path])
    assert report.format == "openai" and report.rows_added == 200 and report.rows_quarantined == 0
