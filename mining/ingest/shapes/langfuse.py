"""Langfuse observations and scores, from the public API or an export (one item per line).

Only `GENERATION` observations are calls; spans and events are context and are skipped. Scores
come as a separate file, often exported apart from the observations: each becomes a `SourceScore`
that `scores.apply_source_scores` joins onto the generations after every ingest, by observation id
or, for a score on a whole trace, by trace id, so the order of the two files does not matter.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Iterable

from mining.ingest.record import (
    BadRow, FeedbackItem, Record, SourceScore, as_float, as_int, as_str, feedback_from_value, message,
    parse_time, text_of, type_name,
)
from mining.ingest.shapes.langsmith import arguments_as_user_turn, chat_message

# Langfuse score `source` -> who gave it (Record.feedback_score prefers people over evals).
_SCORE_SOURCES = {"API": "user", "ANNOTATION": "annotation", "EVAL": "eval"}

TOKEN_NOTE = "Langfuse usageDetails: input excludes cached input tokens"


class LangfuseObservationShape:
    name = "langfuse"
    label = "Langfuse observations"

    def looks_like(self, value: Any) -> bool:
        return isinstance(value, dict) and "traceId" in value and "type" in value and "startTime" in value

    def parse(self, value: Any) -> Iterable[Record]:
        if not isinstance(value, dict):
            raise BadRow(f"expected a JSON object for one Langfuse observation, got {type_name(value)}")
        kind = value.get("type")
        if not isinstance(kind, str):
            raise BadRow(f"field 'type' should be a string such as GENERATION, got {type_name(kind)}")
        if kind.upper() != "GENERATION":
            return []
        source_id = as_str(value.get("id"))
        if source_id is None:
            raise BadRow("missing required field 'id' (the observation id)")
        if value.get("input") in (None, "", [], {}):
            raise BadRow("field 'input' of a GENERATION is missing or empty")
        metadata = value.get("metadata")
        start, end = _time_field(value, "startTime"), _time_field(value, "endTime")
        record = Record(
            source_format=self.name, raw="", source_id=source_id, trace_id=as_str(value.get("traceId")),
            parent_id=as_str(value.get("parentObservationId")), ts=start, model=as_str(value.get("model")),
            input_messages=_input_messages(value["input"]), tools=_tools_of(value["input"]),
            request_params=_params_of(value.get("modelParameters")), latency_ms=_millis(start, end),
        )
        _read_output(record, value.get("output"))
        _read_usage(record, value)
        _read_status(record, value)
        known = metadata if isinstance(metadata, dict) else {}
        record.user_id = as_str(value.get("userId") or known.get("user_id") or known.get("userId")
                                or known.get("langfuse_user_id"))
        record.session_id = as_str(value.get("sessionId") or known.get("session_id") or known.get("sessionId")
                                   or known.get("langfuse_session_id"))
        record.metadata = _metadata_of(value, metadata, start)
        return [record]


class LangfuseScoreShape:
    name = "langfuse_scores"
    label = "Langfuse scores"

    def looks_like(self, value: Any) -> bool:
        if not isinstance(value, dict) or not ("traceId" in value or "observationId" in value):
            return False
        return "dataType" in value or "stringValue" in value or (
            "value" in value and "type" not in value and "startTime" not in value)

    def parse(self, value: Any) -> Iterable[SourceScore]:
        if not isinstance(value, dict):
            raise BadRow(f"expected a JSON object for one Langfuse score, got {type_name(value)}")
        score_id = as_str(value.get("id"))
        if score_id is None:
            raise BadRow("missing required field 'id' (the score id)")
        trace_id, observation_id = as_str(value.get("traceId")), as_str(value.get("observationId"))
        if trace_id is None and observation_id is None:
            raise BadRow("the score has neither 'traceId' nor 'observationId', so it judges no call"
                         " (session and dataset-run scores are not read)")
        name = value.get("name")
        if not isinstance(name, str) or not name:
            raise BadRow(f"field 'name' of a score should be a non-empty string, got {type_name(name)}")
        return [SourceScore(score_id, self.name, trace_id, observation_id, score_item(value, name))]


# --- observations -----------------------------------------------------------------------------

def _input_messages(raw: Any) -> list[dict[str, Any]]:
    """Input messages from any JSON Langfuse holds as `input`.

    A message list; `{messages, tools?, system?}` (the OpenAI / Anthropic integrations); one
    message; a string prompt; or other arguments, kept as one user turn.
    """
    if isinstance(raw, list) and raw and all(isinstance(item, dict) for item in raw):
        return [chat_message(item, f"input[{index}]") for index, item in enumerate(raw)]
    if isinstance(raw, dict) and "messages" in raw:
        if not isinstance(raw["messages"], list):
            raise BadRow(f"field 'input.messages' should be a list, got {type_name(raw['messages'])}")
        messages = [chat_message(item, f"input.messages[{index}]") for index, item in enumerate(raw["messages"])]
        system = text_of(raw.get("system"))
        return [message("system", system), *messages] if system else messages
    if isinstance(raw, dict) and _is_message(raw):
        return [chat_message(raw, "input")]
    if isinstance(raw, dict):
        return [arguments_as_user_turn(raw)]
    return [message("user", raw)]


def _tools_of(raw: Any) -> list[Any] | None:
    if not isinstance(raw, dict):
        return None
    tools = raw.get("tools") or raw.get("functions")
    return tools if isinstance(tools, list) and tools else None


def _is_message(value: Any) -> bool:
    return isinstance(value, dict) and ("role" in value or "kwargs" in value or (
        "type" in value and "content" in value))


def _read_output(record: Record, output: Any) -> None:
    """Reply text and tool calls from a message, a ChatCompletion-like dict, a string or other JSON."""
    if output is None:
        return
    if isinstance(output, list) and output and _is_message(output[0]):
        output = output[0]
    if isinstance(output, dict) and isinstance(output.get("choices"), list) and output["choices"]:
        choice = output["choices"][0] if isinstance(output["choices"][0], dict) else {}
        record.finish_reason = as_str(choice.get("finish_reason"))
        output = choice.get("message") or {"role": "assistant", "content": choice.get("text")}
    if isinstance(output, dict) and (_is_message(output) or "tool_calls" in output):
        reply = chat_message(output if "role" in output or "kwargs" in output else {"role": "assistant", **output},
                             "output")
        record.response_text = reply.get("content")
        record.tool_calls = reply.get("tool_calls", [])
    elif isinstance(output, str):
        record.response_text = output
    else:
        text = text_of(output) if isinstance(output, (dict, list)) else None
        record.response_text = text or json.dumps(output, ensure_ascii=False)


def _read_usage(record: Record, value: dict[str, Any]) -> None:
    """Token counts as Langfuse gives them: `usageDetails`, older `usage`, or the oldest top-level
    `promptTokens` / `completionTokens` / `totalTokens`; the note says input leaves cached tokens out."""
    for key in ("usageDetails", "usage"):
        usage = value.get(key)
        if usage is None:
            continue
        if not isinstance(usage, dict):
            raise BadRow(f"field '{key}' should be an object, got {type_name(usage)}")
        if usage:
            counts = (_first(usage, "input", "promptTokens", "input_tokens", "prompt_tokens"),
                      _first(usage, "output", "completionTokens", "output_tokens", "completion_tokens"),
                      _first(usage, "total", "totalTokens", "total_tokens"))
            _set_tokens(record, counts, key, _cached_tokens(usage))
            return
    counts = (value.get("promptTokens"), value.get("completionTokens"), value.get("totalTokens"))
    _set_tokens(record, counts, "promptTokens", 0)


def _first(usage: dict[str, Any], *keys: str) -> Any:
    return next((usage[key] for key in keys if usage.get(key) is not None), None)


def _set_tokens(record: Record, counts: tuple[Any, Any, Any], where: str, cached: int) -> None:
    try:
        record.input_tokens, record.output_tokens, record.total_tokens = (as_int(count) for count in counts)
    except BadRow as exc:
        raise BadRow(f"token counts in '{where}': {exc}") from None
    if any(count is not None for count in (record.input_tokens, record.output_tokens, record.total_tokens)):
        record.token_note = TOKEN_NOTE + (f" ({cached} cached input tokens)" if cached else "")


def _cached_tokens(usage: dict[str, Any]) -> int:
    """Cached input tokens, under whichever key the integration used (input_cached_tokens,
    cache_read_input_tokens, input_cache_read...)."""
    return sum(count for key, count in usage.items()
               if "cache" in key and "creation" not in key and "write" not in key
               and isinstance(count, int) and not isinstance(count, bool))


def _read_status(record: Record, value: dict[str, Any]) -> None:
    if str(value.get("level") or "").upper() == "ERROR":
        record.status = "error"
        record.error = as_str(value.get("statusMessage")) or "level ERROR (no statusMessage)"
    elif value.get("output") is not None:
        record.status = "ok"


def _params_of(parameters: Any) -> dict[str, Any] | None:
    if parameters is None:
        return None
    if not isinstance(parameters, dict):
        raise BadRow(f"field 'modelParameters' should be an object, got {type_name(parameters)}")
    return parameters or None


def _metadata_of(value: dict[str, Any], metadata: Any, start: datetime | None) -> dict[str, Any] | None:
    """The observation's metadata plus the Langfuse fields with no column of their own."""
    result = dict(metadata) if isinstance(metadata, dict) else ({} if metadata is None else {"metadata": metadata})
    for key, field_name in (("observation_name", "name"), ("version", "version"), ("environment", "environment")):
        if value.get(field_name) not in (None, ""):
            result[key] = value[field_name]
    level = str(value.get("level") or "DEFAULT").upper()
    if level not in ("DEFAULT", "ERROR"):
        result["level"] = level
        if as_str(value.get("statusMessage")):
            result["status_message"] = value["statusMessage"]
    first_token = _millis(start, _time_field(value, "completionStartTime"))
    if first_token is not None:
        result["time_to_first_token_ms"] = first_token
    return result or None


def _time_field(value: dict[str, Any], key: str) -> datetime | None:
    try:
        return parse_time(value.get(key))
    except BadRow as exc:
        raise BadRow(f"field '{key}': {exc}") from None


def _millis(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return (end - start).total_seconds() * 1000


# --- scores -----------------------------------------------------------------------------------

def score_item(value: dict[str, Any], name: str) -> FeedbackItem:
    """One Langfuse score as a FeedbackItem, read by its dataType.

    CORRECTION scores are reviewer corrections (the corrected text in `stringValue`, `value` 0):
    kind 'correction' with no score, so they are never averaged in as a judgement.
    """
    data_type = value.get("dataType")
    if data_type is not None and not isinstance(data_type, str):
        raise BadRow(f"field 'dataType' should be a string, got {type_name(data_type)}")
    data_type = (data_type or "").upper()
    source = _score_source(value.get("source"))
    comment = as_str(value.get("comment"))
    label = as_str(value.get("stringValue"))
    if data_type == "BOOLEAN":
        verdict = _boolean_of(value.get("value"), label)
        return FeedbackItem(name, verdict, 1.0 if verdict else 0.0, "boolean", source, comment)
    if data_type in ("NUMERIC", ""):
        raw = value.get("value")
        number = _number_of(raw)
        if number is None:
            if label is None or data_type:
                raise BadRow(f"score {name!r}: a {data_type or 'score'} needs a numeric 'value'")
            return feedback_from_value(name, label, source=source, comment=comment)
        return feedback_from_value(name, raw if isinstance(raw, (int, float)) else number, source=source,
                                   comment=comment)
    if data_type == "CATEGORICAL":
        category = label if label is not None else _number_of(value.get("value"))
        if category is None:
            raise BadRow(f"score {name!r}: a CATEGORICAL score needs 'stringValue' (its label)")
        judged = feedback_from_value(name, category, source=source, comment=comment)
        return FeedbackItem(name, category, judged.score, "categorical", source, comment)
    if data_type in ("TEXT", "CORRECTION"):
        if label is None:
            raise BadRow(f"score {name!r}: a {data_type} score needs its text in 'stringValue'")
        if data_type == "CORRECTION":
            return FeedbackItem(name, label, None, "correction", source, comment)
        return FeedbackItem(name, label, None, "comment", source, "\n".join(filter(None, (label, comment))))
    raise BadRow(f"field 'dataType' {data_type!r} is not one Faultline reads"
                 " (NUMERIC, CATEGORICAL, BOOLEAN, TEXT, CORRECTION)")


def _score_source(raw: Any) -> str | None:
    text = as_str(raw)
    return None if text is None else _SCORE_SOURCES.get(text.upper(), text.lower())


def _number_of(raw: Any) -> float | None:
    try:
        return as_float(raw)
    except BadRow as exc:
        raise BadRow(f"field 'value': {exc}") from None


def _boolean_of(raw: Any, label: str | None) -> bool:
    if isinstance(raw, bool):
        return raw
    number = _number_of(raw)
    if number is not None:
        return number != 0
    if label is not None and label.strip().lower() in ("true", "false"):
        return label.strip().lower() == "true"
    raise BadRow("a BOOLEAN score needs 'value' 1 or 0 (or 'stringValue' True / False)")
