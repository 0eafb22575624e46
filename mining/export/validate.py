"""Checks on dataset rows, made the way the trainers will read them, before anything is written.

Why before writing and per row: a trainer that meets one bad row either crashes hours into a job or,
worse, trains on it silently. Each check returns the problems of one row in words; the planner
leaves such rows out and lists them with their record, so nothing is dropped without a reason.

The OpenAI checks follow its chat fine-tuning data-preparation guide: a `messages` list, known roles
only, string content, no unrecognised keys, at least one assistant message (and here: one that is
trained, weight 1), plus the preference format's `input` / `preferred_output` /
`non_preferred_output`. The file-level rule (at least 10 examples) is `openai_file_warnings`.
"""

from __future__ import annotations

from typing import Any

from mining.export.messages import KNOWN_ROLES

OPENAI_MIN_EXAMPLES = 10
OPENAI_ROW_KEYS = {"messages", "tools", "parallel_tool_calls", "functions"}
OPENAI_MESSAGE_KEYS = {"role", "content", "name", "function_call", "weight", "tool_calls", "tool_call_id"}
OPENAI_PREFERENCE_KEYS = {"input", "preferred_output", "non_preferred_output"}
OPENAI_INPUT_KEYS = {"messages", "tools", "parallel_tool_calls"}


def _content_problem(index: int, m: dict[str, Any]) -> str | None:
    content = m.get("content")
    if m.get("role") == "assistant" and m.get("tool_calls"):
        return None if content is None or isinstance(content, str) else f"message {index}: content is not a string"
    if not isinstance(content, str):
        return f"message {index} ({m.get('role')}): content is {'missing' if content is None else 'not a string'}"
    if not content.strip():
        return f"message {index} ({m.get('role')}): empty content"
    return None


def conversation_problems(messages: Any, *, ends_with_answer: bool) -> list[str]:
    """Problems of a message list: known roles, system/developer only first, a user turn before the
    first answer, tool results only after a tool call, no empty content, and the right last turn:
    an assistant answer to learn (`ends_with_answer`) or a user/tool turn for the model to answer."""
    if not isinstance(messages, list) or not messages:
        return ["no messages"]
    problems: list[str] = []
    seen_user = False
    previous: dict[str, Any] | None = None
    for index, m in enumerate(messages):
        if not isinstance(m, dict):
            problems.append(f"message {index} is not an object")
            continue
        role = m.get("role")
        if role not in KNOWN_ROLES:
            problems.append(f"message {index}: unknown role {role!r}")
        elif role in ("system", "developer") and previous is not None and previous.get("role") not in ("system", "developer"):
            problems.append(f"message {index}: a {role} message after the conversation started")
        elif role == "assistant" and not seen_user:
            problems.append(f"message {index}: an assistant answer before any user message")
        elif role == "tool" and not (previous and (previous.get("role") == "tool" or previous.get("tool_calls"))):
            problems.append(f"message {index}: a tool result that follows no tool call")
        seen_user = seen_user or role == "user"
        problem = _content_problem(index, m)
        if problem:
            problems.append(problem)
        previous = m
    last = messages[-1].get("role") if isinstance(messages[-1], dict) else None
    if ends_with_answer and last != "assistant":
        problems.append("no final assistant message to learn")
    if not ends_with_answer and last not in ("user", "tool"):
        problems.append(f"the prompt ends with a {last} message, not a user or tool turn for the model to answer")
    return problems


def answer_problems(completion: Any, name: str = "completion") -> list[str]:
    """A completion / chosen / rejected: exactly one assistant message with content or tool calls."""
    if not isinstance(completion, list) or len(completion) != 1 or not isinstance(completion[0], dict):
        return [f"{name} is not exactly one message"]
    m = completion[0]
    if m.get("role") != "assistant":
        return [f"{name} is a {m.get('role')} message, not an assistant answer"]
    problem = _content_problem(0, m)
    return [f"{name}: {problem.split(': ', 1)[1]}"] if problem else []


def prompt_completion_problems(row: dict[str, Any]) -> list[str]:
    return conversation_problems(row.get("prompt"), ends_with_answer=False) + answer_problems(row.get("completion"))


def preference_problems(row: dict[str, Any]) -> list[str]:
    problems = (conversation_problems(row.get("prompt"), ends_with_answer=False)
                + answer_problems(row.get("chosen"), "chosen") + answer_problems(row.get("rejected"), "rejected"))
    if row.get("chosen") == row.get("rejected"):
        problems.append("chosen and rejected are the same answer")
    return problems


def kto_problems(row: dict[str, Any]) -> list[str]:
    problems = prompt_completion_problems(row)
    if not isinstance(row.get("label"), bool):
        problems.append("label is not true or false")
    return problems


def _unknown(keys: set[str], allowed: set[str], where: str) -> list[str]:
    extra = sorted(keys - allowed)
    return [f"{where}: unrecognised key{'s' if len(extra) > 1 else ''} {', '.join(extra)}"] if extra else []


def _openai_messages(messages: Any, where: str) -> list[str]:
    if not isinstance(messages, list) or not messages:
        return [f"{where}: no messages list"]
    problems = []
    for index, m in enumerate(messages):
        if not isinstance(m, dict):
            problems.append(f"{where}: message {index} is not an object")
            continue
        problems += _unknown(set(m), OPENAI_MESSAGE_KEYS, f"{where}: message {index}")
        if "weight" in m and (m.get("role") != "assistant" or m["weight"] not in (0, 1)):
            problems.append(f"{where}: message {index}: weight must be 0 or 1, on assistant messages only")
    return problems


def openai_chat_problems(row: dict[str, Any]) -> list[str]:
    """OpenAI chat fine-tuning: the guide's checks, plus a trained final assistant answer."""
    messages = row.get("messages")
    problems = _unknown(set(row), OPENAI_ROW_KEYS, "row") + _openai_messages(messages, "messages")
    if problems:
        return problems
    problems = conversation_problems(messages, ends_with_answer=True)
    if not any(m.get("role") == "assistant" and m.get("weight", 1) == 1 for m in messages):
        problems.append("no assistant message is trained (every weight is 0)")
    return problems


def openai_preference_problems(row: dict[str, Any]) -> list[str]:
    """OpenAI preference fine-tuning: input.messages, one preferred and one non-preferred answer."""
    problems = _unknown(set(row), OPENAI_PREFERENCE_KEYS, "row")
    source = row.get("input")
    if not isinstance(source, dict):
        return problems + ["input is not an object"]
    problems += _unknown(set(source), OPENAI_INPUT_KEYS, "input") + _openai_messages(source.get("messages"), "input")
    if problems:
        return problems
    problems = conversation_problems(source["messages"], ends_with_answer=False)
    problems += answer_problems(row.get("preferred_output"), "preferred_output")
    problems += answer_problems(row.get("non_preferred_output"), "non_preferred_output")
    if row.get("preferred_output") == row.get("non_preferred_output"):
        problems.append("preferred and non-preferred outputs are the same answer")
    return problems


def tokenized_problems(row: dict[str, Any]) -> list[str]:
    ids, mask, labels = row.get("input_ids") or [], row.get("attention_mask") or [], row.get("labels") or []
    if not ids:
        return ["no tokens"]
    if not len(ids) == len(mask) == len(labels):
        return ["input_ids, attention_mask and labels differ in length"]
    if all(label == -100 for label in labels):
        return ["every token is masked: there is no answer to learn"]
    return []


def openai_file_warnings(kind: str, rows: int) -> list[str]:
    """File-level rules of OpenAI's fine-tuning API."""
    if 0 < rows < OPENAI_MIN_EXAMPLES:
        return [f"{kind}: OpenAI fine-tuning needs at least {OPENAI_MIN_EXAMPLES} examples; this file has {rows}"]
    return []
