"""Arize Phoenix / OpenInference spans, one span per item.

Phoenix's spans dataframe is exported to JSONL, CSV or Parquet with columns `name`, `span_kind`,
`parent_id`, `start_time`, `end_time`, `status_code`, `status_message`, `context.span_id`,
`context.trace_id` and `attributes.*` (FORMATS.md). The same attributes also arrive as raw OTel
keys (`llm.input_messages.0.message.role`, with or without the `attributes.` prefix) and nested
objects (`{"context": {"span_id": ...}}`); every form is flattened to dotted keys and its indexed
keys folded back into lists, so one reader serves all of them. CSV cells hold lists and objects as
JSON text (and pandas' `to_csv` writes Python reprs), so such cells are decoded on read.
Only `LLM` spans are records; annotations (HUMAN / LLM / CODE) are their feedback.
"""

from __future__ import annotations

import ast
import json
import math
import re
from datetime import timedelta
from typing import Any, Iterable

from mining.ingest.record import (
    BadRow, FeedbackItem, Record, as_float, as_int, as_str, feedback_from_value, message,
    openai_message, parse_time, text_of, tool_call, type_name,
)

# First segments of OpenInference attribute keys, for exports that drop the `attributes.` prefix.
_ATTRIBUTE_ROOTS = {"llm", "input", "output", "session", "user", "metadata", "tag", "openinference",
                    "embedding", "retrieval", "reranker", "tool", "tool_call", "exception", "document"}
_KIND_KEYS = ("span_kind", "attributes.openinference.span.kind", "openinference.span.kind")
_SPAN_ID_KEYS = ("context.span_id", "span_id")
# Fields whose value is one whole object or list, never to be spread into dotted keys.
_WHOLE_VALUES = ("llm.input_messages", "llm.output_messages", "llm.invocation_parameters", "llm.tools",
                 "metadata", "annotations")
_INDEXED = re.compile(r"^(.+?)\.(\d+)(?:\.(.+))?$")
_ANNOTATION_PREFIXES = ("annotation.", "result.")
_SOURCES = {"HUMAN": "human", "LLM": "eval", "CODE": "eval"}
_STATUS = {"OK": "ok", "UNSET": "ok", "": "ok", "ERROR": "error"}
# Attributes the record's own fields hold; the rest goes to metadata.
_READ = {
    "openinference.span.kind", "llm.model_name", "llm.provider", "llm.system", "llm.invocation_parameters",
    "llm.token_count.prompt", "llm.token_count.completion", "llm.token_count.total", "session.id", "user.id",
    "llm.input_messages", "llm.output_messages", "input.value", "input.mime_type", "output.value",
    "output.mime_type", "llm.tools", "metadata",
}


class PhoenixSpanShape:
    name = "phoenix"
    label = "Arize Phoenix / OpenInference spans"

    def looks_like(self, value: Any) -> bool:
        if not isinstance(value, dict):
            return False
        flat = _flatten(value)
        return _first(flat, _KIND_KEYS) is not None and _first(flat, _SPAN_ID_KEYS) is not None

    def parse(self, value: Any) -> Iterable[Record]:
        if not isinstance(value, dict):
            raise BadRow(f"expected a span object, got {type_name(value)}")
        columns, attrs = _split(_flatten(value))
        kind = as_str(columns.get("span_kind") or attrs.get("openinference.span.kind"))
        if kind is None:
            raise BadRow("missing 'span_kind' (LLM, CHAIN, TOOL...)")
        if kind.upper() != "LLM":
            return []
        return [_record(columns, attrs)]


# --- one row as dotted keys --------------------------------------------------------------------

def _flatten(value: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects as dotted keys: `{"context": {"span_id": x}}` -> `{"context.span_id": x}`."""
    flat: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, dict) and item and not name.endswith(_WHOLE_VALUES):
            flat.update(_flatten(item, f"{name}."))
        else:
            flat[name] = item
    return flat


def _unflatten(flat: dict[str, Any]) -> dict[str, Any]:
    """Raw OTel's indexed keys (`llm.input_messages.0.message.role`) as the dataframe's lists."""
    result: dict[str, Any] = {}
    lists: dict[str, dict[int, Any]] = {}
    for key, value in flat.items():
        match = _INDEXED.match(key)
        if match is None:
            result[key] = value
        elif match[3] is None:  # a list of scalars, e.g. tag.tags.0
            lists.setdefault(match[1], {})[int(match[2])] = value
        else:
            item = lists.setdefault(match[1], {}).setdefault(int(match[2]), {})
            if isinstance(item, dict):
                item[match[3]] = value
    for key, items in lists.items():
        result[key] = [_unflatten(items[index]) if isinstance(items[index], dict) else items[index]
                       for index in sorted(items)]
    return result


def _split(flat: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The span's own columns, and its OpenInference attributes without the `attributes.` prefix."""
    columns, attrs = {}, {}
    for key, value in flat.items():
        if key.startswith("attributes."):
            attrs[key[len("attributes."):]] = value
        elif key.split(".", 1)[0] in _ATTRIBUTE_ROOTS:
            attrs[key] = value
        else:
            columns[key] = value
    return _unflatten(columns), _unflatten(attrs)


def _first(values: dict[str, Any], keys: tuple[str, ...]) -> Any:
    return next((values[key] for key in keys if values.get(key) not in (None, "")), None)


def _decoded(value: Any, field: str) -> Any:
    """A cell as its value: CSV holds lists and objects as JSON text (pandas: as a Python repr)."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        raise BadRow(f"'{field}' is not valid JSON: {text[:80]!r}") from None


def _list_cell(value: Any, field: str) -> list[Any]:
    decoded = _decoded(value, field)
    if decoded is None:
        return []
    if not isinstance(decoded, list):
        raise BadRow(f"'{field}' should be a list, got {type_name(decoded)}")
    return decoded


# --- the record --------------------------------------------------------------------------------

def _record(columns: dict[str, Any], attrs: dict[str, Any]) -> Record:
    record = Record(source_format="phoenix", raw="")
    record.source_id = as_str(_first(columns, _SPAN_ID_KEYS))
    record.trace_id = as_str(_first(columns, ("context.trace_id", "trace_id")))
    record.parent_id = as_str(columns.get("parent_id"))
    record.session_id = as_str(attrs.get("session.id"))
    record.user_id = as_str(attrs.get("user.id"))
    record.ts = _time(columns, "start_time")
    end = _time(columns, "end_time")
    if record.ts and end and end >= record.ts:
        record.latency_ms = (end - record.ts) / timedelta(milliseconds=1)
    record.model = as_str(attrs.get("llm.model_name"))
    record.input_tokens = _int(attrs, "llm.token_count.prompt")
    record.output_tokens = _int(attrs, "llm.token_count.completion")
    record.total_tokens = _int(attrs, "llm.token_count.total")
    if record.input_tokens is not None:
        record.token_note = "phoenix: prompt tokens as the provider reported them (OpenAI's include cached tokens)"
    record.input_messages = _inputs(attrs)
    output = _output_json(attrs)
    reply = _reply(attrs, output)
    if reply is not None:
        record.response_text = reply.get("content")
        record.tool_calls = reply.get("tool_calls", [])
    record.finish_reason = _finish_reason(output)
    record.status, record.error = _status(columns)
    record.request_params = _params(attrs)
    record.tools = _tools(attrs)
    record.feedback = _feedback(columns)
    record.metadata = _metadata(columns, attrs)
    return record


def _time(columns: dict[str, Any], key: str) -> Any:
    try:
        return parse_time(columns.get(key))
    except BadRow as exc:
        raise BadRow(f"'{key}': {exc}") from None


def _int(attrs: dict[str, Any], key: str) -> int | None:
    try:
        return as_int(attrs.get(key))
    except BadRow:
        raise BadRow(f"'attributes.{key}' should be a number, got {attrs.get(key)!r}") from None


def _status(columns: dict[str, Any]) -> tuple[str, str | None]:
    code = (as_str(columns.get("status_code")) or "").upper().removeprefix("STATUSCODE.")
    if code not in _STATUS:
        raise BadRow(f"'status_code' should be OK, ERROR or UNSET, got {columns.get('status_code')!r}")
    if _STATUS[code] == "error":
        return "error", as_str(columns.get("status_message")) or "error"
    return "ok", None


def _params(attrs: dict[str, Any]) -> dict[str, Any] | None:
    params = _decoded(attrs.get("llm.invocation_parameters"), "attributes.llm.invocation_parameters")
    if params is not None and not isinstance(params, dict):
        raise BadRow(f"'attributes.llm.invocation_parameters' should be an object, got {type_name(params)}")
    return params or None


def _tools(attrs: dict[str, Any]) -> list[Any] | None:
    """`llm.tools` items hold each tool's JSON schema as text under `tool.json_schema`."""
    tools = []
    for index, item in enumerate(_list_cell(attrs.get("llm.tools"), "attributes.llm.tools")):
        schema = _flatten(item).get("tool.json_schema", item) if isinstance(item, dict) else item
        tools.append(_decoded(schema, f"attributes.llm.tools[{index}].tool.json_schema"))
    return tools or None


def _metadata(columns: dict[str, Any], attrs: dict[str, Any]) -> dict[str, Any] | None:
    own = attrs.get("metadata")
    own = (_json_or_none(own) or own) if isinstance(own, str) else own  # JSON text per OpenInference
    leftover = {key: value for key, value in attrs.items() if key not in _READ and value not in (None, "")}
    found = {"provider": attrs.get("llm.provider") or attrs.get("llm.system"), "span_name": columns.get("name"),
             **(own if isinstance(own, dict) else {"metadata": own}), **leftover}
    return {key: value for key, value in found.items() if value not in (None, "")} or None


# --- messages ----------------------------------------------------------------------------------

def _inputs(attrs: dict[str, Any]) -> list[dict[str, Any]]:
    """`llm.input_messages`, else the request body or text in `input.value`."""
    raw = _list_cell(attrs.get("llm.input_messages"), "attributes.llm.input_messages")
    if raw:
        return [_message(item, f"attributes.llm.input_messages[{index}]") for index, item in enumerate(raw)]
    text = as_str(attrs.get("input.value"))
    if text is None:
        return []
    request = _json_or_none(text)
    if isinstance(request, dict) and isinstance(request.get("messages"), list):
        try:
            return [openai_message(item, "input.value") for item in request["messages"]]
        except BadRow:  # input.value is free-form: messages in another vocabulary stay text
            pass
    return [message("user", text)]


def _reply(attrs: dict[str, Any], output: dict[str, Any] | None) -> dict[str, Any] | None:
    """The first output message, else the ChatCompletion or text in `output.value`."""
    raw = _list_cell(attrs.get("llm.output_messages"), "attributes.llm.output_messages")
    if raw:
        return _message(raw[0], "attributes.llm.output_messages[0]")
    choice = _first_choice(output)
    if choice is not None and isinstance(choice.get("message"), dict):
        return openai_message({"role": "assistant", **choice["message"]}, "output.value choices[0].message")
    text = as_str(attrs.get("output.value"))
    return message("assistant", text) if text is not None else None


def _output_json(attrs: dict[str, Any]) -> dict[str, Any] | None:
    """`output.value` when it is a JSON object (instrumentors log the provider's whole response)."""
    value = attrs.get("output.value")
    if isinstance(value, dict):
        return value
    parsed = _json_or_none(value) if isinstance(value, str) and value.lstrip().startswith("{") else None
    return parsed if isinstance(parsed, dict) else None


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _first_choice(output: dict[str, Any] | None) -> dict[str, Any] | None:
    choices = output.get("choices") if output else None
    return choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else None


def _finish_reason(output: dict[str, Any] | None) -> str | None:
    """OpenInference has no finish-reason attribute; the logged response body has it."""
    choice = _first_choice(output)
    return as_str(choice.get("finish_reason")) if choice else None


def _message(raw: Any, where: str) -> dict[str, Any]:
    """A `{message.role, message.content, message.tool_calls?}` item as a canonical message."""
    if not isinstance(raw, dict):
        raise BadRow(f"{where} should be a message object, got {type_name(raw)}")
    fields = _unflatten(_flatten(raw))
    role = fields.get("message.role")
    if not isinstance(role, str) or not role:
        raise BadRow(f"{where} has no 'message.role'")
    content = fields.get("message.content")
    if content in (None, "") and fields.get("message.contents"):
        content = _contents_text(fields["message.contents"], f"{where}.message.contents")
    calls = [_tool_call(call, f"{where}.message.tool_calls[{index}]")
             for index, call in enumerate(_list_cell(fields.get("message.tool_calls"), f"{where}.message.tool_calls"))]
    return message(role, content, tool_calls=calls, tool_call_id=as_str(fields.get("message.tool_call_id")),
                   name=as_str(fields.get("message.name")))


def _contents_text(raw: Any, where: str) -> str | None:
    """Multimodal `message.contents`: the text items, joined."""
    parts = []
    for item in _list_cell(raw, where):
        fields = _flatten(item) if isinstance(item, dict) else {}
        if fields.get("message_content.type", "text") == "text" and isinstance(fields.get("message_content.text"), str):
            parts.append(fields["message_content.text"])
    return text_of(parts)


def _tool_call(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise BadRow(f"{where} should be an object, got {type_name(raw)}")
    fields = _flatten(raw)
    return tool_call(fields.get("tool_call.id"), fields.get("tool_call.function.name"),
                     fields.get("tool_call.function.arguments"))


# --- annotations -------------------------------------------------------------------------------

def _feedback(columns: dict[str, Any]) -> list[FeedbackItem]:
    """The `annotations` column, or flattened `annotations.N.annotation.*` keys."""
    items = []
    for index, raw in enumerate(_list_cell(columns.get("annotations"), "annotations")):
        if not isinstance(raw, dict):
            raise BadRow(f"annotations[{index}] should be an object, got {type_name(raw)}")
        item = _annotation({_unprefixed(key): value for key, value in _flatten(raw).items()}, f"annotations[{index}]")
        if item is not None:
            items.append(item)
    return items


def _unprefixed(key: str) -> str:
    return next((key[len(prefix):] for prefix in _ANNOTATION_PREFIXES if key.startswith(prefix)), key)


def _annotation(fields: dict[str, Any], where: str) -> FeedbackItem | None:
    """People's annotations (HUMAN) are `human` feedback; LLM and CODE annotators are evals."""
    name = as_str(fields.get("name")) or "annotation"
    kind = (as_str(fields.get("annotator_kind")) or "").upper()
    source = _SOURCES.get(kind, kind.lower() or None)
    explanation = as_str(fields.get("explanation"))
    score = fields.get("score")
    if isinstance(score, float) and math.isnan(score):  # dataframes say NaN for "no score"
        score = None
    if isinstance(score, str):
        try:
            score = as_float(score)
        except BadRow:
            raise BadRow(f"{where}: 'score' should be a number, got {score!r}") from None
    value = score if score is not None else as_str(fields.get("label"))
    if value is None:
        return FeedbackItem(name, explanation, None, "comment", source, explanation) if explanation else None
    return feedback_from_value(name, value, source=source, comment=explanation)
