"""Messages in the two dialects datasets are written in: Hugging Face chat (TRL) and OpenAI's.

Why tool-call arguments are JSON strings in both: OpenAI's API carries them that way, and in a
Hugging Face dataset an object would become one Arrow struct merging every tool's argument names,
so a `restart_vm` call read back would gain `"plan": null` and every other tool's keys, and a
chat template would render them into the training text. A string survives the round trip intact.
`tools` is a JSON string in TRL rows for the same reason (TRL decodes a string `tools` column).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any, Literal

from mining.export.redact import Redactor
from mining.export.selection import Answer, Example

Dialect = Literal["hf", "openai"]
KNOWN_ROLES = ("system", "developer", "user", "assistant", "tool")


def _arguments(arguments: Any) -> str:
    return arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False, sort_keys=True)


def tool_calls(calls: tuple[dict[str, Any], ...] | list[dict[str, Any]], dialect: Dialect) -> list[dict[str, Any]]:
    """Canonical {id, name, arguments} calls as OpenAI / HF function calls; ids are kept, or made
    up as call_N where the log had none (OpenAI wants one on every call)."""
    converted = []
    for number, call in enumerate(calls, start=1):
        function = {"name": call.get("name"), "arguments": _arguments(call.get("arguments"))}
        entry: dict[str, Any] = {"type": "function", "function": function}
        if dialect == "openai":
            entry = {"id": call.get("id") or f"call_{number}", **entry}
        converted.append(entry)
    return converted


def message(canonical: dict[str, Any], dialect: Dialect) -> dict[str, Any]:
    """One canonical message (role, content, tool_calls, tool_call_id, name) in a dialect."""
    result: dict[str, Any] = {"role": canonical.get("role"), "content": canonical.get("content")}
    if canonical.get("tool_calls"):
        result["tool_calls"] = tool_calls(canonical["tool_calls"], dialect)
    for key in ("tool_call_id", "name"):
        if canonical.get(key):
            result[key] = canonical[key]
    return result


def prompt(example: Example, dialect: Dialect) -> list[dict[str, Any]]:
    """The conversation up to the answer being learned."""
    return [message(m, dialect) for m in example.messages]


def assistant(answer: Answer, dialect: Dialect) -> dict[str, Any]:
    """An answer as an assistant message (content None when it only calls tools)."""
    result: dict[str, Any] = {"role": "assistant", "content": answer.text if answer.text else None}
    if answer.tool_calls:
        result["tool_calls"] = tool_calls(answer.tool_calls, dialect)
    elif result["content"] is None:
        result["content"] = ""
    return result


def openai_tools(tools: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
    """Tool definitions in OpenAI's {type: function, function: {...}} shape, whatever shape the log had."""
    converted = []
    for tool in tools:
        if tool.get("type") == "function" and isinstance(tool.get("function"), dict):
            converted.append(tool)
        else:
            converted.append({"type": "function", "function": {key: value for key, value in tool.items() if key != "type"}})
    return converted


def answer_text(answer: Answer) -> str:
    """An answer as one string (tool calls as JSON after the text), for text-only views."""
    parts = [answer.text] if answer.text else []
    if answer.tool_calls:
        parts.append(json.dumps([{"name": c.get("name"), "arguments": c.get("arguments")} for c in answer.tool_calls],
                                ensure_ascii=False, sort_keys=True))
    return "\n".join(parts)


def _answer(answer: Answer | None, redactor: Redactor) -> Answer | None:
    if answer is None:
        return None
    return Answer(redactor.redact(answer.text) if answer.text else answer.text,
                  tuple(redactor.redact_json(list(answer.tool_calls))))


def redacted(example: Example, redactor: Redactor) -> Example:
    """The example with every free text masked (messages, answers, note, error, signal details).
    Fields are visited in a fixed order, so placeholders are numbered the same on every run."""
    return replace(
        example,
        messages=tuple(redactor.redact_json(list(example.messages))),
        request_text=redactor.redact(example.request_text) if example.request_text else example.request_text,
        response=_answer(example.response, redactor),
        correction=_answer(example.correction, redactor),
        note=redactor.redact(example.note) if example.note else example.note,
        error=redactor.redact(example.error) if example.error else example.error,
        signals=tuple(redactor.redact_json(list(example.signals))),
    )
