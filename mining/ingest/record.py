"""The canonical record every log shape is turned into, and the small normalisers shapes share.

Why one record: detection, clustering, review and export should never care whether a call was
logged by an OpenAI wrapper, an OTel collector or Langfuse. Each shape module maps its source onto
`Record`; everything after ingest reads only `records`.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

# Columns of `records` written by ingest, in table order (see store.py, migration 1).
RECORD_COLUMNS = [
    "record_id", "source_id", "source_format", "source_file", "source_line", "ingest_id",
    "trace_id", "parent_id", "session_id", "user_id", "ts", "model", "input_messages",
    "cluster_text", "response_text", "tool_calls", "tools", "request_params", "finish_reason",
    "status", "error", "latency_ms", "input_tokens", "output_tokens", "total_tokens", "token_note",
    "feedback_score", "feedback_comment", "feedback", "expected_output", "metadata", "raw",
]

JSON_COLUMNS = {"input_messages", "tool_calls", "tools", "request_params", "feedback", "metadata"}


class BadRow(Exception):
    """One input row that cannot become a record; the message is shown to a person in quarantine.

    Raised for a whole row. A shape whose row holds many calls (an OTLP export holds many spans)
    returns a `BadRow` in its results instead, with `raw` set to the bad part, so that one bad
    span is quarantined while the good spans of the same row are still ingested.
    """

    def __init__(self, reason: str, raw: str | None = None) -> None:
        super().__init__(reason)
        self.raw = raw


@dataclass
class FeedbackItem:
    """One piece of feedback as the source gave it, plus its value on Faultline's 0..1 scale.

    `score` is 1.0 for the best outcome and 0.0 for the worst; None when the item carries no
    judgement (a free-text comment, a categorical label we cannot order).
    """

    name: str
    value: Any
    score: float | None
    kind: str  # thumbs | rating | score | boolean | comment | categorical | correction
    source: str | None = None  # who gave it: user, annotation, eval, api...
    comment: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "value": self.value, "score": self.score, "kind": self.kind,
            "source": self.source, "comment": self.comment,
        }


@dataclass
class Record:
    """One LLM call, whatever shape it was logged in."""

    source_format: str
    raw: str
    source_id: str | None = None
    trace_id: str | None = None
    parent_id: str | None = None
    session_id: str | None = None
    user_id: str | None = None
    ts: datetime | None = None
    model: str | None = None
    input_messages: list[dict[str, Any]] = field(default_factory=list)
    response_text: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    tools: list[Any] | None = None
    request_params: dict[str, Any] | None = None
    finish_reason: str | None = None
    status: str | None = None  # "ok" | "error" | None when the source does not say
    error: str | None = None
    latency_ms: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    token_note: str | None = None
    feedback: list[FeedbackItem] = field(default_factory=list)
    expected_output: str | None = None
    metadata: dict[str, Any] | None = None

    def record_id(self) -> str:
        """Stable id: from the source's own id when it has one, else from the raw content.

        Stable ids make ingest idempotent: the same call read twice maps to the same row.
        """
        basis = f"id:{self.source_id}" if self.source_id else f"raw:{canonical_json_text(self.raw)}"
        return hashlib.sha256(f"{self.source_format}|{basis}".encode()).hexdigest()[:32]

    def cluster_text(self) -> str | None:
        """The text to cluster on by default: the last user message."""
        for message in reversed(self.input_messages):
            if message.get("role") == "user" and message.get("content"):
                return message["content"]
        return None

    def feedback_score(self) -> float | None:
        """Mean normalised score, preferring people's judgements over automated evals."""
        judged = [item for item in self.feedback if item.score is not None]
        human = [item for item in judged if (item.source or "").lower() not in {"eval", "llm", "code"}]
        chosen = human or judged
        if not chosen:
            return None
        return sum(item.score for item in chosen) / len(chosen)

    def feedback_comment(self) -> str | None:
        comments = [item.comment for item in self.feedback if item.comment]
        return "\n".join(comments) if comments else None

    def as_row(self, source_file: str, source_line: int | None, ingest_id: str) -> dict[str, Any]:
        """The `records` row for this record, JSON columns serialised.

        Raises BadRow when a value cannot be stored as it is (see `_check_storable`)."""
        if self.total_tokens is None and self.input_tokens is not None and self.output_tokens is not None:
            self.total_tokens = self.input_tokens + self.output_tokens
        row = {
            "record_id": self.record_id(), "source_id": self.source_id,
            "source_format": self.source_format, "source_file": source_file,
            "source_line": source_line, "ingest_id": ingest_id, "trace_id": self.trace_id,
            "parent_id": self.parent_id, "session_id": self.session_id, "user_id": self.user_id,
            "ts": self.ts, "model": self.model, "input_messages": self.input_messages,
            "cluster_text": self.cluster_text(), "response_text": self.response_text,
            "tool_calls": self.tool_calls or None, "tools": self.tools,
            "request_params": self.request_params, "finish_reason": self.finish_reason,
            "status": self.status, "error": self.error, "latency_ms": self.latency_ms,
            "input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens, "token_note": self.token_note,
            "feedback_score": self.feedback_score(), "feedback_comment": self.feedback_comment(),
            "feedback": [item.as_json() for item in self.feedback] or None,
            "expected_output": self.expected_output, "metadata": self.metadata or None,
            "raw": self.raw,
        }
        for column in JSON_COLUMNS:
            if row[column] is not None:
                row[column] = json.dumps(row[column], ensure_ascii=False, default=str)
        _check_storable(row)
        return row


BIGINT_RANGE = range(-(1 << 63), 1 << 63)


def _check_storable(row: dict[str, Any]) -> None:
    """Refuse, naming the field, a value the workspace cannot hold exactly.

    Why refuse rather than fix: a count beyond DuckDB's BIGINT or text holding half of a UTF-16
    surrogate pair (a lone `\\ud83d`, usually an emoji cut in two) would make the whole batch fail
    to insert. Clamping or replacing the value would store something the source never said, so the
    line is quarantined instead, with its raw text, and every other line is stored.
    """
    for column, value in row.items():
        if isinstance(value, int) and not isinstance(value, bool) and value not in BIGINT_RANGE:
            raise BadRow(f"{column} {_short(value)} is out of range: the largest number Faultline stores "
                         f"is {BIGINT_RANGE.stop - 1}")
        if isinstance(value, str) and not value.isascii():
            _check_text(column, value)


def _check_text(column: str, text: str) -> None:
    """BadRow when the text cannot be written as UTF-8, saying what is in it and where."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        context = text[max(exc.start - 20, 0):exc.start + 20].encode("utf-8", "backslashreplace").decode()
        raise BadRow(f"{column} holds {text[exc.start].encode('utf-8', 'backslashreplace').decode()}, half of a "
                     f"UTF-16 surrogate pair, which is not text (an emoji cut in two?), near {context!r}") from None


def _short(number: int | str) -> str:
    """A number for a message, its digits elided past 40."""
    digits = str(number)
    return digits if len(digits) <= 40 else f"{digits[:12]}...({len(digits)} digits)"


def storable_text(text: str | None) -> str | None:
    """Text as it can be stored: a lone surrogate shown as its escape (`\\ud83d`), for quarantine
    reasons and raw lines, which must be kept whatever they hold."""
    if text is None or text.isascii():
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


@dataclass
class SourceScore:
    """A score logged apart from the call it judges (Langfuse scores); joined to records after ingest."""

    score_id: str
    source_format: str
    trace_id: str | None
    observation_id: str | None
    item: FeedbackItem


def canonical_json_text(raw: str) -> str:
    """The raw text with key order and whitespace normalised, so re-serialised copies hash alike."""
    try:
        return json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":"))
    except (ValueError, TypeError):
        return raw


# --- small value normalisers -----------------------------------------------------------------

def text_of(content: Any) -> str | None:
    """Message content as plain text: strings as-is, lists of parts joined, None kept None."""
    if content is None:
        return None
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict):
                if part.get("type") in (None, "text", "input_text", "output_text") and isinstance(
                    part.get("text", part.get("content")), str
                ):
                    texts.append(part.get("text", part.get("content")))
        return "\n".join(texts) if texts else None
    if isinstance(content, dict):
        inner = content.get("text", content.get("content"))
        return inner if isinstance(inner, str) else json.dumps(content, ensure_ascii=False)
    return str(content)


def parse_arguments(arguments: Any) -> Any:
    """Tool-call arguments as an object: OpenAI logs a JSON string, others an object."""
    if isinstance(arguments, str):
        try:
            return json.loads(arguments)
        except ValueError:
            return arguments
    return arguments


def tool_call(call_id: Any, name: Any, arguments: Any) -> dict[str, Any]:
    return {"id": call_id, "name": name, "arguments": parse_arguments(arguments)}


def message(role: str, content: Any, **extra: Any) -> dict[str, Any]:
    """A canonical message: role, text content, and optional tool_calls / tool_call_id / name."""
    result: dict[str, Any] = {"role": role, "content": text_of(content)}
    for key, value in extra.items():
        if value not in (None, [], {}):
            result[key] = value
    return result


def openai_message(raw: Any, where: str) -> dict[str, Any]:
    """A canonical message from an OpenAI-style message dict."""
    if not isinstance(raw, dict):
        raise BadRow(f"{where}: expected a message object, got {type_name(raw)}")
    role = raw.get("role")
    if not isinstance(role, str):
        raise BadRow(f"{where}: message has no 'role'")
    calls = [
        tool_call(call.get("id"), (call.get("function") or {}).get("name"), (call.get("function") or {}).get("arguments"))
        for call in raw.get("tool_calls") or []
        if isinstance(call, dict)
    ]
    return message(role, raw.get("content"), tool_calls=calls, tool_call_id=raw.get("tool_call_id"), name=raw.get("name"))


def type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__
    )


_NUMERIC = re.compile(r"^-?\d+(\.\d+)?$")


def _number(value: Any) -> float | int | None:
    """A number from a number or a numeric string; None for empty; BadRow for anything else."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise BadRow(f"expected a number, got {value!r}")
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str) and _NUMERIC.match(value.strip()):
        text = value.strip()
        if "." in text:
            return float(text)
        try:
            return int(text)  # exact: a long count must not turn into a nearby float
        except ValueError:
            raise BadRow(f"the number {_short(text)} has more digits than Faultline reads") from None
    raise BadRow(f"expected a number, got {_shown(value)}")


def as_int(value: Any) -> int | None:
    """A whole number (a float is cut to its integer part); BadRow for infinity and NaN."""
    number = _number(value)
    if isinstance(number, float) and not math.isfinite(number):
        raise BadRow(f"expected a whole number, got {value!r}")
    return None if number is None else int(number)


def as_float(value: Any) -> float | None:
    """A float; BadRow for an integer too large for one (more than about 308 digits)."""
    number = _number(value)
    try:
        return None if number is None else float(number)
    except OverflowError:
        raise BadRow(f"the number {_short(number)} is too large to store") from None


def _shown(value: Any) -> str:
    """A value for a message: its repr, cut short when long."""
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:60]}... ({len(text)} characters)"


def as_str(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


_DAY_FIRST_PATTERNS = ["%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y", "%d.%m.%Y %H:%M", "%d.%m.%Y"]
_MONTH_FIRST_PATTERNS = ["%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y", "%m/%d/%Y %I:%M %p"]


def parse_time(value: Any, day_first: bool | None = None) -> datetime | None:
    """A timestamp in any common form, as an aware UTC datetime.

    Accepts ISO 8601 (with Z or an offset; naive means UTC), unix seconds / milliseconds /
    microseconds / nanoseconds (numbers or numeric strings), and d/m/Y or m/d/Y dates where
    `day_first` says which (None tries day first, then month first).
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, bool):
        raise BadRow(f"timestamp {value!r} is not a time")
    if isinstance(value, (int, float)) or (isinstance(value, str) and _NUMERIC.match(value.strip())):
        try:
            number = float(value)
        except OverflowError:
            raise BadRow(f"timestamp {_short(value)} is out of range") from None
        if not math.isfinite(number) or number <= 0:
            raise BadRow(f"timestamp {_shown(value)} is not a time")
        for divisor in (1, 1e3, 1e6, 1e9):  # seconds, ms, µs, ns: pick the one landing after 1990
            seconds = number / divisor
            if seconds < 4102444800:  # 2100-01-01
                return datetime.fromtimestamp(seconds, tz=timezone.utc)
        raise BadRow(f"timestamp {_shown(value)} is out of range")
    if not isinstance(value, str):
        raise BadRow(f"timestamp {_shown(value)} is not a time")
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" UTC", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    except ValueError:
        pass
    patterns = (
        _DAY_FIRST_PATTERNS if day_first else _MONTH_FIRST_PATTERNS if day_first is False
        else _DAY_FIRST_PATTERNS + _MONTH_FIRST_PATTERNS
    )
    for pattern in patterns:
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    raise BadRow(f"timestamp {_shown(value)} is not a date/time Faultline understands")


# --- feedback ---------------------------------------------------------------------------------

def _finite(number: int | float) -> bool:
    """Whether a number is finite as a float: an integer too large for a float is not."""
    try:
        return math.isfinite(number)
    except OverflowError:
        return False


THUMB_SCORES = {
    "up": 1.0, "down": 0.0, "thumbs_up": 1.0, "thumbs_down": 0.0, "thumbsup": 1.0, "thumbsdown": 0.0,
    "positive": 1.0, "negative": 0.0, "good": 1.0, "bad": 0.0, "like": 1.0, "dislike": 0.0,
    "👍": 1.0, "👎": 0.0, "+1": 1.0, "-1": 0.0, "true": 1.0, "false": 0.0, "yes": 1.0, "no": 0.0,
    "correct": 1.0, "incorrect": 0.0, "helpful": 1.0, "unhelpful": 0.0,
}


def feedback_from_value(name: str, value: Any, *, source: str | None = None, comment: str | None = None,
                        scale: str | None = None) -> FeedbackItem:
    """Normalise one feedback value onto 0..1 (1 = good), keeping the original.

    `scale` forces the reading ("thumbs", "rating", "score"); otherwise it is inferred: booleans and
    up/down words are thumbs, integers 1-5 are ratings, numbers in [0, 1] are scores, numbers in
    [-1, 0) are on a -1..1 scale, numbers up to 10 are out of 10.
    """
    if isinstance(value, bool):
        return FeedbackItem(name, value, 1.0 if value else 0.0, "boolean", source, comment)
    if isinstance(value, str):
        key = value.strip().lower()
        if key in THUMB_SCORES:
            return FeedbackItem(name, value, THUMB_SCORES[key], "thumbs", source, comment)
        if _NUMERIC.match(key):
            return feedback_from_value(name, float(key), source=source, comment=comment, scale=scale)
        if not key:
            return FeedbackItem(name, value, None, "comment", source, comment)
        return FeedbackItem(name, value, None, "categorical", source, comment)
    if isinstance(value, (int, float)) and _finite(value):
        number = float(value)
        if scale == "thumbs":
            return FeedbackItem(name, value, 1.0 if number > 0 else 0.0, "thumbs", source, comment)
        if scale == "rating" or (scale is None and number == int(number) and 1 <= number <= 5 and number > 1):
            return FeedbackItem(name, value, min(max((number - 1) / 4, 0.0), 1.0), "rating", source, comment)
        if 0 <= number <= 1:
            return FeedbackItem(name, value, number, "score", source, comment)
        if -1 <= number < 0:
            return FeedbackItem(name, value, (number + 1) / 2, "score", source, comment)
        if 1 < number <= 10:
            return FeedbackItem(name, value, number / 10, "score", source, comment)
        return FeedbackItem(name, value, None, "score", source, comment)
    return FeedbackItem(name, value, None, "categorical", source, comment)
