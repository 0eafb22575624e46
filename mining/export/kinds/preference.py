"""Preference kinds: DPO pairs (TRL and OpenAI) and KTO's labelled single answers.

Why from the same review: a correction is both the answer to imitate and, against the model's
own wrong answer, a preference pair: chosen = the correction, rejected = the error. KTO needs no
pair, only a label per answer, so a hard example gives the error as undesirable and, when
corrected, the correction as desirable; a record confirmed as not a failure gives its answer as
desirable; a record judged unsure falls back to the user's thumbs up or down when there is one.
"""

from __future__ import annotations

from typing import Any

from mining.browse import NEGATIVE_BELOW
from mining.export import messages, validate
from mining.export.kinds.base import BuildContext, Kind, LeftOut, rejected_of, target_of
from mining.export.kinds.sft import tools_json
from mining.export.selection import Answer, Example


def _with_tools(row: dict[str, Any], example: Example) -> dict[str, Any]:
    if example.tools:
        row["tools"] = tools_json(example)
    return row


def _dpo(example: Example, context: BuildContext) -> list[dict[str, Any]]:
    rejected = rejected_of(example)
    return [_with_tools({"prompt": messages.prompt(example, "hf"),
                         "chosen": [messages.assistant(target_of(example), "hf")],
                         "rejected": [messages.assistant(rejected, "hf")]}, example)]


def _dpo_openai(example: Example, context: BuildContext) -> list[dict[str, Any]]:
    rejected = rejected_of(example)
    source: dict[str, Any] = {"messages": messages.prompt(example, "openai")}
    if example.tools:
        source["tools"] = messages.openai_tools(example.tools)
    return [{"input": source,
             "preferred_output": [messages.assistant(target_of(example), "openai")],
             "non_preferred_output": [messages.assistant(rejected, "openai")]}]


def _kto_answers(example: Example) -> list[tuple[Answer, bool]]:
    if example.verdict == "hard_example":
        answers = [] if example.response.empty else [(example.response, False)]
        target = example.target
        if target is not None and target.canonical() != example.response.canonical():
            answers.append((target, True))
        if not answers:
            raise LeftOut("the model gave no answer and there is no correction yet")
        return answers
    if example.verdict == "not_a_failure":
        if example.response.empty:
            raise LeftOut("the model gave no answer to label")
        return [(example.response, True)]
    if example.feedback_score is not None and not example.response.empty:
        return [(example.response, example.feedback_score >= NEGATIVE_BELOW)]
    raise LeftOut(f"verdict {example.verdict!r} and no user feedback: nothing says whether the answer was good")


def _kto(example: Example, context: BuildContext) -> list[dict[str, Any]]:
    return [_with_tools({"prompt": messages.prompt(example, "hf"), "completion": [messages.assistant(answer, "hf")],
                         "label": label}, example) for answer, label in _kto_answers(example)]


DPO = Kind("dpo", "dpo", "train", True, False,
           "DPO pairs, TRL: prompt, chosen = the correction, rejected = the model's answer", _dpo,
           validate.preference_problems)
DPO_OPENAI = Kind("dpo-openai", "dpo_openai", "train", True, True,
                  "DPO pairs, OpenAI preference fine-tuning: input, preferred_output, non_preferred_output",
                  _dpo_openai, validate.openai_preference_problems)
KTO = Kind("kto", "kto", "train", True, False,
           "KTO, TRL: prompt, completion, label (true = desirable)", _kto, validate.kto_problems)
