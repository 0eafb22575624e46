"""The portable kinds: correction records with full provenance, and the golden evaluation set.

Why a correction record: it is the asset itself (input, the model's error, the human ground truth,
who said so and how sure they were), from which any future training format can be made again,
outside Faultline too. Why the golden set is its own kind: evaluation needs the reference answer
and the cluster / tags to score per failure mode, and must never see training rows.
"""

from __future__ import annotations

from typing import Any

from mining.export import messages, validate
from mining.export.kinds.base import BuildContext, Kind, LeftOut, target_of
from mining.export.selection import Answer, Example


def _answer(answer: Answer | None) -> dict[str, Any] | None:
    if answer is None or answer.empty:
        return None
    return {"text": answer.text, "tool_calls": messages.tool_calls(answer.tool_calls, "openai") or None}


def _corrections(example: Example, context: BuildContext) -> list[dict[str, Any]]:
    if example.correction is None or example.correction.empty:
        if example.verdict == "hard_example":
            raise LeftOut("no correction yet: write the answer the model should have given")
        raise LeftOut(f"verdict {example.verdict!r} has no correction")
    return [{
        "id": example.source_id, "record_id": example.record_id,
        "source": {"file": example.source_file, "format": example.source_format},
        "time": example.ts.isoformat() if example.ts else None, "model": example.model,
        "input": messages.prompt(example, "openai"), "tools": messages.openai_tools(example.tools) or None,
        "model_output": _answer(example.response), "finish_reason": example.finish_reason, "error": example.error,
        "correction": _answer(example.correction), "verdict": example.verdict, "tags": list(example.tags),
        "note": example.note, "cluster": {"id": example.cluster_id, "name": example.cluster_name},
        "reviewers": list(example.reviewers), "adjudicated_by": example.adjudicated_by,
        "agreement": example.agreement, "signals": list(example.signals),
        "golden": example.record_id in context.golden_ids,
    }]


def _golden(example: Example, context: BuildContext) -> list[dict[str, Any]]:
    try:
        target = target_of(example)
    except LeftOut as exc:
        raise LeftOut(f"golden item without a reference answer: {exc}") from exc
    return [{
        "id": example.source_id, "record_id": example.record_id,
        "prompt": messages.prompt(example, "hf"), "input": example.request_text,
        "reference": messages.answer_text(target), "reference_tool_calls": messages.tool_calls(target.tool_calls, "openai") or None,
        "cluster_id": example.cluster_id, "cluster": example.cluster_name, "tags": list(example.tags),
    }]


def _corrections_problems(row: dict[str, Any]) -> list[str]:
    return validate.conversation_problems(row.get("input"), ends_with_answer=False)


def _golden_problems(row: dict[str, Any]) -> list[str]:
    problems = validate.conversation_problems(row.get("prompt"), ends_with_answer=False)
    if not (row.get("reference") or "").strip():
        problems.append("empty reference answer")
    return problems


CORRECTIONS = Kind("corrections", "corrections", "records", False, False,
                   "correction records: input, the model's error, the human ground truth, full provenance",
                   _corrections, _corrections_problems)
GOLDEN = Kind("golden", "golden", "test", False, False,
              "golden evaluation set: prompt and reference answer per item, with cluster and tags", _golden,
              _golden_problems)
