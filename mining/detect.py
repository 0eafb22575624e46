"""Failure signals: which records went wrong, and why, computed in SQL where the records are.

Why signals rather than one "is failure" flag: a reviewer needs to know *how* a call failed (the
user thumbed it down, it was cut off, it refused) and a team needs to switch off a signal that is
noisy on its data. Each signal is one INSERT ... SELECT over `records`; a detection run rebuilds the
whole `signals` table in one transaction, so readers see the old signals or the new, never half.
Only enabled signals are stored, so a record is a failure exactly when it has a row in `signals`.

Every setting (thresholds, phrase lists) reaches SQL as a bound parameter. The only text spliced
into SQL is a user rule's condition, and only after `validate_condition` has checked that DuckDB's
own parser reads it as one expression over the records table, with no subquery.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Literal

import duckdb
import polars as pl

from mining.settings import get_setting, set_setting
from mining.store import Workspace

SETTINGS_KEY = "signals"
LAST_RUN_KEY = "signals_last_run"
RULE_PREFIX = "rule:"


@dataclass(frozen=True)
class Signal:
    """One kind of failure: its stored name, a short label and what it means, for the UI."""

    name: str
    label: str
    explanation: str


SIGNALS: dict[str, Signal] = {signal.name: signal for signal in [
    Signal("negative_feedback", "Negative feedback",
           "Someone judged the answer bad: a thumbs down, a low star rating or a low evaluation score. "
           "Feedback is normalised to 0..1 (1 = good) at ingest, and the signal fires when the score is below "
           "the threshold set here. Calls nobody judged never fire it."),
    Signal("error", "Error",
           "The call did not complete: the log holds an error message, or its status is 'error'. The user got "
           "no answer, or the application had to recover from the failure."),
    Signal("truncated", "Truncated",
           "The model stopped because it ran out of tokens (finish reason 'length', 'max_tokens' or "
           "'MAX_TOKENS'), so the answer was cut off part way. A token budget that is too small is the usual "
           "cause."),
    Signal("empty_output", "Empty output",
           "The call returned neither text nor a tool call, yet logged no error: the user saw nothing, and "
           "nothing says why."),
    Signal("refusal", "Refusal",
           "The answer declines to help (\"I can't help with that\", \"I'm sorry, but I can't\", \"I cannot "
           "assist\"). Matched case-insensitively against the refusal phrases below (regular expressions). "
           "A refusal of a legitimate request is a failure; an answer that also matches an abstention phrase "
           "counts as an abstention instead, never as both."),
    Signal("abstention", "Abstention",
           "The answer says it does not know (\"I don't know\", \"I'm not sure\", \"I don't have that "
           "information\"). Kept apart from wrong answers and refusals: abstaining is honest, and costs less "
           "than a confident error, but it is still a question the assistant could not answer. Matched "
           "case-insensitively against the abstention phrases below."),
    Signal("invalid_json", "Invalid JSON",
           "JSON was asked for (the request set response_format to json_object or json_schema, or the "
           "expected output is JSON) and the answer is not a JSON object or array, as DuckDB's json_valid "
           "reads it. A JSON-mode request needs bare JSON: an answer wrapped in a ```json fence, or with "
           "prose around the JSON, is invalid; the detail says which."),
    Signal("tool_error", "Tool error",
           "A tool call went wrong: the call made tool calls and its error mentions 'tool' or the name of a "
           "tool it called, or a tool's result in the conversation reports an error (error, exception, "
           "traceback, failed, timed out)."),
    Signal("latency_outlier", "Slow call",
           "The call took longer than the chosen percentile (p95 by default) of calls to the same model. "
           "Models with fewer calls than the minimum set here are skipped: a percentile of a handful of calls "
           "means little."),
]}

DEFAULT_REFUSAL_PATTERNS = [
    r"I(?: am|['’]?m) sorry,? (?:but )?I (?:can['’]?t|cannot|won['’]?t|am unable to|am not able to)",
    r"I (?:can['’]?t|cannot|won['’]?t) (?:help|assist)",
    r"I(?: am|['’]m) (?:unable|not able|not allowed|not permitted) to",
    r"as an AI(?: language model)?,? I (?:can['’]?t|cannot)",
]
DEFAULT_ABSTENTION_PATTERNS = [
    r"I (?:don['’]?t|do not) know",
    r"I(?: am|['’]?m) not (?:sure|certain)",
    r"I (?:don['’]?t|do not) have (?:that|this|enough|the|any) information",
    r"I(?: am|['’]m) unable to find",
    r"I (?:couldn['’]?t|could not|can['’]?t|cannot) find (?:any|that|the|this) (?:information|answer|details)",
]
# What a tool's result says when it failed; fixed, so the signal stays easy to explain.
TOOL_RESULT_ERROR = r"(?i)\b(?:error|exception|traceback|failed|timed out)\b"
TRUNCATION_REASONS = ("length", "max_tokens")  # compared lower-cased, so MAX_TOKENS too
JSON_MODES = ("json_object", "json_schema")
RULE_NAME = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


class SignalSettingsError(ValueError):
    """Settings or a rule that cannot be saved; the message says what to fix, for a person."""


@dataclass
class SignalSettings:
    """A workspace's choices for the built-in signals, stored as JSON under settings['signals']."""

    enabled: dict[str, bool] = field(default_factory=lambda: {name: True for name in SIGNALS})
    negative_feedback_below: float = 0.5
    latency_percentile: float = 0.95
    latency_min_calls: int = 20
    refusal_patterns: list[str] = field(default_factory=lambda: list(DEFAULT_REFUSAL_PATTERNS))
    abstention_patterns: list[str] = field(default_factory=lambda: list(DEFAULT_ABSTENTION_PATTERNS))

    def is_enabled(self, name: str) -> bool:
        return self.enabled.get(name, True)


@dataclass(frozen=True)
class Rule:
    """A user's own signal: a SQL boolean condition over the records table's columns."""

    name: str
    condition: str
    description: str | None
    enabled: bool

    @property
    def signal(self) -> Signal:
        explanation = (self.description + " " if self.description else "") + f"Fires where: {self.condition}"
        return Signal(RULE_PREFIX + self.name, self.name, explanation)


@dataclass
class DetectionSummary:
    """What a detection run found: records per enabled signal, failures (any signal) and the total."""

    total: int
    failures: int
    counts: dict[str, int]
    seconds: float | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SignalCount:
    """One signal, whether it is on, and how many records it flagged in the last run."""

    signal: Signal
    enabled: bool
    records: int


# --- settings ----------------------------------------------------------------------------------

def signal_settings(workspace: Workspace) -> SignalSettings:
    """The workspace's settings, defaults filling whatever was never saved."""
    stored = get_setting(workspace, SETTINGS_KEY, {}) or {}
    defaults = SignalSettings()
    known = {key: value for key, value in stored.items() if key in SignalSettings.__dataclass_fields__}
    settings = replace(defaults, **known)
    settings.enabled = {**defaults.enabled, **settings.enabled}
    return settings


def save_signal_settings(workspace: Workspace, settings: SignalSettings) -> DetectionSummary:
    """Check and store the settings, then re-detect so the signals match what is now asked for."""
    _check_settings(workspace, settings)
    set_setting(workspace, SETTINGS_KEY, asdict(settings))
    return detect(workspace)


def _check_settings(workspace: Workspace, settings: SignalSettings) -> None:
    unknown = set(settings.enabled) - set(SIGNALS)
    if unknown:
        raise SignalSettingsError(f"unknown signal(s): {', '.join(sorted(unknown))}")
    if not 0 <= settings.negative_feedback_below <= 1:
        raise SignalSettingsError("the negative feedback threshold is a score between 0 and 1")
    if not 0 < settings.latency_percentile < 1:
        raise SignalSettingsError("the latency percentile is between 0 and 1 (0.95 for p95)")
    if settings.latency_min_calls < 1:
        raise SignalSettingsError("the minimum number of calls per model is at least 1")
    for kind, patterns in (("refusal", settings.refusal_patterns), ("abstention", settings.abstention_patterns)):
        for pattern in patterns:
            _check_pattern(workspace, kind, pattern)


def _check_pattern(workspace: Workspace, kind: str, pattern: str) -> None:
    """A phrase must be a regular expression DuckDB (RE2) accepts; checked here, not mid-detection."""
    if not pattern.strip():
        raise SignalSettingsError(f"a {kind} phrase is empty")
    try:
        workspace.cursor().execute("SELECT regexp_matches('', ?)", [pattern]).fetchone()
    except duckdb.Error as exc:
        raise SignalSettingsError(f"{kind} phrase {pattern!r} is not a valid regular expression: "
                                  f"{_first_line(exc)}") from exc


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]


# --- user rules --------------------------------------------------------------------------------

def list_rules(workspace: Workspace) -> list[Rule]:
    """The workspace's rules, by name."""
    rows = workspace.cursor().execute(
        "SELECT name, condition, description, enabled FROM signal_rules ORDER BY name").fetchall()
    return [Rule(*row) for row in rows]


def add_rule(workspace: Workspace, name: str, condition: str, description: str | None = None) -> DetectionSummary:
    """Validate and save a rule (replacing one of the same name), then re-detect.

    Raises SignalSettingsError, with a message meant for the person who wrote the rule.
    """
    name, condition = name.strip(), condition.strip()
    if not RULE_NAME.match(name):
        raise SignalSettingsError("a rule name is 1 to 64 letters, digits, '_' or '-'")
    validate_condition(workspace, condition)
    with workspace.transaction() as cursor:
        cursor.execute("INSERT OR REPLACE INTO signal_rules (name, condition, description, enabled)"
                       " VALUES (?, ?, ?, true)", [name, condition, (description or "").strip() or None])
    return detect(workspace)


def remove_rule(workspace: Workspace, name: str) -> DetectionSummary:
    """Delete a rule and the signals it raised."""
    with workspace.transaction() as cursor:
        if cursor.execute("SELECT count(*) FROM signal_rules WHERE name = ?", [name]).fetchone()[0] == 0:
            raise SignalSettingsError(f"no rule named {name!r}")
        cursor.execute("DELETE FROM signal_rules WHERE name = ?", [name])
    return detect(workspace)


def set_rule_enabled(workspace: Workspace, name: str, enabled: bool) -> DetectionSummary:
    """Switch a rule on or off without losing it."""
    with workspace.transaction() as cursor:
        if cursor.execute("SELECT count(*) FROM signal_rules WHERE name = ?", [name]).fetchone()[0] == 0:
            raise SignalSettingsError(f"no rule named {name!r}")
        cursor.execute("UPDATE signal_rules SET enabled = ? WHERE name = ?", [enabled, name])
    return detect(workspace)


def validate_condition(workspace: Workspace, condition: str) -> None:
    """Refuse anything but one boolean expression over the records' columns.

    Why DuckDB's parser rather than a word list: it reads the condition exactly as detection will,
    so a condition that closes a parenthesis to smuggle in a second statement, a UNION or an extra
    column shows up as a differently shaped query. Subqueries are refused too: a rule looks at one
    record, and without them it cannot read any other table or file. Finally the condition is bound
    against `records` with LIMIT 0, which checks column names and types without reading a row.
    """
    if not condition:
        raise SignalSettingsError("the condition is empty; write a SQL boolean expression, e.g. latency_ms > 5000")
    if ";" in condition:
        raise SignalSettingsError("a condition is one SQL expression: semicolons (several statements) are not allowed")
    if "--" in condition or "/*" in condition:
        raise SignalSettingsError("comments (-- or /*) are not allowed in a condition")
    probe = f"SELECT ({condition}) AS rule_value FROM records"
    parsed = json.loads(workspace.cursor().execute("SELECT json_serialize_sql(?)", [probe]).fetchone()[0])
    if parsed.get("error"):
        raise SignalSettingsError(f"not a SQL expression: {parsed.get('error_message', 'it does not parse')}")
    problem = _shape_problem(parsed["statements"])
    if problem:
        raise SignalSettingsError(problem)
    cursor = workspace.cursor()
    try:
        kind = cursor.execute(f"DESCRIBE {probe}").fetchall()[0][1]
        if kind != "BOOLEAN":
            raise SignalSettingsError(f"the condition gives {kind}, not true/false; compare it with something, "
                                      "e.g. latency_ms > 5000")
        cursor.execute(f"SELECT record_id FROM records WHERE {_rule_predicate(condition)} LIMIT 0").fetchall()
    except duckdb.Error as exc:
        raise SignalSettingsError(f"DuckDB cannot run the condition: {_first_line(exc)}") from exc


def _shape_problem(statements: list[dict[str, Any]]) -> str | None:
    """Why a parsed probe is not `SELECT (<one expression>) FROM records`, or None when it is."""
    if len(statements) != 1 or statements[0]["node"].get("type") != "SELECT_NODE":
        return "a condition is one expression, not a query or several statements"
    node = statements[0]["node"]
    table = node.get("from_table") or {}
    simple = (len(node["select_list"]) == 1 and node["select_list"][0].get("alias") == "rule_value"
              and table.get("type") == "BASE_TABLE" and table.get("table_name") == "records"
              and not node.get("modifiers") and not node.get("where_clause") and not node.get("group_expressions")
              and not node.get("having") and not node.get("qualify") and not node.get("cte_map", {}).get("map"))
    if not simple:
        return "a condition is one boolean expression over the records' columns, nothing around it"
    if _has_subquery(node["select_list"][0]):
        return "subqueries are not allowed: a rule looks at one record's own columns"
    return None


def _has_subquery(expression: Any) -> bool:
    if isinstance(expression, dict):
        return expression.get("class") == "SUBQUERY" or any(_has_subquery(value) for value in expression.values())
    if isinstance(expression, list):
        return any(_has_subquery(value) for value in expression)
    return False


def _rule_predicate(condition: str) -> str:
    """TRY turns a row where the condition errors (a bad cast) into no match, not a failed run."""
    return f"coalesce(TRY(({condition})), false)"


# --- detection ---------------------------------------------------------------------------------

def _any_pattern(patterns: list[str]) -> str:
    """One case-insensitive RE2 pattern matching any of the phrases."""
    return "(?i)" + "|".join(f"(?:{pattern})" for pattern in patterns)


_JSON_ASKED = (
    "CASE WHEN coalesce(json_extract_string(request_params, '$.response_format.type'),"
    " json_extract_string(request_params, '$.text.format.type')) IN {modes}"
    " THEN 'the request asked for ' || coalesce(json_extract_string(request_params, '$.response_format.type'),"
    " json_extract_string(request_params, '$.text.format.type'))"
    " WHEN regexp_matches(expected_output, '^\\s*[\\[{{]') AND json_valid(expected_output)"
    " THEN 'the expected output is JSON' END"
).format(modes=JSON_MODES)
_IS_JSON_VALUE = "(json_valid(response_text) AND regexp_matches(response_text, '^\\s*[\\[{]'))"

# Each signal's query gives (record_id, value, detail) rows; $names are bound from _parameters.
_QUERIES: dict[str, str] = {
    "negative_feedback": """
        SELECT record_id, feedback_score,
               printf('score %.2f', feedback_score) || coalesce(': ' || array_to_string(list_transform(
                   from_json(feedback, '[{"name": "VARCHAR", "value": "JSON"}]'),
                   lambda item: item.name || ' ' || trim(CAST(item.value AS VARCHAR), '"')), ', '), '')
        FROM records WHERE feedback_score < $threshold""",
    "error": """
        SELECT record_id, 1.0, coalesce(left(error, 300), 'status is error')
        FROM records WHERE error IS NOT NULL OR status = 'error'""",
    "truncated": """
        SELECT record_id, 1.0, 'finish reason ' || finish_reason
        FROM records WHERE lower(finish_reason) IN ('length', 'max_tokens')""",
    "empty_output": """
        SELECT record_id, 1.0, 'no response text, no tool call, no error'
        FROM records
        WHERE coalesce(trim(response_text), '') = '' AND coalesce(json_array_length(tool_calls), 0) = 0
          AND error IS NULL AND status IS DISTINCT FROM 'error'""",
    "abstention": """
        SELECT record_id, 1.0, 'says: ' || regexp_extract(response_text, $abstention, 0)
        FROM records WHERE regexp_matches(response_text, $abstention)""",
    "refusal": """
        SELECT record_id, 1.0, 'says: ' || regexp_extract(response_text, $refusal, 0)
        FROM records
        WHERE regexp_matches(response_text, $refusal)
          AND NOT ($abstention <> '' AND regexp_matches(response_text, $abstention))""",
    "invalid_json": f"""
        SELECT record_id, 1.0,
               CASE WHEN contains(response_text, '```') THEN 'JSON in a ``` code fence, not bare'
                    WHEN lower(finish_reason) IN ('length', 'max_tokens') THEN 'cut off by the token limit'
                    WHEN json_valid(response_text) THEN 'valid JSON, but not an object or array'
                    ELSE 'does not parse as JSON' END || ' (' || asked || ')'
        FROM (SELECT *, {_JSON_ASKED} AS asked FROM records)
        WHERE asked IS NOT NULL AND coalesce(trim(response_text), '') <> '' AND NOT {_IS_JSON_VALUE}""",
    "tool_error": f"""
        SELECT record_id, 1.0, CASE WHEN tool_said_error IS NOT NULL THEN 'tool result: ' || left(tool_said_error, 300)
                                    ELSE left(error, 300) END
        FROM (
            SELECT record_id, error,
                   CASE WHEN coalesce(json_array_length(tool_calls), 0) > 0 AND error IS NOT NULL
                             AND (error ILIKE '%tool%' OR len(list_filter(
                                 from_json(tool_calls, '[{{"name": "VARCHAR"}}]'),
                                 lambda call: call.name IS NOT NULL AND contains(error, call.name))) > 0)
                        THEN true ELSE false END AS error_names_tool,
                   CASE WHEN input_messages LIKE '%"tool"%' THEN list_filter(
                            from_json(input_messages, '[{{"role": "VARCHAR", "content": "VARCHAR"}}]'),
                            lambda m: m.role = 'tool' AND regexp_matches(m.content, '{TOOL_RESULT_ERROR}'))[1].content
                   END AS tool_said_error
            FROM records)
        WHERE error_names_tool OR tool_said_error IS NOT NULL""",
    "latency_outlier": """
        SELECT r.record_id, r.latency_ms,
               printf('%.0f ms, above the p%g of %.0f ms for %s', r.latency_ms, $percentile * 100, l.cutoff,
                      coalesce(r.model, 'calls with no model'))
        FROM records r JOIN (
            SELECT model, quantile_cont(latency_ms, $percentile) AS cutoff FROM records
            WHERE latency_ms IS NOT NULL GROUP BY model HAVING count(*) >= $min_calls
        ) l ON r.model IS NOT DISTINCT FROM l.model
        WHERE r.latency_ms > l.cutoff""",
}


def _parameters(settings: SignalSettings) -> dict[str, Any]:
    """The bound values of every query; a phrase list left empty matches nothing."""
    return {
        "threshold": settings.negative_feedback_below,
        "percentile": settings.latency_percentile,
        "min_calls": settings.latency_min_calls,
        "refusal": _any_pattern(settings.refusal_patterns) if settings.refusal_patterns else "",
        "abstention": _any_pattern(settings.abstention_patterns) if settings.abstention_patterns else "",
    }


def _insert_builtin(cursor: duckdb.DuckDBPyConnection, name: str, values: dict[str, Any]) -> None:
    """Run one signal's query into `signals`, binding only the parameters it names."""
    if name in ("refusal", "abstention") and not values[name]:
        return  # no phrases, no matches
    sql = _QUERIES[name]
    used = {key: value for key, value in values.items() if f"${key}" in sql}
    cursor.execute(f"INSERT INTO signals SELECT record_id, '{name}', value, detail"
                   f" FROM ({sql}) AS found(record_id, value, detail)", used)


def _insert_rule(cursor: duckdb.DuckDBPyConnection, rule: Rule) -> None:
    cursor.execute(
        f"INSERT INTO signals SELECT record_id, ?, 1.0, ? FROM records WHERE {_rule_predicate(rule.condition)}",
        [rule.signal.name, rule.description or rule.condition])


def detect(workspace: Workspace) -> DetectionSummary:
    """Recompute every enabled signal for every record, in one transaction.

    Why all records every time: a changed threshold or phrase list, or new records that move a
    model's latency percentile, change old records' signals too; a full run over 100k records takes
    about half a second on two cores, far cheaper than tracking what changed. The run's summary,
    with the fingerprint of what it saw, commits with the signals: `signals_stale` compares it.
    """
    started = time.perf_counter()
    settings = signal_settings(workspace)
    rules = [rule for rule in list_rules(workspace) if rule.enabled]
    values = _parameters(settings)
    with workspace.transaction() as cursor:
        cursor.execute("DELETE FROM signals")
        for name in SIGNALS:
            if settings.is_enabled(name):
                _insert_builtin(cursor, name, values)
        for rule in rules:
            _insert_rule(cursor, rule)
        summary = current_summary(workspace, cursor)
        summary.seconds = round(time.perf_counter() - started, 3)
        cursor.execute("INSERT OR REPLACE INTO settings (key, value, updated_at) VALUES (?, ?, now())",
                       [LAST_RUN_KEY, json.dumps({**summary.as_json(), "at": datetime.now(timezone.utc).isoformat(),
                                                  "fingerprint": _fingerprint(cursor)})])
    return summary


def _fingerprint(cursor: duckdb.DuckDBPyConnection) -> str:
    """What signals are computed from, in one value: the ingests that went in (each adds its
    records in the transaction that logs it), the signal settings and the rules."""
    ingests = cursor.execute("SELECT count(*) FROM ingests WHERE message IS NULL").fetchone()[0]
    stored = cursor.execute("SELECT value FROM settings WHERE key = ?", [SETTINGS_KEY]).fetchone()
    rules = cursor.execute("SELECT name, condition, enabled FROM signal_rules ORDER BY name").fetchall()
    basis = json.dumps([ingests, stored[0] if stored else None, rules], default=str)
    return hashlib.sha256(basis.encode()).hexdigest()[:16]


def signals_stale(workspace: Workspace) -> bool:
    """Whether records, settings or rules changed since detection last ran to completion: e.g. an
    ingest killed after its records committed and before detection ran."""
    cursor = workspace.cursor()
    last = last_detection(workspace)
    if last is None:
        return cursor.execute("SELECT count(*) > 0 FROM records").fetchone()[0]
    return last.get("fingerprint") != _fingerprint(cursor)


def current_summary(workspace: Workspace, cursor: duckdb.DuckDBPyConnection | None = None) -> DetectionSummary:
    """What the stored signals say now, without re-running detection (seconds is None); read
    through `cursor` when given (inside detection's transaction)."""
    settings = signal_settings(workspace)
    cursor = cursor or workspace.cursor()
    stored = dict(cursor.execute("SELECT signal, count(*) FROM signals GROUP BY signal").fetchall())
    names = [name for name in SIGNALS if settings.is_enabled(name)]
    names += [rule.signal.name for rule in list_rules(workspace) if rule.enabled]
    total, failures = cursor.execute(
        f"SELECT (SELECT count(*) FROM records), (SELECT count(*) FROM ({failures_sql()}))").fetchone()
    return DetectionSummary(total, failures, {name: stored.get(name, 0) for name in names})


def last_detection(workspace: Workspace) -> dict[str, Any] | None:
    """The last run's summary and time ('at'), or None when detection never ran here."""
    return get_setting(workspace, LAST_RUN_KEY)


# --- reading the results -----------------------------------------------------------------------

def failures_sql() -> str:
    """A SELECT of the failing records' ids, to embed in other modules' queries.

    Why no settings are needed: detection stores only enabled signals, so a record is a failure
    exactly when it has a row in `signals`.
    """
    return "SELECT DISTINCT record_id FROM signals"


def failure_record_ids(workspace: Workspace) -> list[str]:
    """The ids of every record that some enabled signal flagged, sorted."""
    return [row[0] for row in workspace.cursor().execute(f"{failures_sql()} ORDER BY 1").fetchall()]


def signal_counts(workspace: Workspace) -> list[SignalCount]:
    """Every built-in signal and rule, on or off, with the records it flagged in the last run."""
    settings = signal_settings(workspace)
    stored = dict(workspace.cursor().execute("SELECT signal, count(*) FROM signals GROUP BY signal").fetchall())
    counts = [SignalCount(signal, settings.is_enabled(name), stored.get(name, 0)) for name, signal in SIGNALS.items()]
    counts += [SignalCount(rule.signal, rule.enabled, stored.get(rule.signal.name, 0)) for rule in list_rules(workspace)]
    return counts


def signal_labels(workspace: Workspace) -> dict[str, str]:
    """Stored signal name -> the label people read ("latency_outlier" -> "Slow call", a rule's
    "rule:cut_off" -> "rule cut_off"), so the queue, its filter and the command line agree."""
    return {name: signal.label for name, signal in SIGNALS.items()} | {
        rule.signal.name: f"rule {rule.name}" for rule in list_rules(workspace)}


def signals_of(workspace: Workspace, record_id: str) -> list[dict[str, Any]]:
    """The signals one record raised, with each signal's label and explanation."""
    rows = workspace.cursor().execute(
        "SELECT signal, value, detail FROM signals WHERE record_id = ? ORDER BY signal", [record_id]).fetchall()
    known = {**SIGNALS, **{rule.signal.name: rule.signal for rule in list_rules(workspace)}}
    return [{"signal": name, "label": known[name].label if name in known else name, "value": value,
             "detail": detail, "explanation": known[name].explanation if name in known else None}
            for name, value, detail in rows]


def failure_rate_over_time(workspace: Workspace, bucket: Literal["day", "week"] = "day") -> pl.DataFrame:
    """Records, failures and the failure rate per UTC day or week (records with no time left out)."""
    if bucket not in ("day", "week"):
        raise ValueError(f"bucket must be 'day' or 'week', not {bucket!r}")
    return workspace.frame(
        f"""SELECT date_trunc('{bucket}', r.ts AT TIME ZONE 'UTC') AS period, count(*) AS records,
                   count(f.record_id) AS failures, count(f.record_id) / count(*) AS failure_rate
            FROM records r LEFT JOIN ({failures_sql()}) f USING (record_id)
            WHERE r.ts IS NOT NULL GROUP BY period ORDER BY period""")
