"""What a dataset kind is: how one reviewed example becomes rows, and how a row is checked.

Why this shape (one small object per kind, like BERTopic's pluggable stages): the planner treats
every kind alike (select, redact, build, validate, count tokens, write), so adding a format means
writing one `build` and naming its checks, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from mining.export.selection import Answer, Example


class LeftOut(Exception):
    """The example gives this kind no row; the message is the reason, shown in the report."""


class RowProblem(LeftOut):
    """The example's row would be invalid (found while building it, before the row's own checks)."""


@dataclass(frozen=True)
class BuildContext:
    """What a kind may need beyond the example: the export's tokenizer and its golden record ids."""

    tokenizer: Any = None
    golden_ids: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Kind:
    """A dataset kind. `training` kinds never receive golden items or their near duplicates;
    `config` is its folder and Hugging Face config name, `split` its file's split."""

    name: str
    config: str
    split: str
    training: bool
    openai: bool
    summary: str
    build: Callable[[Example, BuildContext], list[dict[str, Any]]]
    problems: Callable[[dict[str, Any]], list[str]]
    needs_tokenizer: bool = False


def target_of(example: Example) -> Answer:
    """The answer to learn, or LeftOut saying why there is none."""
    target = example.target
    if target is None:
        if example.verdict == "hard_example":
            raise LeftOut("no correction yet: write the answer the model should have given")
        if example.verdict is None:
            raise LeftOut("not reviewed yet")
        raise LeftOut(f"verdict {example.verdict!r} gives no answer to learn")
    return target


def rejected_of(example: Example) -> Answer:
    """The model's wrong answer for a preference pair, or LeftOut saying why there is none."""
    if example.verdict != "hard_example":
        raise LeftOut(f"verdict {example.verdict!r}: only hard examples make preference pairs")
    if example.response.empty:
        raise LeftOut("the model gave no answer (an error or empty output) to prefer the correction over")
    target = target_of(example)
    if target.canonical() == example.response.canonical():
        raise LeftOut("the correction is the model's own answer")
    return example.response
