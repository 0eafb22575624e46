"""OpenTelemetry GenAI spans, as OTLP/JSON exports hold them.

An item is a whole export (`{"resourceSpans": [...]}`, one per line of a collector's file
exporter), one `resourceSpans` element (the JSON container streams that list item by item), or a
bare span. Only spans that are LLM calls become records; HTTP, tool and retrieval spans are
context, read only to find the end user on an ancestor span.

The GenAI conventions have changed shape several times and real files mix them, so content is
read in every form (FORMATS.md): v1.37+ `gen_ai.input.messages` / `gen_ai.output.messages` /
`gen_ai.system_instructions` attributes; the indexed `gen_ai.prompt.N.*` / `gen_ai.completion.N.*`
attributes older instrumentations still write; v1.27 span events `gen_ai.content.prompt` /
`gen_ai.content.completion`; v1.28-1.36 events `gen_ai.{system,user,assistant,tool}.message` and
`gen_ai.choice`. Evaluations arrive as `gen_ai.evaluation.result` events.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable

from mining.ingest.record import (
    BadRow, FeedbackItem, Record, as_float, as_int, as_str, feedback_from_value, message,
    openai_message, text_of, tool_call, type_name,
)

# Operations that are not a model generating text: agent and tool spans wrap the chat spans they
# cause, so recording them too would count each call twice.
_NOT_CALLS = {"execute_tool", "embeddings", "create_agent", "invoke_agent"}
_STATUS = {0: "ok", 1: "ok", 2: "error", "STATUS_CODE_UNSET": "ok", "STATUS_CODE_OK": "ok",
           "STATUS_CODE_ERROR": "error"}
_MESSAGE_EVENTS = {"gen_ai.system.message": "system", "gen_ai.user.message": "user",
                   "gen_ai.assistant.message": "assistant", "gen_ai.tool.message": "tool"}
_INDEXED = re.compile(r"^gen_ai\.(prompt|completion)\.(\d+)\.(.+)$")
_INDEXED_TOOL_CALL = re.compile(r"^tool_calls\.(\d+)\.(.+)$")
_REQUEST_PREFIXES = ("gen_ai.request.", "gen_ai.openai.request.")
# Attributes the record's own fields hold; everything else is kept in metadata.
_READ = {
    "gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.system", "gen_ai.request.model",
    "gen_ai.response.model", "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens",
    "gen_ai.usage.prompt_tokens", "gen_ai.usage.completion_tokens", "gen_ai.usage.total_tokens",
    "gen_ai.response.finish_reasons", "gen_ai.conversation.id", "session.id", "enduser.id", "user.id",
    "gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions", "gen_ai.prompt",
    "gen_ai.completion", "gen_ai.tool.definitions", "gen_ai.output.type", "error.type",
}
# Evaluation labels the shared thumbs vocabulary does not know; the conventions' own examples.
_VERDICTS = {"pass": 1.0, "passed": 1.0, "fail": 0.0, "failed": 0.0, "relevant": 1.0, "not_relevant": 0.0}
_EVALUATION_SOURCE_KEYS = ("gen_ai.evaluation.source", "annotator_kind", "source")
_USER_KEYS = ("enduser.id", "user.id")
_SESSION_KEYS = ("gen_ai.conversation.id", "session.id")
_MAX_NANOS = 4102444800 * 10**9  # 2100-01-01, as parse_time


@dataclass
class _Event:
    name: str
    attrs: dict[str, Any]


@dataclass
class _Span:
    """One span with its attributes decoded, and the export context it came in."""

    raw: dict[str, Any]
    attrs: dict[str, Any]
    events: list[_Event]
    resource: dict[str, Any] = field(default_factory=dict)
    scope: str | None = None


@dataclass
class _Exchange:
    """What one convention says about the call's messages; empty when it says nothing."""

    inputs: list[dict[str, Any]] = field(default_factory=list)
    output: dict[str, Any] | None = None
    finish_reason: str | None = None


class OtelGenAIShape:
    name = "otel"
    label = "OpenTelemetry GenAI spans (OTLP/JSON)"

    def looks_like(self, value: Any) -> bool:
        if not isinstance(value, dict):
            return False
        return "resourceSpans" in value or "scopeSpans" in value or ("traceId" in value and "spanId" in value)

    def parse(self, value: Any) -> Iterable[Record | BadRow]:
        """The item's LLM calls; a bad span comes back as a BadRow so its neighbours still count."""
        spans = _spans_of(value)
        by_id = {span.raw["spanId"]: span for span in spans if isinstance(span, _Span)}
        results: list[Record | BadRow] = []
        for span in spans:
            if isinstance(span, BadRow):
                results.append(span)
            elif _is_llm_call(span):
                try:
                    results.append(_record(span, by_id))
                except BadRow as exc:  # an item can hold many spans: say which one is bad
                    results.append(BadRow(f"span {span.raw['spanId']}: {exc}", raw=json.dumps(span.raw, ensure_ascii=False)))
        return results


# --- reading the OTLP structure ----------------------------------------------------------------

def _spans_of(value: Any) -> list[_Span | BadRow]:
    if not isinstance(value, dict):
        raise BadRow(f"expected an OTLP/JSON object (resourceSpans, scopeSpans or a span), got {type_name(value)}")
    if "resourceSpans" in value:
        groups = _list(value["resourceSpans"], "'resourceSpans'")
        return [span for index, group in enumerate(groups) for span in _resource_spans(group, f"resourceSpans[{index}]")]
    if "scopeSpans" in value:
        return _resource_spans(value, "resourceSpans element")
    return [_span(value, {}, None, "span")]


def _resource_spans(group: Any, where: str) -> list[_Span | BadRow]:
    """The spans of one resourceSpans element; older exporters say instrumentationLibrary*."""
    if not isinstance(group, dict):
        raise BadRow(f"{where} should be an object, got {type_name(group)}")
    resource = group.get("resource") or {}
    if not isinstance(resource, dict):
        raise BadRow(f"{where}.resource should be an object, got {type_name(resource)}")
    resource_attrs = _attributes(resource.get("attributes"), f"{where}.resource.attributes")
    spans = []
    scope_groups = group.get("scopeSpans", group.get("instrumentationLibrarySpans")) or []
    for scope_index, scope_group in enumerate(_list(scope_groups, f"{where}.scopeSpans")):
        scope_where = f"{where}.scopeSpans[{scope_index}]"
        if not isinstance(scope_group, dict):
            raise BadRow(f"{scope_where} should be an object, got {type_name(scope_group)}")
        scope = scope_group.get("scope", scope_group.get("instrumentationLibrary"))
        scope_name = as_str(scope.get("name")) if isinstance(scope, dict) else None
        for index, raw in enumerate(_list(scope_group.get("spans") or [], f"{scope_where}.spans")):
            try:
                spans.append(_span(raw, resource_attrs, scope_name, f"{scope_where}.spans[{index}]"))
            except BadRow as exc:
                spans.append(BadRow(str(exc), raw=json.dumps(raw, ensure_ascii=False)))
    return spans


def _span(raw: Any, resource: dict[str, Any], scope: str | None, where: str) -> _Span:
    if not isinstance(raw, dict):
        raise BadRow(f"{where} should be a span object, got {type_name(raw)}")
    span_id = raw.get("spanId")
    if not isinstance(span_id, str) or not span_id:
        raise BadRow(f"{where} has no 'spanId'")
    where = f"span {span_id}"
    attrs = _attributes(raw.get("attributes"), f"{where}: 'attributes'")
    return _Span(raw, attrs, _events(raw.get("events"), where), resource, scope)


def _events(raw: Any, where: str) -> list[_Event]:
    events = []
    for index, event in enumerate(_list(raw or [], f"{where}: 'events'")):
        if not isinstance(event, dict):
            raise BadRow(f"{where}: events[{index}] should be an object, got {type_name(event)}")
        attrs = _attributes(event.get("attributes"), f"{where}: events[{index}].attributes")
        events.append(_Event(as_str(event.get("name")) or as_str(attrs.get("event.name")) or "", attrs))
    return events


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise BadRow(f"{where} should be a list, got {type_name(value)}")
    return value


def _attributes(raw: Any, where: str) -> dict[str, Any]:
    """OTLP's `[{key, value: AnyValue}]` list as a plain dict."""
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise BadRow(f"{where} should be a list of {{key, value}} objects, got {type_name(raw)}")
    result = {}
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict) or not isinstance(entry.get("key"), str):
            raise BadRow(f"{where}[{index}] should be a {{key, value}} object")
        result[entry["key"]] = _any_value(entry.get("value"), f"{where}, key '{entry['key']}'")
    return result


def _any_value(value: Any, where: str) -> Any:
    """One AnyValue; `intValue` is a string in OTLP/JSON (64-bit) but some encoders write a number."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadRow(f"{where}: expected an AnyValue object ({{stringValue|intValue|...}}), got {type_name(value)}")
    if "stringValue" in value:
        return as_str(value["stringValue"]) or ""
    if "intValue" in value:
        return _number(as_int, value["intValue"], f"{where} intValue")
    if "doubleValue" in value:
        return _number(as_float, value["doubleValue"], f"{where} doubleValue")
    if "boolValue" in value:
        if not isinstance(value["boolValue"], bool):
            raise BadRow(f"{where}: boolValue should be true or false, got {value['boolValue']!r}")
        return value["boolValue"]
    if "arrayValue" in value:
        array = value["arrayValue"] or {}
        values = (array.get("values") or []) if isinstance(array, dict) else array
        return [_any_value(item, f"{where}[{index}]") for index, item in enumerate(_list(values, f"{where} arrayValue.values"))]
    if "kvlistValue" in value:
        kvlist = value["kvlistValue"] or {}
        return _attributes(kvlist.get("values") if isinstance(kvlist, dict) else kvlist, f"{where} kvlistValue.values")
    return value.get("bytesValue")


def _number(convert: Callable[[Any], Any], value: Any, where: str) -> Any:
    try:
        return convert(value)
    except BadRow:
        raise BadRow(f"{where} {value!r} is not a number") from None


def _is_llm_call(span: _Span) -> bool:
    """The operation name says; instrumentations that predate it leave request or content traces."""
    operation = span.attrs.get("gen_ai.operation.name")
    if operation:
        return operation not in _NOT_CALLS
    if any(key.startswith(("gen_ai.request.", "gen_ai.prompt", "gen_ai.input.messages")) for key in span.attrs):
        return True
    return any(event.name in _MESSAGE_EVENTS or event.name in ("gen_ai.choice", "gen_ai.content.prompt")
               for event in span.events)


# --- one LLM span as a record ------------------------------------------------------------------

def _record(span: _Span, by_id: dict[str, _Span]) -> Record:
    raw, attrs = span.raw, span.attrs
    record = Record(source_format="otel", raw=json.dumps(raw, ensure_ascii=False))
    record.source_id = raw["spanId"]
    record.trace_id = as_str(raw.get("traceId"))
    record.parent_id = as_str(raw.get("parentSpanId"))
    record.session_id = as_str(_inherited(span, by_id, _SESSION_KEYS))
    record.user_id = as_str(_inherited(span, by_id, _USER_KEYS))
    start, end = _nanos(raw, "startTimeUnixNano"), _nanos(raw, "endTimeUnixNano")
    record.ts = _time(start)
    record.latency_ms = (end - start) / 1e6 if start and end and end >= start else None
    record.model = as_str(attrs.get("gen_ai.response.model")) or as_str(attrs.get("gen_ai.request.model"))
    record.input_tokens = _int(attrs, "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")
    record.output_tokens = _int(attrs, "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")
    record.total_tokens = _int(attrs, "gen_ai.usage.total_tokens")
    if record.input_tokens is not None:
        record.token_note = "otel: input_tokens include cached tokens"
    exchange = _exchange(span)
    record.input_messages = exchange.inputs
    if exchange.output is not None:
        record.response_text = exchange.output.get("content")
        record.tool_calls = exchange.output.get("tool_calls", [])
    record.finish_reason = _finish_reason(attrs, exchange)
    record.status, record.error = _status(raw, attrs)
    record.tools = _tools(attrs)
    record.request_params = _request_params(attrs)
    record.feedback = _evaluations(span.events)
    record.metadata = _metadata(span)
    return record


def _inherited(span: _Span, by_id: dict[str, _Span], keys: tuple[str, ...]) -> Any:
    """The first of `keys` on the span, its ancestors in this item, then the resource.

    The end user is usually set once on the HTTP server span, not on the LLM span it causes.
    """
    seen: set[str] = set()
    current: _Span | None = span
    while current is not None and current.raw["spanId"] not in seen:
        seen.add(current.raw["spanId"])
        for key in keys:
            if current.attrs.get(key) not in (None, ""):
                return current.attrs[key]
        current = by_id.get(current.raw.get("parentSpanId") or "")
    return next((span.resource[key] for key in keys if span.resource.get(key) not in (None, "")), None)


def _nanos(raw: dict[str, Any], key: str) -> int | None:
    value = raw.get(key)
    if value in (None, "", 0, "0"):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.isdigit())):
        raise BadRow(f"'{key}' should be nanoseconds since 1970 (a string of digits), got {value!r}")
    if int(value) >= _MAX_NANOS:
        raise BadRow(f"'{key}' {value!r} is out of range (after the year 2100)")
    return int(value)


def _time(nanos: int | None) -> datetime | None:
    """Exact to the microsecond; going through a float would lose the last digits."""
    if nanos is None:
        return None
    seconds, rest = divmod(nanos, 10**9)
    return datetime.fromtimestamp(seconds, tz=timezone.utc) + timedelta(microseconds=rest // 1000)


def _int(attrs: dict[str, Any], *keys: str) -> int | None:
    for key in keys:
        if attrs.get(key) is not None:
            return _number(as_int, attrs[key], f"attribute '{key}'")
    return None


def _status(raw: dict[str, Any], attrs: dict[str, Any]) -> tuple[str, str | None]:
    status = raw.get("status") or {}
    if not isinstance(status, dict):
        raise BadRow(f"'status' should be an object, got {type_name(status)}")
    code = status.get("code", 0)
    if code not in _STATUS:
        raise BadRow(f"'status.code' should be 0 (unset), 1 (ok) or 2 (error), got {code!r}")
    error_type = as_str(attrs.get("error.type"))
    if _STATUS[code] == "error" or error_type:
        return "error", as_str(status.get("message")) or error_type
    return "ok", None


def _finish_reason(attrs: dict[str, Any], exchange: _Exchange) -> str | None:
    """The first choice's reason; OTel says `tool_call` where the other shapes say `tool_calls`."""
    reasons = attrs.get("gen_ai.response.finish_reasons")
    reason = reasons[0] if isinstance(reasons, list) and reasons else reasons if isinstance(reasons, str) else None
    reason = as_str(reason) or exchange.finish_reason
    return "tool_calls" if reason == "tool_call" else reason


def _tools(attrs: dict[str, Any]) -> list[Any] | None:
    tools = _json_attr(attrs, "gen_ai.tool.definitions")
    if tools is None:
        return None
    return _list(tools, "attribute 'gen_ai.tool.definitions'") or None


def _request_params(attrs: dict[str, Any]) -> dict[str, Any] | None:
    """Sampling settings and response-format hints, named as the request named them."""
    params = {}
    for key, value in attrs.items():
        prefix = next((prefix for prefix in _REQUEST_PREFIXES if key.startswith(prefix)), None)
        if prefix and key != "gen_ai.request.model":
            params[key[len(prefix):]] = value
    if attrs.get("gen_ai.output.type") is not None:
        params["output_type"] = attrs["gen_ai.output.type"]
    return params or None


def _metadata(span: _Span) -> dict[str, Any] | None:
    attrs = span.attrs
    leftover = {key: value for key, value in attrs.items()
                if key not in _READ and not key.startswith(_REQUEST_PREFIXES) and not _INDEXED.match(key)}
    found = {
        "provider": attrs.get("gen_ai.provider.name") or attrs.get("gen_ai.system"),
        "operation": attrs.get("gen_ai.operation.name"), "span_name": span.raw.get("name"),
        "scope": span.scope, "resource": span.resource, **leftover,
    }
    return {key: value for key, value in found.items() if value not in (None, "", {})} or None


# --- messages, in each convention --------------------------------------------------------------

def _exchange(span: _Span) -> _Exchange:
    """Inputs and output from the newest convention that has them; spans can mix conventions."""
    readings = [_current(span.attrs), _indexed(span.attrs), _content_events(span), _message_events(span.events)]
    inputs = next((reading.inputs for reading in readings if reading.inputs), [])
    answered = next((reading for reading in readings if reading.output is not None), _Exchange())
    return _Exchange(inputs, answered.output, answered.finish_reason)


def _json_attr(attrs: dict[str, Any], key: str) -> Any:
    """An attribute holding JSON text; exporters that keep structure send it decoded already."""
    return _decoded(attrs.get(key), f"attribute '{key}'")


def _decoded(value: Any, where: str) -> Any:
    if not isinstance(value, str):
        return value
    if not value.strip():
        return None
    try:
        return json.loads(value)
    except ValueError as exc:
        raise BadRow(f"{where} is not valid JSON ({exc})") from None


def _current(attrs: dict[str, Any]) -> _Exchange:
    """v1.37+: `gen_ai.system_instructions`, `gen_ai.input.messages`, `gen_ai.output.messages`."""
    inputs: list[dict[str, Any]] = []
    system = _json_attr(attrs, "gen_ai.system_instructions")
    if system is not None:
        inputs += _system_instructions(system)
    messages = _json_attr(attrs, "gen_ai.input.messages")
    if messages is not None:
        inputs += [_parts_message(item, f"gen_ai.input.messages[{index}]")[0]
                   for index, item in enumerate(_list(messages, "attribute 'gen_ai.input.messages'"))]
    outputs = _json_attr(attrs, "gen_ai.output.messages")
    if not outputs:
        return _Exchange(inputs)
    output, finish_reason = _parts_message(_list(outputs, "attribute 'gen_ai.output.messages'")[0],
                                           "gen_ai.output.messages[0]")
    return _Exchange(inputs, output, finish_reason)


def _system_instructions(value: Any) -> list[dict[str, Any]]:
    """The spec writes a list of parts; some instrumentations write messages, or plain text."""
    if isinstance(value, str):
        return [message("system", value)]
    items = _list(value, "attribute 'gen_ai.system_instructions'")
    if any(isinstance(item, dict) and "parts" in item for item in items):
        return [_parts_message(item, f"gen_ai.system_instructions[{index}]")[0] for index, item in enumerate(items)]
    return [_parts_message({"role": "system", "parts": items}, "gen_ai.system_instructions")[0]]


def _parts_message(raw: Any, where: str) -> tuple[dict[str, Any], str | None]:
    """A `{role, parts, finish_reason?}` message; reasoning and media parts are not kept as text."""
    if not isinstance(raw, dict):
        raise BadRow(f"{where} should be a message object, got {type_name(raw)}")
    role = raw.get("role")
    if not isinstance(role, str) or not role:
        raise BadRow(f"{where} has no 'role'")
    texts, calls, call_id = [], [], None
    for index, part in enumerate(_list(raw.get("parts") or [], f"{where}.parts")):
        if not isinstance(part, dict):
            raise BadRow(f"{where}.parts[{index}] should be an object, got {type_name(part)}")
        kind = part.get("type")
        if kind == "text":
            texts.append(text_of(part.get("content")) or "")
        elif kind == "tool_call":
            calls.append(tool_call(part.get("id"), part.get("name"), part.get("arguments")))
        elif kind == "tool_call_response":
            call_id = as_str(part.get("id"))
            texts.append(_as_text(part.get("response", part.get("result"))) or "")
    content = "\n".join(texts) if texts else None
    return (message(role, content, tool_calls=calls, tool_call_id=call_id, name=as_str(raw.get("name"))),
            as_str(raw.get("finish_reason")))


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _indexed(attrs: dict[str, Any]) -> _Exchange:
    """`gen_ai.prompt.N.role` / `.content` / `.tool_calls.M.*` and `gen_ai.completion.N.*`."""
    groups: dict[str, dict[int, dict[str, Any]]] = {"prompt": {}, "completion": {}}
    for key, value in attrs.items():
        match = _INDEXED.match(key)
        if match:
            groups[match[1]].setdefault(int(match[2]), {})[match[3]] = value
    inputs = [_indexed_message(fields, f"gen_ai.prompt.{index}", None)
              for index, fields in sorted(groups["prompt"].items())]
    if not groups["completion"]:
        return _Exchange(inputs)
    index, fields = min(groups["completion"].items())
    output = _indexed_message(fields, f"gen_ai.completion.{index}", "assistant")
    return _Exchange(inputs, output, as_str(fields.get("finish_reason")))


def _indexed_message(fields: dict[str, Any], where: str, default_role: str | None) -> dict[str, Any]:
    role = fields.get("role") or default_role
    if not isinstance(role, str):
        raise BadRow(f"attribute '{where}.role' is missing")
    calls: dict[int, dict[str, Any]] = {}
    for key, value in fields.items():
        match = _INDEXED_TOOL_CALL.match(key)
        if match:
            calls.setdefault(int(match[1]), {})[match[2]] = value
    tool_calls = [tool_call(call.get("id"), call.get("name", call.get("function.name")),
                            call.get("arguments", call.get("function.arguments")))
                  for _, call in sorted(calls.items())]
    return message(role, _indexed_content(fields.get("content")), tool_calls=tool_calls,
                   tool_call_id=as_str(fields.get("tool_call_id")), name=as_str(fields.get("name")))


def _indexed_content(value: Any) -> Any:
    """OpenLLMetry writes list content (text parts) as JSON text; other strings stay as they are."""
    if not (isinstance(value, str) and value.startswith("[{")):
        return value
    try:
        parts = json.loads(value)
    except ValueError:
        return value
    if isinstance(parts, list) and all(isinstance(part, dict) and "type" in part for part in parts):
        return text_of(parts)
    return value


def _content_events(span: _Span) -> _Exchange:
    """v1.27: `gen_ai.prompt` / `gen_ai.completion` JSON on `gen_ai.content.*` events (or the span)."""
    prompt = _event_attr(span, "gen_ai.content.prompt", "gen_ai.prompt")
    completion = _event_attr(span, "gen_ai.content.completion", "gen_ai.completion")
    inputs = [openai_message(item, f"gen_ai.prompt[{index}]")
              for index, item in enumerate(_list(prompt, "'gen_ai.prompt'"))] if prompt is not None else []
    if not completion:
        return _Exchange(inputs)
    first = _list(completion, "'gen_ai.completion'")[0]
    finish_reason = None
    if isinstance(first, dict) and isinstance(first.get("message"), dict):  # a list of choices
        finish_reason, first = as_str(first.get("finish_reason")), first["message"]
    if not isinstance(first, dict):
        raise BadRow(f"gen_ai.completion[0] should be a message object, got {type_name(first)}")
    output = openai_message({"role": "assistant", **first}, "gen_ai.completion[0]")
    return _Exchange(inputs, output, finish_reason or as_str(first.get("finish_reason")))


def _event_attr(span: _Span, event_name: str, key: str) -> Any:
    for event in span.events:
        if event.name == event_name and key in event.attrs:
            return _json_attr(event.attrs, key)
    return _json_attr(span.attrs, key)


def _message_events(events: list[_Event]) -> _Exchange:
    """v1.28-1.36: one event per input message, one `gen_ai.choice` per output choice."""
    inputs, choices = [], []
    for index, event in enumerate(events):
        where = f"event {event.name} (events[{index}])"
        if event.name in _MESSAGE_EVENTS:
            inputs.append(_body_message(_event_body(event, where), _MESSAGE_EVENTS[event.name], where))
        elif event.name == "gen_ai.choice":
            choices.append((_event_body(event, where), where))
    if not choices:
        return _Exchange(inputs)
    body, where = next(((body, where) for body, where in choices if body.get("index") in (None, 0, "0")), choices[0])
    reply = _decoded(body.get("message"), f"{where} 'message'")
    reply = reply if isinstance(reply, dict) else body
    return _Exchange(inputs, _body_message(reply, "assistant", where), as_str(body.get("finish_reason")))


def _event_body(event: _Event, where: str) -> dict[str, Any]:
    """An event's fields: a `body` (JSON text or a kvlist) over its other attributes."""
    fields = {key: value for key, value in event.attrs.items() if key != "body"}
    body = _decoded(event.attrs.get("body"), f"{where} 'body'")
    if body is None:
        return fields
    if not isinstance(body, dict):
        raise BadRow(f"{where}: 'body' should be an object, got {type_name(body)}")
    return {**fields, **body}


def _body_message(body: dict[str, Any], default_role: str, where: str) -> dict[str, Any]:
    role = as_str(body.get("role")) or default_role
    calls = _decoded(body.get("tool_calls"), f"{where} 'tool_calls'") or []
    tool_calls = []
    for index, call in enumerate(_list(calls, f"{where} 'tool_calls'")):
        if not isinstance(call, dict):
            raise BadRow(f"{where} tool_calls[{index}] should be an object, got {type_name(call)}")
        function = call.get("function") if isinstance(call.get("function"), dict) else call
        tool_calls.append(tool_call(call.get("id"), function.get("name"), function.get("arguments")))
    return message(role, body.get("content"), tool_calls=tool_calls,
                   tool_call_id=as_str(body.get("id")) if role == "tool" else None)


# --- evaluations -------------------------------------------------------------------------------

def _evaluations(events: list[_Event]) -> list[FeedbackItem]:
    """`gen_ai.evaluation.result` events; automated evaluators unless the event says a person."""
    items = []
    for event in events:
        if event.name != "gen_ai.evaluation.result":
            continue
        attrs = event.attrs
        name = as_str(attrs.get("gen_ai.evaluation.name")) or "evaluation"
        score, label = attrs.get("gen_ai.evaluation.score.value"), as_str(attrs.get("gen_ai.evaluation.score.label"))
        explanation = as_str(attrs.get("gen_ai.evaluation.explanation"))
        source = (next((as_str(attrs[key]) for key in _EVALUATION_SOURCE_KEYS if attrs.get(key)), None) or "eval").lower()
        if score is None and label is None:
            if explanation:
                items.append(FeedbackItem(name, explanation, None, "comment", source, explanation))
            continue
        item = feedback_from_value(name, score if score is not None else label, source=source, comment=explanation)
        if item.score is None and score is None and label.lower() in _VERDICTS:
            item.score, item.kind = _VERDICTS[label.lower()], "boolean"
        items.append(item)
    return items
