"""Supervised fine-tuning kinds: TRL prompt/completion, OpenAI chat messages, pre-tokenised.

Why these three: all teach the corrected answer and never the question. TRL's SFTTrainer computes
loss on the completion only for prompt/completion rows; OpenAI trains only assistant turns whose
weight is 1, so earlier assistant turns get weight 0; the pre-tokenised rows carry `labels` with
-100 on every prompt token, so the masking can be inspected and used by any trainer as is.
"""

from __future__ import annotations

import json
from typing import Any

from mining.export import messages, validate
from mining.export.kinds.base import BuildContext, Kind, RowProblem, target_of
from mining.export.selection import Example
from mining.export.tokens import tokenize_prompt_completion


def tools_json(example: Example) -> str | None:
    """The record's tools for TRL rows: a JSON string (see mining.export.messages), None without tools."""
    return json.dumps(messages.openai_tools(example.tools), ensure_ascii=False, sort_keys=True) if example.tools else None


def _sft(example: Example, context: BuildContext) -> list[dict[str, Any]]:
    row: dict[str, Any] = {"prompt": messages.prompt(example, "hf"),
                           "completion": [messages.assistant(target_of(example), "hf")]}
    if example.tools:
        row["tools"] = tools_json(example)
    return [row]


def _sft_openai(example: Example, context: BuildContext) -> list[dict[str, Any]]:
    conversation = messages.prompt(example, "openai")
    for m in conversation:
        if m["role"] == "assistant":
            m["weight"] = 0
    conversation.append({**messages.assistant(target_of(example), "openai"), "weight": 1})
    row: dict[str, Any] = {"messages": conversation}
    if example.tools:
        row["tools"] = messages.openai_tools(example.tools)
    return [row]


def _sft_tokenized(example: Example, context: BuildContext) -> list[dict[str, Any]]:
    row = _sft(example, context)[0]
    problems = validate.prompt_completion_problems(row)  # token ids hide them, so check the conversation first
    if problems:
        raise RowProblem("; ".join(problems))
    tools = json.loads(row["tools"]) if row.get("tools") else None
    return [tokenize_prompt_completion(context.tokenizer, row["prompt"], row["completion"], tools)]


SFT = Kind("sft", "sft", "train", True, False,
           "SFT, TRL prompt/completion (conversational): loss on the corrected answer only", _sft,
           validate.prompt_completion_problems)
SFT_OPENAI = Kind("sft-openai", "sft_openai", "train", True, True,
                  "SFT, OpenAI chat fine-tuning: messages, earlier assistant turns weight 0", _sft_openai,
                  validate.openai_chat_problems)
SFT_TOKENIZED = Kind("sft-tokenized", "sft_tokenized", "train", True, False,
                     "SFT, pre-tokenised: input_ids, attention_mask, labels (-100 on prompt tokens)", _sft_tokenized,
                     validate.tokenized_problems, needs_tokenizer=True)
