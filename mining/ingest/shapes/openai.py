"""OpenAI chat-completions calls, as applications log them.

There is no single standard, so this takes the common forms (FORMATS.md):
`{"request": {...}, "response": <ChatCompletion>}`; the request's fields at the top level with the
response under `response` / `completion` / `output`, or `choices` at the top level; a response given
as a plain string; and the Responses API (`input` / `output[]` items). The application's own fields
(`id`, `timestamp`, `user`, `metadata`, `latency_ms`, `error`, `feedback`, `rating`...) are read too.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from mining.ingest.record import (
    BadRow, FeedbackItem, Record, as_float, as_int, as_str, feedback_from_value, message,
    openai_message, parse_time, text_of, tool_call, type_name,
)

_RESPONSE_KEYS = ("response", "completion", "output")


class OpenAIChatShape:
    name = "openai"
    label = "OpenAI chat completions (request + response)"

    def looks_like(self, value: Any) -> bool:
        if not isinstance(value, dict):
            return False
        request = value.get("request")
        if isinstance(request, dict) and ("messages" in request or "input" in request or _failed(value)):
            return True
        return "messages" in value and (any(key in value for key in _RESPONSE_KEYS) or "choices" in value)

    def parse(self, value: Any) -> Iterable[Record]:
        if not isinstance(value, dict):
            raise BadRow(f"expected a JSON object for one call, got {type_name(value)}")
        request = value.get("request") if isinstance(value.get("request"), dict) else value
        response = _response_of(value)
        if "messages" in request:
            messages = _input_messages(request["messages"], None, allow_text=False)
        elif "input" in request:  # Responses API: a string or a list of input items
            messages = _input_messages(request["input"], request.get("instructions"), allow_text=True)
        elif _failed(value):
            messages = []  # a call that failed before it was sent whole (a timeout): logged without them
        else:
            raise BadRow("missing required field 'messages' (the request's input messages)")
        record = Record(source_format=self.name, raw="", input_messages=messages)
        _read_response(record, response)
        record.source_id = as_str(value.get("id")) or as_str(value.get("request_id")) or (
            as_str(response.get("id")) if isinstance(response, dict) else None)
        record.model = as_str(request.get("model")) or record.model
        record.ts = _time_of(value, response)
        record.tools = request.get("tools") or None
        params = {key: item for key, item in request.items()
                  if key not in ("messages", "input", "tools", "model", "instructions")}
        record.request_params = params or None
        metadata = value.get("metadata") if isinstance(value.get("metadata"), dict) else {}
        record.user_id = as_str(value.get("user") or value.get("user_id") or metadata.get("user_id") or request.get("user"))
        record.session_id = as_str(value.get("session_id") or metadata.get("session_id") or metadata.get("conversation_id"))
        record.trace_id = as_str(value.get("trace_id") or metadata.get("trace_id"))
        record.latency_ms = _latency_of(value)
        error = value.get("error")
        if error:
            record.error = error if isinstance(error, str) else json.dumps(error, ensure_ascii=False)
            record.status = "error"
        elif response is not None:
            record.status = "ok"
        record.expected_output = text_of(value.get("expected_output") or value.get("expected") or value.get("reference"))
        record.feedback = _feedback_of(value, metadata)
        extra = {key: item for key, item in value.items()
                 if key not in ("request", "response", "completion", "output", "choices", "messages", "id",
                                "timestamp", "created", "user", "metadata", "latency_ms", "error", "feedback",
                                "rating", "score", "model", "tools", "expected_output")
                 and key not in request}
        record.metadata = {**metadata, **extra} or None
        return [record]


def _failed(value: dict[str, Any]) -> bool:
    """Whether the line logs a failed call: an error, with no response to read.

    Why its own rule: an application that logs a timed-out or refused call often keeps only the
    request's model and the error. It is a real call, and a failure Faultline should count, not a
    malformed line.
    """
    called = isinstance(value.get("request"), dict) or "model" in value  # not any line with an "error"
    return called and value.get("error") not in (None, "", {}, []) and _response_of(value) is None


def _response_of(value: dict[str, Any]) -> Any:
    for key in _RESPONSE_KEYS:
        if key in value:
            return value[key]
    if "choices" in value:
        return {"choices": value["choices"], "usage": value.get("usage"), "model": value.get("model"),
                "created": value.get("created")}
    return None


def _input_messages(raw: Any, instructions: Any, allow_text: bool) -> list[dict[str, Any]]:
    if isinstance(raw, str) and allow_text:
        messages = [message("user", raw)]
    elif isinstance(raw, list):
        messages = [_input_item(item, index) for index, item in enumerate(raw)]
    else:
        raise BadRow(f"field 'messages' should be a list of messages, got {type_name(raw)}")
    if isinstance(instructions, str) and instructions:
        messages.insert(0, message("system", instructions))
    return messages


def _input_item(item: Any, index: int) -> dict[str, Any]:
    if isinstance(item, dict) and item.get("type") == "function_call_output":
        return message("tool", item.get("output"), tool_call_id=item.get("call_id"))
    if isinstance(item, dict) and item.get("type") == "function_call":
        return message("assistant", None, tool_calls=[tool_call(item.get("call_id"), item.get("name"), item.get("arguments"))])
    return openai_message(item, f"messages[{index}]")


def _read_response(record: Record, response: Any) -> None:
    """Fill the response text, tool calls, finish reason, usage and model from any response form."""
    if response is None:
        return
    if isinstance(response, str):
        record.response_text = response
        return
    if not isinstance(response, dict):
        raise BadRow(f"the response should be an object or a string, got {type_name(response)}")
    record.model = as_str(response.get("model"))
    usage = response.get("usage") if isinstance(response.get("usage"), dict) else {}
    record.input_tokens = as_int(usage.get("prompt_tokens", usage.get("input_tokens")))
    record.output_tokens = as_int(usage.get("completion_tokens", usage.get("output_tokens")))
    record.total_tokens = as_int(usage.get("total_tokens"))
    if "choices" in response:
        choices = response["choices"]
        if not isinstance(choices, list):
            raise BadRow(f"response 'choices' should be a list, got {type_name(choices)}")
        if not choices:
            raise BadRow("the response has no choices (empty 'choices' list)")
        choice = choices[0]
        if not isinstance(choice, dict):
            raise BadRow(f"response choices[0] should be an object, got {type_name(choice)}")
        reply = openai_message(choice.get("message") or {"role": "assistant", "content": choice.get("text")}, "choices[0].message")
        record.response_text = reply.get("content")
        record.tool_calls = reply.get("tool_calls", [])
        record.finish_reason = as_str(choice.get("finish_reason"))
    elif isinstance(response.get("output"), list):  # Responses API
        texts, calls = [], []
        for item in response["output"]:
            if not isinstance(item, dict):
                continue
            if item.get("type") == "message":
                texts.append(text_of(item.get("content")) or "")
            elif item.get("type") == "function_call":
                calls.append(tool_call(item.get("call_id"), item.get("name"), item.get("arguments")))
        record.response_text = "\n".join(texts) if texts else None
        record.tool_calls = calls
        record.finish_reason = as_str(response.get("status"))
    elif "content" in response or "role" in response:  # a bare assistant message
        reply = openai_message({"role": "assistant", **response}, "response")
        record.response_text = reply.get("content")
        record.tool_calls = reply.get("tool_calls", [])
    else:
        raise BadRow("the response has neither 'choices', 'output' nor 'content'")


def _time_of(value: dict[str, Any], response: Any) -> Any:
    for key in ("timestamp", "time", "created_at", "start_time", "ts"):
        if value.get(key) not in (None, ""):
            return parse_time(value[key])
    if isinstance(response, dict) and response.get("created"):
        return parse_time(response["created"])
    if value.get("created"):
        return parse_time(value["created"])
    return None


def _latency_of(value: dict[str, Any]) -> float | None:
    if value.get("latency_ms") is not None:
        return as_float(value["latency_ms"])
    for key in ("latency_s", "latency", "duration"):
        if value.get(key) is not None:
            return as_float(value[key]) * 1000
    return None


def _feedback_of(value: dict[str, Any], metadata: dict[str, Any]) -> list[FeedbackItem]:
    items: list[FeedbackItem] = []
    feedback = value.get("feedback")
    if isinstance(feedback, dict):
        comment = as_str(feedback.get("comment") or feedback.get("text"))
        for key, item in feedback.items():
            if key in ("comment", "text"):
                continue
            scale = "thumbs" if key in ("thumbs", "thumb", "vote") else "rating" if key in ("rating", "stars") else None
            items.append(feedback_from_value(key, item, source="user", comment=comment, scale=scale))
            comment = None
        if comment:
            items.append(FeedbackItem("comment", comment, None, "comment", "user", comment))
    elif feedback is not None:
        items.append(feedback_from_value("feedback", feedback, source="user"))
    if value.get("rating") is not None:
        items.append(feedback_from_value("rating", value["rating"], source="user", scale="rating"))
    if value.get("score") is not None:
        items.append(feedback_from_value("score", value["score"], source="user", scale="score"))
    if metadata.get("user_feedback") is not None:
        items.append(feedback_from_value("user_feedback", metadata["user_feedback"], source="user"))
    return items
