"""Any table of calls whose columns a user maps onto the record's fields.

Why a mapping: every team logs to its own table. Faultline suggests a mapping from the column
names (and the values, for dates) and the user corrects it in the UI or with `--map field=column`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from mining.ingest.record import (
    BadRow, FeedbackItem, Record, as_float, as_str, feedback_from_value, message, parse_time, type_name,
)

# Fields a column can be mapped to, with the column names that suggest them (lower-case, no spaces).
MAPPABLE_FIELDS: dict[str, tuple[str, ...]] = {
    "input": ("input", "prompt", "question", "query", "user_message", "customer_message", "request",
              "user_input", "message", "user_query", "inputs", "text"),
    "output": ("output", "response", "answer", "completion", "bot_answer", "bot_reply", "reply",
               "assistant", "assistant_message", "model_output", "outputs", "generation"),
    "time": ("time", "timestamp", "ts", "when", "date", "datetime", "created_at", "event_time",
             "created", "start_time"),
    "model": ("model", "llm", "model_name", "engine"),
    "feedback": ("feedback", "rating", "stars", "score", "thumbs", "vote", "user_rating", "label"),
    "comment": ("comment", "reviewer_comment", "feedback_comment", "note", "notes", "explanation"),
    "expected_output": ("expected_output", "expected", "reference", "ground_truth", "gold", "ideal",
                        "correct_answer", "target"),
    "id": ("id", "request_id", "call_id", "record_id", "uuid", "message_id"),
    "trace_id": ("trace_id", "traceid", "trace"),
    "session_id": ("session_id", "conversation_id", "session", "conversation", "thread_id", "chat_id"),
    "user_id": ("user_id", "user", "customer", "customer_id", "userid", "enduser"),
    "system": ("system", "system_prompt", "instructions"),
    "error": ("error", "error_message", "exception"),
    "latency_ms": ("latency_ms", "latency", "duration_ms", "elapsed_ms"),
}

REQUIRED_FIELDS = ("input",)


def _key(column: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", column.strip().lower()).strip("_")


def suggest_mapping(columns: Iterable[str]) -> dict[str, str]:
    """field -> column, from the column names; each column is used at most once."""
    by_key = {_key(column): column for column in columns}
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for field_name, synonyms in MAPPABLE_FIELDS.items():
        for synonym in synonyms:
            column = by_key.get(synonym)
            if column is not None and column not in used:
                mapping[field_name] = column
                used.add(column)
                break
    return mapping


def guess_day_first(values: Iterable[Any]) -> bool | None:
    """True when dates like 13/11/2026 show the day comes first, False when 11/13/2026 shows the month does."""
    for value in values:
        match = re.match(r"^\s*(\d{1,2})[/.](\d{1,2})[/.]\d{2,4}", str(value or ""))
        if match:
            first, second = int(match.group(1)), int(match.group(2))
            if first > 12 >= second:
                return True
            if second > 12 >= first:
                return False
    return None


@dataclass
class ColumnMapping:
    """Which column feeds which record field, and how to read feedback and dates."""

    columns: dict[str, str] = field(default_factory=dict)
    feedback_scale: str | None = None  # thumbs | rating | score; None infers from the column name
    day_first: bool | None = None

    @classmethod
    def parse(cls, pairs: Iterable[str]) -> "ColumnMapping":
        """From `field=column` strings, as given on the command line."""
        mapping = cls()
        for pair in pairs:
            name, sep, column = pair.partition("=")
            name = name.strip()
            if not sep or not column.strip():
                raise ValueError(f"--map {pair!r}: expected field=column")
            if name == "feedback_scale":
                mapping.feedback_scale = column.strip()
            elif name == "day_first":
                mapping.day_first = column.strip().lower() in ("1", "true", "yes")
            elif name in MAPPABLE_FIELDS:
                mapping.columns[name] = column.strip()
            else:
                raise ValueError(f"--map {pair!r}: unknown field {name!r}; fields are {', '.join(MAPPABLE_FIELDS)}")
        return mapping

    def as_json(self) -> dict[str, Any]:
        return {"columns": self.columns, "feedback_scale": self.feedback_scale, "day_first": self.day_first}

    def problems(self, available: Iterable[str]) -> list[str]:
        """What is wrong with this mapping for a table with these columns, in words."""
        present = set(available)
        issues = [f"no column is mapped to '{name}'" for name in REQUIRED_FIELDS if name not in self.columns]
        issues += [f"'{name}' is mapped to column '{column}', which the file does not have"
                   for name, column in self.columns.items() if column not in present]
        return issues


class GenericTableShape:
    """Rows of a table, read through a `ColumnMapping`."""

    name = "generic"
    label = "Generic table (columns mapped by you)"

    def __init__(self, mapping: ColumnMapping | None = None) -> None:
        self.mapping = mapping or ColumnMapping()

    def looks_like(self, value: Any) -> bool:
        if not isinstance(value, dict):
            return False
        suggested = suggest_mapping(value)
        return "input" in suggested and "output" in suggested

    def prepare(self, sample: list[Any]) -> None:
        """Fill in what the user did not say, from the first rows: the mapping and the date order."""
        columns = {key for value in sample if isinstance(value, dict) for key in value}
        if not self.mapping.columns:
            self.mapping.columns = suggest_mapping(columns)
        time_column = self.mapping.columns.get("time")
        if self.mapping.day_first is None and time_column:
            self.mapping.day_first = guess_day_first(v.get(time_column) for v in sample if isinstance(v, dict))
        if self.mapping.feedback_scale is None and "feedback" in self.mapping.columns:
            name = _key(self.mapping.columns["feedback"])
            self.mapping.feedback_scale = (
                "rating" if name in ("rating", "stars", "user_rating") else
                "thumbs" if name in ("thumbs", "vote") else None
            )

    def parse(self, value: Any) -> Iterable[Record]:
        if not isinstance(value, dict):
            raise BadRow(f"expected a table row, got {type_name(value)}")
        columns = self.mapping.columns

        def cell(name: str) -> Any:
            column = columns.get(name)
            if column is None:
                return None
            cell_value = value.get(column)
            return None if cell_value == "" else cell_value

        user_input = cell("input")
        if user_input is None:
            raise BadRow(f"missing required field: the input column '{columns.get('input')}' is empty")
        messages = []
        if cell("system") is not None:
            messages.append(message("system", _text(cell("system"))))
        messages.extend(_as_messages(user_input))
        record = Record(source_format=self.name, raw="", input_messages=messages)
        record.response_text = _text(cell("output"))
        record.ts = parse_time(cell("time"), self.mapping.day_first)
        record.model = as_str(cell("model"))
        record.source_id = as_str(cell("id"))
        record.trace_id = as_str(cell("trace_id"))
        record.session_id = as_str(cell("session_id"))
        record.user_id = as_str(cell("user_id"))
        record.expected_output = _text(cell("expected_output"))
        record.latency_ms = as_float(cell("latency_ms"))
        if cell("error") is not None:
            record.error, record.status = _text(cell("error")), "error"
        comment = as_str(cell("comment"))
        if cell("feedback") is not None:
            record.feedback.append(feedback_from_value(
                columns["feedback"], cell("feedback"), source="user", comment=comment, scale=self.mapping.feedback_scale))
        elif comment:
            record.feedback.append(FeedbackItem(columns["comment"], comment, None, "comment", "user", comment))
        mapped = set(columns.values())
        rest = {key: item for key, item in value.items() if key not in mapped and item not in ("", None)}
        record.metadata = rest or None
        return [record]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _as_messages(user_input: Any) -> list[dict[str, Any]]:
    """The input cell as messages: a JSON list of messages is kept as a conversation, else one user turn."""
    if isinstance(user_input, str) and user_input.lstrip().startswith("[{"):
        try:
            parsed = json.loads(user_input)
        except ValueError:
            parsed = None
        if isinstance(parsed, list) and all(isinstance(item, dict) and "role" in item for item in parsed):
            return [message(item["role"], item.get("content")) for item in parsed]
    if isinstance(user_input, list) and all(isinstance(item, dict) and "role" in item for item in user_input):
        return [message(item["role"], item.get("content")) for item in user_input]
    return [message("user", _text(user_input))]
