"""Token counts per example, and the tokenizer behind the pre-tokenised SFT kind.

Why a counter that can estimate: the trainer's own tokenizer is the only exact count, but a team
exporting for a hosted fine-tune has no local copy of it. With `--tokenizer PATH` (a local
Hugging Face tokenizer folder; never downloaded) counts are exact and include the chat template;
without it they are estimated as characters / 4 plus 4 per message, OpenAI's rule of thumb, and
the report says so.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

CHARS_PER_TOKEN = 4
TOKENS_PER_MESSAGE = 4


class TokenizerError(ValueError):
    """A tokenizer folder that cannot be used, with the reason."""


def load_tokenizer(path: str | Path) -> Any:
    """A local tokenizer with a chat template; refuses one without a template, since rendering a
    conversation without the model's own template would train on a format it never sees."""
    from transformers import AutoTokenizer

    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise TokenizerError(f"tokenizer folder {folder} does not exist")
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise TokenizerError(f"cannot load a tokenizer from {folder}: {exc}") from exc
    if not getattr(tokenizer, "chat_template", None):
        raise TokenizerError(f"the tokenizer in {folder} has no chat template; add the model's template "
                             "(chat_template in tokenizer_config.json or chat_template.jinja) and export again")
    return tokenizer


def _texts(value: Any) -> list[str]:
    """Every string in a row (contents, tool-call arguments), keys and roles left out."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [text for item in value for text in _texts(item)]
    if isinstance(value, dict):
        return [text for key, item in value.items() if key not in ("role", "type", "id", "weight", "label")
                for text in _texts(item)]
    return []


def _messages(row: dict[str, Any]) -> int:
    count = 0
    for value in row.values():
        if isinstance(value, list):
            count += sum(1 for item in value if isinstance(item, dict) and "role" in item)
        elif isinstance(value, dict):
            count += _messages(value)
    return count


class TokenCounter:
    """Counts the tokens of a dataset row, exactly with a tokenizer, else by estimate."""

    def __init__(self, tokenizer: Any = None) -> None:
        self.tokenizer = tokenizer

    @property
    def exact(self) -> bool:
        return self.tokenizer is not None

    def count(self, row: dict[str, Any]) -> int:
        if "input_ids" in row:
            return len(row["input_ids"])
        text = "\n".join(_texts({key: value for key, value in row.items() if key != "tools"}))
        overhead = TOKENS_PER_MESSAGE * _messages(row)
        if self.tokenizer is not None:
            return len(self.tokenizer.encode(text, add_special_tokens=False)) + overhead
        return math.ceil(len(text) / CHARS_PER_TOKEN) + overhead


def tokenize_prompt_completion(tokenizer: Any, prompt: list[dict[str, Any]], completion: list[dict[str, Any]],
                               tools: list[dict[str, Any]] | None) -> dict[str, list[int]]:
    """input_ids, attention_mask and labels with -100 on every prompt token, the way TRL does it:
    the prompt rendered with the generation prompt, the whole conversation rendered, and the answer
    taken as where the two token sequences part (so a template that merges tokens across the
    boundary still masks the whole prompt)."""
    def ids(messages: list[dict[str, Any]], generation: bool) -> list[int]:
        rendered = tokenizer.apply_chat_template(messages, tools=tools, tokenize=True, add_generation_prompt=generation,
                                                 return_dict=True)
        return list(rendered["input_ids"])

    prompt_ids = ids(prompt, True)
    full_ids = ids(prompt + completion, False)
    shared = 0
    for left, right in zip(prompt_ids, full_ids):
        if left != right:
            break
        shared += 1
    return {"input_ids": full_ids, "attention_mask": [1] * len(full_ids),
            "labels": [-100] * shared + full_ids[shared:]}

