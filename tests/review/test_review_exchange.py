"""Annotations export and import: a round trip between two workspaces, idempotent, nothing dropped."""

from __future__ import annotations

import json
from dataclasses import astuple
from datetime import datetime, timedelta, timezone

import pytest

from mining.review import (ReviewError, add_tag, adjudicate, bulk_apply, export_annotations, import_annotations,
                           list_events, record_state, resolve_tag, reviewer_states, save_review, undo)
from mining.store import Workspace
from review_data import load_calls

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)


def _review_a_little(workspace: Workspace, ids: dict[str, str]) -> None:
    add_tag(workspace, "made up policy", "Invents a policy.")
    records = [ids[f"f-{i}"] for i in range(6)]
    save_review(workspace, records[0], "ann", verdict="hard_example", tags=["made up policy"], correction="Fixed.",
                tool_calls=[{"name": "refund", "arguments": {"order": "4100"}}], note="ümlaut ok", at=T0)
    save_review(workspace, records[0], "bob", verdict="not_a_failure", at=T0 + timedelta(minutes=1))
    adjudicate(workspace, records[0], "lead", pick="ann", at=T0 + timedelta(minutes=2))
    bulk_apply(workspace, records[1:], "bob", verdict="unsure", at=T0 + timedelta(minutes=3))
    bulk_apply(workspace, records[1:], "bob", add_tag="refusal", at=T0 + timedelta(minutes=4))
    undo(workspace, "bob", at=T0 + timedelta(minutes=5))
    save_review(workspace, records[1], "ann", verdict="skip", at=T0 + timedelta(minutes=6))


def _states(workspace: Workspace, ids: dict[str, str]) -> dict[str, tuple]:
    return {source: (astuple(record_state(workspace, record)),
                     [astuple(state) for state in reviewer_states(workspace, record)])
            for source, record in ids.items()}


def test_round_trip_between_workspaces_is_idempotent(tmp_path, write_log, openai_line):
    first = Workspace.open(tmp_path / "first.duckdb")
    second = Workspace.open(tmp_path / "second.duckdb")
    try:
        ids = load_calls(first, write_log, openai_line)
        assert load_calls(second, write_log, openai_line) == ids  # record ids are stable across workspaces
        _review_a_little(first, ids)
        exported = export_annotations(first, tmp_path / "annotations.jsonl")
        assert exported.events == len(list_events(first)) == 4 + 1 + 1 + 5 + 5 + 5 + 1
        lines = [json.loads(line) for line in (tmp_path / "annotations.jsonl").read_text("utf-8").splitlines()]
        assert {line["type"] for line in lines} == {"tag", "event"} and len(lines) == exported.events + exported.tags
        assert {line["source_id"] for line in lines if line["type"] == "event"} <= set(ids)

        report = import_annotations(second, tmp_path / "annotations.jsonl")
        assert (report.events_read, report.events_added, report.events_present) == (exported.events,) * 2 + (0,)
        assert report.tags_added == ["made_up_policy"] and report.missing_records == []
        assert resolve_tag(second, "made up policy").description == "Invents a policy."
        assert _states(second, ids) == _states(first, ids)
        assert record_state(second, ids["f-0"]).adjudicated_by == "lead"
        assert [(e.event_id, e.payload) for e in list_events(second)] == [(e.event_id, e.payload)
                                                                          for e in list_events(first)]

        again = import_annotations(second, tmp_path / "annotations.jsonl")
        assert (again.events_added, again.events_present, again.tags_added) == (0, exported.events, [])
        assert len(list_events(second)) == exported.events

        save_review(second, ids["f-2"], "carol", verdict="hard_example", at=T0 + timedelta(hours=1))
        export_annotations(second, tmp_path / "back.jsonl")
        back = import_annotations(first, tmp_path / "back.jsonl")  # only carol's new event travels back
        assert (back.events_added, back.events_present) == (1, exported.events)
        assert _states(first, ids) == _states(second, ids)
    finally:
        Workspace.close_all()


def test_events_for_records_this_workspace_lacks_are_kept_and_reported(tmp_path, write_log, openai_line):
    full = Workspace.open(tmp_path / "full.duckdb")
    part = Workspace.open(tmp_path / "part.duckdb")
    try:
        ids = load_calls(full, write_log, openai_line)
        load_calls(part, write_log, openai_line, failing=1, passing=0, name="part.jsonl")
        save_review(full, ids["f-0"], "ann", verdict="hard_example", at=T0)
        save_review(full, ids["f-1"], "ann", verdict="unsure", at=T0)
        save_review(full, ids["f-2"], "ann", verdict="unsure", note="n", at=T0)
        export_annotations(full, tmp_path / "a.jsonl")

        report = import_annotations(part, tmp_path / "a.jsonl")
        assert report.events_added == 4
        assert report.missing_records == sorted([ids["f-1"], ids["f-2"]])
        assert report.events_for_missing_records == 3
        assert record_state(part, ids["f-0"]).verdict == "hard_example"

        load_calls(part, write_log, openai_line)  # the rest of the log arrives: its reviews apply
        assert record_state(part, ids["f-2"]).note == "n"
        assert import_annotations(part, tmp_path / "a.jsonl").missing_records == []
    finally:
        Workspace.close_all()


def test_a_damaged_file_imports_nothing(workspace, write_log, openai_line, tmp_path):
    ids = load_calls(workspace, write_log, openai_line, failing=1, passing=0)
    save_review(workspace, ids["f-0"], "ann", verdict="hard_example", at=T0)
    export_annotations(workspace, tmp_path / "a.jsonl")
    good = (tmp_path / "a.jsonl").read_text("utf-8")
    event = json.loads(good.splitlines()[-1])
    (tmp_path / "bad.jsonl").write_text(
        good + json.dumps({**event, "event_id": "new-one"}) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(ReviewError, match="line 13"):
        import_annotations(workspace, tmp_path / "bad.jsonl")
    (tmp_path / "odd.jsonl").write_text(json.dumps({**event, "action": "delete"}) + "\n", encoding="utf-8")
    with pytest.raises(ReviewError, match="unknown action"):
        import_annotations(workspace, tmp_path / "odd.jsonl")
    with pytest.raises(ReviewError, match="cannot read"):
        import_annotations(workspace, tmp_path / "missing.jsonl")
    assert len(list_events(workspace)) == 1
