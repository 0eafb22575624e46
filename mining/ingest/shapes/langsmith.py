"""LangSmith runs, as the SDK's `list_runs` returns them (one run per line).

Only `llm` runs are calls; chains, tools and retrievers are context and are skipped. A chat model's
run holds LangChain-serialised messages (`{"messages": [[{lc, type: constructor, id, kwargs}]]}`)
and `generations[][]`; a run from the `wrap_openai` wrapper holds the `create()` arguments and a
ChatCompletion dump instead (FORMATS.md, "Details that trip converters"), so both are read.

The message and tool-call readers here also serve the Langfuse shape: Langfuse's LangChain
integration logs the same LangChain message forms.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Iterable

from mining.ingest.record import (
    BadRow, FeedbackItem, Record, as_int, as_str, feedback_from_value, message, parse_time, text_of,
    tool_call, type_name,
)

# LangChain message types (kwargs.type) and class names (the last part of a serialised id).
_LANGCHAIN_ROLES = {
    "human": "user", "ai": "assistant", "system": "system", "tool": "tool", "function": "tool",
    "developer": "system",
    "HumanMessage": "user", "AIMessage": "assistant", "SystemMessage": "system",
    "ToolMessage": "tool", "FunctionMessage": "tool",
    "HumanMessageChunk": "user", "AIMessageChunk": "assistant", "SystemMessageChunk": "system",
    "ToolMessageChunk": "tool", "FunctionMessageChunk": "tool",
}

# invocation_params keys that are not request parameters: the model is its own column, tools too,
# and `_type` names the LangChain class.
_NOT_PARAMS = {"model", "model_name", "tools", "functions", "_type", "messages"}

# LangSmith feedback_source.type -> who gave the feedback (Record.feedback_score prefers people).
_FEEDBACK_SOURCES = {"api": "user", "app": "annotation", "model": "eval"}


class LangSmithRunShape:
    name = "langsmith"
    label = "LangSmith runs"

    def looks_like(self, value: Any) -> bool:
        return isinstance(value, dict) and "run_type" in value and ("inputs" in value or "trace_id" in value)

    def parse(self, value: Any) -> Iterable[Record]:
        if not isinstance(value, dict):
            raise BadRow(f"expected a JSON object for one LangSmith run, got {type_name(value)}")
        run_type = value.get("run_type")
        if not isinstance(run_type, str):
            raise BadRow(f"field 'run_type' should be a string, got {type_name(run_type)}")
        if run_type != "llm":
            return []
        source_id = as_str(value.get("id"))
        if source_id is None:
            raise BadRow("missing required field 'id' (the run id)")
        inputs = value.get("inputs")
        if not isinstance(inputs, dict) or not inputs:
            raise BadRow(f"field 'inputs' of an llm run should be a non-empty object, got {type_name(inputs)}")
        extra = _object_field(value, "extra")
        metadata = _object_field(extra, "metadata", "extra.metadata")
        invocation = _object_field(extra, "invocation_params", "extra.invocation_params")
        record = Record(source_format=self.name, raw="", source_id=source_id,
                        input_messages=_input_messages(inputs))
        _read_outputs(record, value.get("outputs"))
        _read_tokens(record, value)
        start, end = _time_field(value, "start_time"), _time_field(value, "end_time")
        record.ts = start
        record.latency_ms = _latency(start, end)
        record.trace_id = as_str(value.get("trace_id"))
        record.parent_id = as_str(value.get("parent_run_id"))
        record.session_id = as_str(metadata.get("session_id") or metadata.get("thread_id")
                                   or metadata.get("conversation_id"))
        record.user_id = as_str(metadata.get("user_id") or metadata.get("userId"))
        # The requested model wins over the one the response names, as in the OpenAI shape.
        record.model = (as_str(invocation.get("model") or invocation.get("model_name") or inputs.get("model"))
                        or record.model or as_str(metadata.get("ls_model_name")))
        # wrap_openai logs the create() arguments as inputs: the parameters beside the messages.
        params = {**(_params_of(inputs) if "messages" in inputs else {}), **_params_of(invocation)}
        record.request_params = params or None
        record.tools = invocation.get("tools") or inputs.get("tools") or None
        _read_status(record, value)
        record.feedback = _feedback_of(value)
        record.metadata = _metadata_of(value, metadata)
        return [record]


# --- messages (shared with the Langfuse shape) ------------------------------------------------

def chat_message(raw: Any, where: str) -> dict[str, Any]:
    """A canonical message from any form a LangChain or OpenAI-style log holds.

    Forms: LangChain's serialisation (`{lc, type: constructor, id: [..., 'HumanMessage'], kwargs}`),
    `messages_to_dict` (`{type: human, data: {...}}`), a message's own dict (`{type: human,
    content}`), and OpenAI's `{role, content, tool_calls?}`.
    """
    if not isinstance(raw, dict):
        raise BadRow(f"{where}: expected a message object, got {type_name(raw)}")
    if isinstance(raw.get("kwargs"), dict):
        class_name = raw["id"][-1] if isinstance(raw.get("id"), list) and raw["id"] else None
        return _langchain_message(raw["kwargs"], class_name, where)
    if isinstance(raw.get("data"), dict) and "type" in raw:
        return _langchain_message({**raw["data"], "type": raw["type"]}, None, where)
    if "role" not in raw and "type" in raw:
        return _langchain_message(raw, None, where)
    role = raw.get("role")
    if not isinstance(role, str):
        raise BadRow(f"{where}: message has no 'role'")
    return _message(role, raw)


def _langchain_message(fields: dict[str, Any], class_name: str | None, where: str) -> dict[str, Any]:
    kind = fields.get("type")
    role = fields.get("role") if kind == "chat" or class_name == "ChatMessage" else (
        _LANGCHAIN_ROLES.get(kind) or _LANGCHAIN_ROLES.get(class_name))
    if not isinstance(role, str):
        raise BadRow(f"{where}: unknown LangChain message type {kind or class_name!r}")
    return _message(role, fields)


def _message(role: str, fields: dict[str, Any]) -> dict[str, Any]:
    calls = tool_calls_of(fields)
    return message(role, _content(fields.get("content"), calls), tool_calls=calls,
                   tool_call_id=as_str(fields.get("tool_call_id")), name=as_str(fields.get("name")))


def _content(content: Any, calls: list[dict[str, Any]]) -> Any:
    """LangChain writes "" where OpenAI writes null for a reply that only calls tools; read both as null."""
    return None if calls and content in ("", []) else content


def tool_calls_of(fields: dict[str, Any]) -> list[dict[str, Any]]:
    """Tool calls of a message in any of its homes: LangChain's `tool_calls` (`{id, name, args}`),
    OpenAI's (`{id, function: {name, arguments}}`), `additional_kwargs.tool_calls`, or the legacy
    `function_call`."""
    extra = fields.get("additional_kwargs") if isinstance(fields.get("additional_kwargs"), dict) else {}
    raw_calls = fields.get("tool_calls") or extra.get("tool_calls")
    if raw_calls:
        if not isinstance(raw_calls, list):
            raise BadRow(f"'tool_calls' should be a list, got {type_name(raw_calls)}")
        return [_tool_call(call) for call in raw_calls if isinstance(call, dict)]
    function_call = fields.get("function_call") or extra.get("function_call")
    if isinstance(function_call, dict):
        return [tool_call(None, function_call.get("name"), function_call.get("arguments"))]
    return []


def _tool_call(call: dict[str, Any]) -> dict[str, Any]:
    if isinstance(call.get("function"), dict):
        return tool_call(call.get("id"), call["function"].get("name"), call["function"].get("arguments"))
    return tool_call(call.get("id"), call.get("name"), call.get("args", call.get("arguments")))


# --- inputs and outputs -----------------------------------------------------------------------

def _input_messages(inputs: dict[str, Any]) -> list[dict[str, Any]]:
    """Input messages from chat `messages` (a batch list of lists, or one list), completion
    `prompts`, or, for a custom `@traceable(run_type="llm")` function, its arguments as one user turn."""
    if "messages" in inputs:
        batch = inputs["messages"]
        if not isinstance(batch, list):
            raise BadRow(f"field 'inputs.messages' should be a list, got {type_name(batch)}")
        conversation = batch[0] if batch and isinstance(batch[0], list) else batch
        return [chat_message(item, f"inputs.messages[{index}]") for index, item in enumerate(conversation)]
    if "prompts" in inputs:
        prompts = inputs["prompts"]
        if not isinstance(prompts, list) or not prompts or not isinstance(prompts[0], str):
            raise BadRow(f"field 'inputs.prompts' should be a list of strings, got {type_name(prompts)}")
        return [message("user", prompts[0])]
    return [arguments_as_user_turn(inputs)]


def arguments_as_user_turn(arguments: dict[str, Any]) -> dict[str, Any]:
    """A user message from a call's arguments when they are not messages: the prompt when one key
    holds it, else the arguments as JSON, so the input is kept and can still be clustered."""
    for key in ("input", "prompt", "question", "query"):
        if isinstance(arguments.get(key), str):
            return message("user", arguments[key])
    return message("user", json.dumps(arguments, ensure_ascii=False))


def _read_outputs(record: Record, outputs: Any) -> None:
    """Reply, tool calls, finish reason and model from `generations` or a ChatCompletion dump."""
    if outputs is None:
        return
    if isinstance(outputs, str):
        record.response_text = outputs
        return
    if not isinstance(outputs, dict):
        raise BadRow(f"field 'outputs' should be an object, got {type_name(outputs)}")
    if "generations" in outputs:
        _read_generation(record, outputs)
    elif "choices" in outputs:
        _read_chat_completion(record, outputs)
    elif "role" in outputs or "content" in outputs or "kwargs" in outputs:
        reply = outputs if "kwargs" in outputs else {"role": "assistant", **outputs}
        _read_reply(record, chat_message(reply, "outputs"))
    else:
        record.response_text = text_of(outputs.get("output")) if "output" in outputs else json.dumps(
            outputs, ensure_ascii=False)


def _read_generation(record: Record, outputs: dict[str, Any]) -> None:
    generation = _first_generation(outputs["generations"])
    reply_raw = generation.get("message")
    if reply_raw is not None:
        _read_reply(record, chat_message(reply_raw, "outputs.generations[0][0].message"))
        fields = reply_raw.get("kwargs", reply_raw) if isinstance(reply_raw, dict) else {}
        response_meta = fields.get("response_metadata") if isinstance(fields.get("response_metadata"), dict) else {}
        usage = fields.get("usage_metadata") if isinstance(fields.get("usage_metadata"), dict) else {}
    else:
        record.response_text = as_str(generation.get("text"))
        response_meta, usage = {}, {}
    if record.response_text is None and not record.tool_calls:
        record.response_text = as_str(generation.get("text"))
    info = generation.get("generation_info") if isinstance(generation.get("generation_info"), dict) else {}
    record.finish_reason = as_str(info.get("finish_reason") or response_meta.get("finish_reason"))
    llm_output = outputs.get("llm_output") if isinstance(outputs.get("llm_output"), dict) else {}
    record.model = as_str(llm_output.get("model_name") or response_meta.get("model_name"))
    token_usage = llm_output.get("token_usage") if isinstance(llm_output.get("token_usage"), dict) else {}
    _fill_tokens(record, token_usage.get("prompt_tokens", usage.get("input_tokens")),
                 token_usage.get("completion_tokens", usage.get("output_tokens")),
                 token_usage.get("total_tokens", usage.get("total_tokens")))


def _first_generation(generations: Any) -> dict[str, Any]:
    if not isinstance(generations, list) or not generations:
        raise BadRow(f"field 'outputs.generations' should be a non-empty list, got {type_name(generations)}")
    first = generations[0]
    if isinstance(first, list):
        if not first:
            raise BadRow("field 'outputs.generations[0]' is an empty list")
        first = first[0]
    if not isinstance(first, dict):
        raise BadRow(f"field 'outputs.generations[0][0]' should be an object, got {type_name(first)}")
    return first


def _read_chat_completion(record: Record, outputs: dict[str, Any]) -> None:
    """A `wrap_openai` run: the ChatCompletion dump, with LangSmith's `usage_metadata` beside `usage`."""
    choices = outputs["choices"]
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise BadRow(f"field 'outputs.choices' should be a non-empty list of objects, got {type_name(choices)}")
    choice = choices[0]
    _read_reply(record, chat_message(choice.get("message") or {"role": "assistant", "content": choice.get("text")},
                                     "outputs.choices[0].message"))
    record.finish_reason = as_str(choice.get("finish_reason"))
    record.model = as_str(outputs.get("model"))
    usage = outputs.get("usage_metadata") if isinstance(outputs.get("usage_metadata"), dict) else {}
    openai_usage = outputs.get("usage") if isinstance(outputs.get("usage"), dict) else {}
    _fill_tokens(record, usage.get("input_tokens", openai_usage.get("prompt_tokens")),
                 usage.get("output_tokens", openai_usage.get("completion_tokens")),
                 usage.get("total_tokens", openai_usage.get("total_tokens")))


def _read_reply(record: Record, reply: dict[str, Any]) -> None:
    record.response_text = reply.get("content")
    record.tool_calls = reply.get("tool_calls", [])


def _read_tokens(record: Record, run: dict[str, Any]) -> None:
    """The run's own token columns win: LangSmith computes them for every run."""
    for field_name, attribute in (("prompt_tokens", "input_tokens"), ("completion_tokens", "output_tokens"),
                                  ("total_tokens", "total_tokens")):
        count = _int_field(run, field_name)
        if count is not None:
            setattr(record, attribute, count)


def _fill_tokens(record: Record, prompt: Any, completion: Any, total: Any) -> None:
    try:
        record.input_tokens, record.output_tokens, record.total_tokens = as_int(prompt), as_int(completion), as_int(total)
    except BadRow as exc:
        raise BadRow(f"token usage in 'outputs': {exc}") from None


# --- the rest of the run ----------------------------------------------------------------------

def _object_field(value: dict[str, Any], key: str, where: str | None = None) -> dict[str, Any]:
    field_value = value.get(key)
    if field_value is None:
        return {}
    if not isinstance(field_value, dict):
        raise BadRow(f"field '{where or key}' should be an object, got {type_name(field_value)}")
    return field_value


def _time_field(value: dict[str, Any], key: str) -> datetime | None:
    try:
        return parse_time(value.get(key))
    except BadRow as exc:
        raise BadRow(f"field '{key}': {exc}") from None


def _int_field(value: dict[str, Any], key: str) -> int | None:
    try:
        return as_int(value.get(key))
    except BadRow as exc:
        raise BadRow(f"field '{key}': {exc}") from None


def _latency(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return (end - start).total_seconds() * 1000


def _params_of(source: dict[str, Any]) -> dict[str, Any]:
    return {key: item for key, item in source.items() if key not in _NOT_PARAMS}


def _read_status(record: Record, run: dict[str, Any]) -> None:
    error = run.get("error")
    if error:
        record.status = "error"
        record.error = error if isinstance(error, str) else json.dumps(error, ensure_ascii=False)
    elif run.get("outputs") is not None:
        record.status = "ok"


def _metadata_of(run: dict[str, Any], metadata: dict[str, Any]) -> dict[str, Any] | None:
    result = dict(metadata)
    if as_str(run.get("name")):
        result["run_name"] = run["name"]
    tags = run.get("tags")
    if tags:
        if not isinstance(tags, list):
            raise BadRow(f"field 'tags' should be a list, got {type_name(tags)}")
        result["tags"] = tags
    return result or None


def _feedback_of(run: dict[str, Any]) -> list[FeedbackItem]:
    """Feedback items when the export has them, else the per-key averages of `feedback_stats`.

    Never both: the stats summarise the same items, so reading both would count each twice.
    """
    items = run.get("feedback")
    if items is not None:
        if not isinstance(items, list):
            raise BadRow(f"field 'feedback' should be a list, got {type_name(items)}")
        return [_feedback_item(item, index) for index, item in enumerate(items)]
    stats = run.get("feedback_stats")
    if stats is None:
        return []
    if not isinstance(stats, dict):
        raise BadRow(f"field 'feedback_stats' should be an object, got {type_name(stats)}")
    return [item for key, stat in stats.items() if (item := _stat_item(key, stat)) is not None]


def _stat_item(key: str, stat: Any) -> FeedbackItem | None:
    if not isinstance(stat, dict):
        raise BadRow(f"field 'feedback_stats.{key}' should be an object, got {type_name(stat)}")
    comments = [text for text in stat.get("comments") or [] if isinstance(text, str) and text]
    comment = "\n".join(comments) or None
    if isinstance(stat.get("avg"), (int, float)) and not isinstance(stat.get("avg"), bool):
        return feedback_from_value(key, stat["avg"], source="user", comment=comment)
    if stat.get("values"):  # a categorical key: counts per label, no average
        return FeedbackItem(key, stat["values"], None, "categorical", "user", comment)
    return None


def _feedback_item(item: Any, index: int) -> FeedbackItem:
    """One feedback item; a `correction` makes it a reviewer correction, kept apart from scores."""
    if not isinstance(item, dict):
        raise BadRow(f"field 'feedback[{index}]' should be an object, got {type_name(item)}")
    key = as_str(item.get("key")) or "feedback"
    comment = as_str(item.get("comment"))
    source_info = item.get("feedback_source") if isinstance(item.get("feedback_source"), dict) else {}
    source = _FEEDBACK_SOURCES.get(str(source_info.get("type")).lower(), "user")
    if item.get("correction") not in (None, "", {}):
        return FeedbackItem(key, item["correction"], None, "correction", source, comment)
    for candidate in (item.get("score"), item.get("value")):
        if candidate is not None:
            return feedback_from_value(key, candidate, source=source, comment=comment)
    return FeedbackItem(key, comment, None, "comment", source, comment)
