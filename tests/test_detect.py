"""Failure signals: each one firing and staying quiet on hand-made calls, settings, rules, the demo
data, the Failures page and the `detect` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

import ui
from mining.demo import load_demo
from mining.detect import (
    SIGNALS, SignalSettingsError, add_rule, current_summary, failure_rate_over_time, failure_record_ids,
    failures_sql, last_detection, list_rules, remove_rule, save_signal_settings, set_rule_enabled, signal_counts,
    signal_settings, signals_of,
)
from mining.ingest import ingest_paths
from mining.store import Workspace
from paths import ROOT


def call(call_id: str, answer: str | None = "Here is how to do it.", *, question: str = "How do I do it?",
         model: str = "gpt-test", finish: str = "stop", ts: str = "2026-11-09T10:00:00Z", **extra: Any) -> dict:
    """One OpenAI-shape call; `extra` sets feedback, error, latency_ms, expected_output, response_format,
    tool_calls (names) or history (messages before the question)."""
    request: dict[str, Any] = {"model": model, "messages": [
        {"role": "system", "content": "You are a test assistant."}, *extra.pop("history", []),
        {"role": "user", "content": question}]}
    if "response_format" in extra:
        request["response_format"] = {"type": extra.pop("response_format")}
    message: dict[str, Any] = {"role": "assistant", "content": answer}
    if "tool_calls" in extra:
        message["tool_calls"] = [{"id": f"call_{name}", "type": "function",
                                  "function": {"name": name, "arguments": "{}"}} for name in extra.pop("tool_calls")]
    return {"id": call_id, "timestamp": ts, "request": request,
            "response": {"choices": [{"message": message, "finish_reason": finish}]}, **extra}


CALLS = [
    call("ok", feedback={"thumbs": "up"}),
    call("thumbs-down", feedback={"thumbs": "down"}),
    call("rating-2", feedback={"rating": 2}),
    call("rating-3", feedback={"rating": 3}),
    call("error", None, error="upstream returned 500"),
    call("cut-length", "The first step is to", finish="length"),
    call("cut-gemini", "The first step is to", finish="MAX_TOKENS"),
    call("empty", ""),
    call("tool-ok", None, finish="tool_calls", tool_calls=["restart_vm"]),
    call("refusal", "I'm sorry, but I can't help with that."),
    call("refusal-2", "I cannot assist with that request."),
    call("abstain", "I don't know the answer to that."),
    call("abstain-curly", "I’m not sure, please check the docs."),
    call("abstain-over-refusal", "I'm sorry, I am unable to find that information."),
    call("json-ok", '{"vms": []}', response_format="json_object"),
    call("json-array-ok", '[1, 2]', response_format="json_schema"),
    call("json-prose", 'Sure! {"vms": []}', response_format="json_object"),
    call("json-fenced", '```json\n{"vms": []}\n```', response_format="json_object"),
    call("json-expected", "a is 1", expected_output='{"a": 1}'),
    call("not-json-asked", "a { b"),
    call("tool-error", None, finish="tool_calls", tool_calls=["restart_vm"],
         error="ToolError: compute.restart_vm returned 503"),
    call("tool-result-error", "Something went wrong, please retry.", history=[
        {"role": "user", "content": "restart web-1"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "restart_vm", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "Error: compute API timed out"}]),
]

EXPECTED = {
    "negative_feedback": {"thumbs-down", "rating-2"},
    "error": {"error", "tool-error"},
    "truncated": {"cut-length", "cut-gemini"},
    "empty_output": {"empty"},
    "refusal": {"refusal", "refusal-2"},
    "abstention": {"abstain", "abstain-curly", "abstain-over-refusal"},
    "invalid_json": {"json-prose", "json-fenced", "json-expected"},
    "tool_error": {"tool-error", "tool-result-error"},
    "latency_outlier": set(),
}


def flagged(workspace: Workspace, signal: str) -> set[str]:
    """The source ids of the records that raised `signal`."""
    rows = workspace.cursor().execute(
        "SELECT source_id FROM signals JOIN records USING (record_id) WHERE signal = ?", [signal]).fetchall()
    return {row[0] for row in rows}


def record_id(workspace: Workspace, source_id: str) -> str:
    return workspace.cursor().execute("SELECT record_id FROM records WHERE source_id = ?", [source_id]).fetchone()[0]


@pytest.fixture
def loaded(workspace, write_log) -> Workspace:
    """The workspace with CALLS ingested (which runs detection)."""
    ingest_paths(workspace, [write_log("calls.jsonl", CALLS)])
    return workspace


def test_each_signal_fires_where_it_should_and_nowhere_else(loaded):
    assert {name: flagged(loaded, name) for name in SIGNALS} == EXPECTED


def test_detection_runs_after_ingest_and_sums_up(loaded, write_log):
    summary = current_summary(loaded)
    failing = set().union(*EXPECTED.values())
    assert (summary.total, summary.failures) == (len(CALLS), len(failing))
    assert summary.counts == {name: len(ids) for name, ids in EXPECTED.items()}
    assert last_detection(loaded)["total"] == len(CALLS)
    ingest_paths(loaded, [write_log("more.jsonl", [call("later", feedback={"thumbs": "down"})])])
    assert "later" in flagged(loaded, "negative_feedback")
    assert len(failure_record_ids(loaded)) == len(failing) + 1


def test_failure_ids_for_other_modules(loaded):
    ids = failure_record_ids(loaded)
    in_sql = loaded.cursor().execute(
        f"SELECT count(*) FROM records WHERE record_id IN ({failures_sql()})").fetchone()[0]
    assert in_sql == len(ids) == current_summary(loaded).failures
    assert record_id(loaded, "ok") not in ids and record_id(loaded, "refusal") in ids


def test_refusal_and_abstention_never_share_a_record(loaded):
    assert not flagged(loaded, "refusal") & flagged(loaded, "abstention")


def test_invalid_json_says_why(loaded):
    details = dict(loaded.cursor().execute(
        "SELECT source_id, detail FROM signals JOIN records USING (record_id) WHERE signal = 'invalid_json'"
    ).fetchall())
    assert "code fence" in details["json-fenced"] and "json_object" in details["json-fenced"]
    assert details["json-prose"] == "does not parse as JSON (the request asked for json_object)"
    assert "expected output is JSON" in details["json-expected"]


def test_signals_of_a_record_carry_label_detail_and_explanation(loaded):
    (signal,) = signals_of(loaded, record_id(loaded, "refusal"))
    assert (signal["signal"], signal["label"]) == ("refusal", "Refusal")
    assert signal["detail"] == "says: I'm sorry, but I can't"
    assert signal["explanation"] == SIGNALS["refusal"].explanation
    assert signals_of(loaded, record_id(loaded, "ok")) == []


def test_thresholds_and_phrases_change_results(loaded):
    settings = signal_settings(loaded)
    save_signal_settings(loaded, replace(settings, negative_feedback_below=0.6))
    assert flagged(loaded, "negative_feedback") == {"thumbs-down", "rating-2", "rating-3"}
    save_signal_settings(loaded, replace(settings, refusal_patterns=[], abstention_patterns=[r"check the docs"]))
    assert flagged(loaded, "refusal") == set()
    assert flagged(loaded, "abstention") == {"abstain-curly"}
    assert signal_settings(loaded).abstention_patterns == ["check the docs"]


def test_disabling_a_signal_removes_its_failures(loaded):
    settings = signal_settings(loaded)
    summary = save_signal_settings(loaded, replace(settings, enabled={**settings.enabled, "error": False}))
    assert "error" not in summary.counts and flagged(loaded, "error") == set()
    assert record_id(loaded, "error") not in failure_record_ids(loaded)
    assert record_id(loaded, "tool-error") in failure_record_ids(loaded)  # its tool_error still fires
    error = next(count for count in signal_counts(loaded) if count.signal.name == "error")
    assert (error.enabled, error.records) == (False, 0)


@pytest.mark.parametrize("change, message", [
    ({"refusal_patterns": ["I can't ("]}, "is not a valid regular expression"),
    ({"latency_percentile": 1.5}, "between 0 and 1"),
    ({"negative_feedback_below": -1}, "between 0 and 1"),
    ({"enabled": {"made_up": True}}, "unknown signal"),
])
def test_bad_settings_are_refused_and_nothing_changes(loaded, change, message):
    before = signal_settings(loaded)
    with pytest.raises(SignalSettingsError, match=message):
        save_signal_settings(loaded, replace(before, **change))
    assert signal_settings(loaded) == before


def test_latency_outlier_per_model_with_a_minimum_of_calls(workspace, write_log):
    steady = [call(f"fast-{n}", model="m1", latency_ms=1000) for n in range(40)]
    few = [call(f"few-{n}", model="m2", latency_ms=1000) for n in range(4)]
    ingest_paths(workspace, [write_log("latency.jsonl", steady + few + [
        call("slow", model="m1", latency_ms=9000), call("slow-few", model="m2", latency_ms=9000)])])
    assert flagged(workspace, "latency_outlier") == {"slow"}
    (signal,) = signals_of(workspace, record_id(workspace, "slow"))
    assert signal["value"] == 9000 and signal["detail"] == "9000 ms, above the p95 of 1000 ms for m1"
    save_signal_settings(workspace, replace(signal_settings(workspace), latency_min_calls=3))
    assert flagged(workspace, "latency_outlier") == {"slow", "slow-few"}


def test_a_user_rule_is_a_signal_until_removed(loaded):
    summary = add_rule(loaded, "cut_off", "finish_reason = 'length'", "answers cut by the token limit")
    assert summary.counts["rule:cut_off"] == 1 and flagged(loaded, "rule:cut_off") == {"cut-length"}
    assert list_rules(loaded)[0].description == "answers cut by the token limit"
    (rule,) = [count for count in signal_counts(loaded) if count.signal.name == "rule:cut_off"]
    assert rule.enabled and rule.records == 1 and "finish_reason = 'length'" in rule.signal.explanation
    set_rule_enabled(loaded, "cut_off", False)
    assert flagged(loaded, "rule:cut_off") == set()
    remove_rule(loaded, "cut_off")
    assert list_rules(loaded) == []
    with pytest.raises(SignalSettingsError, match="no rule named"):
        remove_rule(loaded, "cut_off")


def test_a_rule_that_errors_on_some_rows_does_not_stop_detection(loaded):
    add_rule(loaded, "numeric_error", "CAST(error AS INTEGER) > 3")  # no error text is a number
    assert flagged(loaded, "rule:numeric_error") == set()
    assert flagged(loaded, "refusal") == EXPECTED["refusal"]


@pytest.mark.parametrize("condition, message", [
    ("1=1; DROP TABLE records", "semicolons"),
    ("DROP TABLE records", "not a SQL expression"),
    ("", "the condition is empty"),
    ("latency_ms", "gives DOUBLE, not true/false"),
    ("no_such_column > 1", "no_such_column"),
    ("true) AS rule_value FROM records UNION SELECT (true", "not a query"),
    ("record_id IN (SELECT record_id FROM signals)", "subqueries are not allowed"),
    ("EXISTS (SELECT * FROM read_text('/etc/passwd'))", "subqueries are not allowed"),
    ("true -- and the rest", "comments"),
    ("true) AS rule_value, (false", "nothing around it"),
    ("random() > 0.5", "DuckDB cannot run the condition"),
])
def test_bad_rules_are_refused_with_a_clear_message(loaded, condition, message):
    with pytest.raises(SignalSettingsError, match=message):
        add_rule(loaded, "bad", condition)
    assert list_rules(loaded) == []
    assert loaded.cursor().execute("SELECT count(*) FROM records").fetchone()[0] == len(CALLS)


def test_a_rule_name_is_checked(loaded):
    with pytest.raises(SignalSettingsError, match="rule name"):
        add_rule(loaded, "bad name; drop", "true")


def test_failure_rate_over_time_by_day_and_week(workspace, write_log):
    ingest_paths(workspace, [write_log("days.jsonl", [
        call("mon-ok", ts="2026-11-09T09:00:00Z"), call("mon-bad", ts="2026-11-09T23:30:00Z", error="boom"),
        call("tue-ok", ts="2026-11-10T10:00:00Z"), call("next-week-bad", ts="2026-11-16T10:00:00Z", error="boom")])])
    days = failure_rate_over_time(workspace, "day")
    assert [str(day.date()) for day in days["period"]] == ["2026-11-09", "2026-11-10", "2026-11-16"]
    assert days["failure_rate"].to_list() == [0.5, 0.0, 1.0]
    weeks = failure_rate_over_time(workspace, "week")
    assert weeks["records"].to_list() == [3, 1] and weeks["failures"].to_list() == [1, 1]
    with pytest.raises(ValueError):
        failure_rate_over_time(workspace, "month")


def test_demo_data_raises_every_failure_mode(workspace):
    load_demo(workspace, calls=600)
    counts = current_summary(workspace).counts
    for name in SIGNALS:
        if name != "empty_output":  # the demo logs no empty answers
            assert counts[name] > 0, name
    assert not flagged(workspace, "refusal") & flagged(workspace, "abstention")
    texts = dict(workspace.cursor().execute(
        "SELECT DISTINCT response_text, signal FROM signals JOIN records USING (record_id)"
        " WHERE signal IN ('refusal', 'abstention')").fetchall())
    assert texts["For security reasons I'm not able to discuss account details. Please contact your administrator."] \
        == "refusal"
    assert texts["I don't have that information right now."] == "abstention"


# --- the Failures page ---------------------------------------------------------------------------

def start(page: str, **query: str) -> AppTest:
    at = AppTest.from_file(ROOT / "app.py", default_timeout=60).run()
    at.query_params.update(query)
    at.switch_page(page).run()
    assert not at.exception
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def button(at: AppTest, label: str):
    return next(widget for widget in at.button if widget.label == label)


def test_failures_page_shows_counts_explanations_and_the_rate(loaded):
    at = start("views/failures.py")
    shown = metrics(at)
    assert shown["Records"] == str(len(CALLS)) and shown["Failures"] == str(current_summary(loaded).failures)
    assert shown["Refusal"] == "2" and shown["Invalid JSON"] == "3"
    assert SIGNALS["abstention"].explanation in [element.value for element in at.text]
    assert len(at.get("plotly_chart")) == 1
    button(at, "Run detection").click().run()
    assert not at.exception
    assert any("Detection done" in element.value for element in at.success)


def test_from_a_signal_count_to_exactly_those_calls(loaded):
    """"Refusal 2" links to Records filtered to the two refusals, and Records reads the link."""
    at = start("views/failures.py")
    links = {link.proto.query_string: link.proto for link in at.get("page_link")}
    assert links["signal=refusal"].label == "Open the 2 calls in Records" and links["signal=refusal"].page == "records"
    records = start("views/records.py", signal="refusal")
    shown = records.dataframe[0].value
    assert sorted(shown["source_id"]) == sorted(flagged(loaded, "refusal"))
    assert records.multiselect(key="records_f_signals").value == ["refusal"]
    records.multiselect(key="records_f_signals").set_value(["refusal", "invalid_json"]).run()
    assert len(records.dataframe[0].value) == len(set(flagged(loaded, "refusal")) | set(flagged(loaded, "invalid_json")))


def test_failures_page_switches_a_signal_off(loaded):
    at = start("views/failures.py")
    at.toggle(key="signal_on:refusal").set_value(False)
    button(at, "Save and re-detect").click().run()
    assert not at.exception
    assert metrics(at)["Refusal"] == "off"
    assert flagged(loaded, "refusal") == set()


def test_failures_page_adds_refuses_and_removes_rules(loaded):
    at = start("views/failures.py")
    at.text_input(key="rule_name").input("sneaky")
    at.text_area(key="rule_condition").input("1=1; DROP TABLE records")
    button(at, "Add rule").click().run()
    assert any(ui.plain("semicolons") in element.value for element in at.error)
    at.text_area(key="rule_condition").input("finish_reason = '<b>length</b>' OR finish_reason = 'length'")
    button(at, "Add rule").click().run()
    assert not at.exception and metrics(at)["sneaky"] == "1"
    assert "finish_reason = '<b>length</b>' OR finish_reason = 'length'" in [element.value for element in at.code]
    button(at, "Remove").click().run()
    assert not at.exception and "sneaky" not in metrics(at) and list_rules(loaded) == []


def test_records_page_shows_a_records_signals(loaded):
    at = start("views/records.py", record="tool-error")
    warnings = [element.value for element in at.warning]
    assert ui.plain("Tool error: ToolError: compute.restart_vm returned 503") in warnings


# --- the command line ---------------------------------------------------------------------------

def test_detect_json_command(loaded):
    Workspace.close_all()  # the command opens the workspace file itself
    env = {key: value for key, value in os.environ.items() if key != "FAULTLINE_WORKSPACE"}
    result = subprocess.run([sys.executable, "-m", "mining", "detect", "--json", "-w", str(loaded.path)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["total"] == len(CALLS) and summary["counts"]["invalid_json"] == 3
    assert set(summary) >= {"total", "failures", "counts", "seconds"}


def test_rules_commands(loaded):
    Workspace.close_all()

    def mining(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "mining", *args, "-w", str(loaded.path)], cwd=ROOT,
                              capture_output=True, text=True, timeout=300)

    added = mining("rules", "add", "cut_off", "finish_reason = 'length'", "--description", "cut by the limit")
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "rule cut_off saved; it flags 1 record"
    assert json.loads(mining("rules", "list", "--json").stdout) == [
        {"name": "cut_off", "condition": "finish_reason = 'length'", "description": "cut by the limit", "enabled": True}]
    refused = mining("rules", "add", "bad", "1=1; DROP TABLE records")
    assert refused.returncode == 1 and refused.stderr.startswith("error: a condition is one SQL expression")
    assert "rule cut_off" in mining("detect").stdout
    assert mining("rules", "remove", "cut_off").returncode == 0
    assert mining("rules", "list").stdout == ""
