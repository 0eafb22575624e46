"""mining.browse: filters, search, paging and lookups, all answered by DuckDB."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from mining.browse import (
    RecordFilter, count_quarantine, count_records, filter_options, get_record, like_pattern, list_quarantine,
    list_records,
)
from mining.ingest import ingest_paths
from paths import FIXTURES


@pytest.fixture
def loaded(workspace):
    """The OpenAI fixture (36 calls) and the generic CSV fixture (36 calls) in one workspace."""
    reports = ingest_paths(workspace, [FIXTURES / "openai_chat.jsonl", FIXTURES / "generic_support_log.csv"])
    assert all(report.ok for report in reports)
    return workspace


@pytest.fixture
def tricky(workspace, write_log, openai_line):
    """Calls whose texts hold LIKE wildcards, quotes and backslashes, next to near misses."""
    lines = [
        openai_line("pct", "Are you 100% sure?", "yes"),
        openai_line("pct-miss", "Are you 1000 sure?", "no"),
        openai_line("under", "rename snake_case keys", "ok"),
        openai_line("under-miss", "rename snakeXcase keys", "ok"),
        openai_line("quote", "what does \"it's\" mean?", "a contraction"),
        openai_line("slash", "a path like C:\\temp\\x", "fine", ts="2026-11-10T10:00:00Z"),
    ]
    assert ingest_paths(workspace, [write_log("tricky.jsonl", lines)])[0].rows_added == len(lines)
    return workspace


def source_ids(workspace, f: RecordFilter) -> set[str]:
    return set(list_records(workspace, f, page_size=1000)["source_id"].to_list())


def test_filter_options_lists_files_formats_models_and_span(loaded):
    options = filter_options(loaded)
    assert options.source_files == ["generic_support_log.csv", "openai_chat.jsonl"]
    assert options.formats == ["generic", "openai"]
    assert "gpt-4o-mini" in options.models and None not in options.models
    assert options.first_ts < options.last_ts


def test_filters_by_file_format_and_model(loaded):
    assert count_records(loaded) == 72
    assert count_records(loaded, RecordFilter(source_files=("openai_chat.jsonl",))) == 36
    assert count_records(loaded, RecordFilter(formats=("generic",))) == 36
    assert count_records(loaded, RecordFilter(formats=("generic",), models=("gpt-4o-mini-2024-07-18",))) == 0


def test_feedback_filters_split_the_records(loaded):
    counts = {kind: count_records(loaded, RecordFilter(feedback=kind)) for kind in ("negative", "positive", "none")}
    assert all(counts.values())
    assert sum(counts.values()) == count_records(loaded)
    negative = list_records(loaded, RecordFilter(feedback="negative"), page_size=100)
    assert (negative["feedback_score"] < 0.5).all()


def test_error_filter(loaded):
    errors = count_records(loaded, RecordFilter(has_error=True))
    assert 0 < errors < 72
    assert errors + count_records(loaded, RecordFilter(has_error=False)) == 72


def test_time_range_is_half_open(tricky):
    day = RecordFilter(since=datetime(2026, 11, 10, tzinfo=timezone.utc), until=datetime(2026, 11, 11, tzinfo=timezone.utc))
    assert source_ids(tricky, day) == {"slash"}
    assert "slash" not in source_ids(tricky, RecordFilter(until=datetime(2026, 11, 10, 10, tzinfo=timezone.utc)))


def test_search_is_case_insensitive_over_request_response_and_conversation(loaded):
    assert count_records(loaded, RecordFilter(search="REFUND")) == count_records(loaded, RecordFilter(search="refund")) > 0
    # "Nimbus" is only in the system prompt of the OpenAI calls: found through the input messages.
    assert count_records(loaded, RecordFilter(search="nimbus")) == 36


@pytest.mark.parametrize("query, expected", [
    ("100%", {"pct"}),
    ("e_c", {"under"}),
    ("\"it's\"", {"quote"}),
    ("C:\\temp", {"slash"}),
    ("'; DROP TABLE records; --", set()),
])
def test_search_takes_wildcards_quotes_and_backslashes_literally(tricky, query, expected):
    assert source_ids(tricky, RecordFilter(search=query)) == expected
    assert count_records(tricky) == 6


def test_like_pattern_escapes_wildcards():
    assert like_pattern("50%_a\\b") == "%50\\%\\_a\\\\b%"


def test_paging_is_stable_and_newest_first(loaded):
    first, second = list_records(loaded, page=1, page_size=30), list_records(loaded, page=2, page_size=30)
    last = list_records(loaded, page=3, page_size=30)
    assert (first.height, second.height, last.height) == (30, 30, 12)
    ids = first["record_id"].to_list() + second["record_id"].to_list() + last["record_id"].to_list()
    assert len(set(ids)) == 72
    assert first["ts"][0] >= first["ts"][-1] >= second["ts"][0]
    assert list_records(loaded, page=4, page_size=30).is_empty()
    with pytest.raises(ValueError):
        list_records(loaded, page=0)


def test_list_records_has_summary_columns_only(loaded):
    columns = list_records(loaded, page_size=1).columns
    assert {"record_id", "source_id", "ts", "model", "source_file", "request", "response", "feedback_score",
            "status", "error", "finish_reason"} <= set(columns)
    assert "raw" not in columns and "input_messages" not in columns


def test_get_record_by_record_id_or_source_id(loaded):
    by_source = get_record(loaded, "req_00011")
    assert by_source["source_id"] == "req_00011"
    assert by_source["input_messages"][-1] == {"role": "user", "content": "Cancel my subscription now."}
    assert by_source["tool_calls"][0]["name"] == "cancel_subscription"
    assert get_record(loaded, by_source["record_id"]) == by_source
    assert get_record(loaded, "no-such-id") is None


def test_quarantine_listing(workspace):
    broken = FIXTURES / "broken_openai_chat.jsonl"
    ingest_paths(workspace, [broken])
    assert count_quarantine(workspace) == count_quarantine(workspace, str(broken)) == 4
    assert count_quarantine(workspace, "other.jsonl") == 0
    rows = list_quarantine(workspace, str(broken))
    assert rows["line"].to_list() == [2, 4, 6, 11]
    assert rows["raw"][1] == "this line is not json at all"
    assert all(rows["reason"].to_list())
    assert list_quarantine(workspace, page=2, page_size=3).height == 1
