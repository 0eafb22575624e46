"""The golden items an evaluation scores: prompt, reference answer, failure mode, tags and checks.

Why built from the same reviewed examples as the golden export (mining.export.selection) and
masked by default: a candidate file is usually made from the exported `golden/test.jsonl`, whose
prompts and references are redacted, so the references scored against are masked too, and a
prompt sent to an endpoint outside the company must not carry a customer's e-mail. Items are
masked in record-id order with a Redactor of their own: placeholder numbers can differ from an
export's (which numbers training and golden rows together), which matters only to `exact` or
`contains` checks on answers that repeat a masked value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mining.export.golden import golden_examples
from mining.export.messages import answer_text, openai_tools, prompt, redacted
from mining.export.redact import Redactor
from mining.store import Workspace


@dataclass(frozen=True)
class GoldenItem:
    """One golden item, as evaluation sees it (`checks` None: the run's checks apply)."""

    record_id: str
    source_id: str
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None
    input: str | None
    reference: str
    cluster_id: int
    cluster: str | None
    tags: tuple[str, ...]
    checks: list[dict[str, Any]] | None


@dataclass(frozen=True)
class GoldenSet:
    """The items with a reference answer, and the golden records left out (source id, reason)."""

    items: list[GoldenItem]
    left_out: list[tuple[str, str]]


def item_checks(workspace: Workspace) -> dict[str, list[dict[str, Any]]]:
    """The checks chosen for single golden items, by record id."""
    rows = workspace.cursor().execute("SELECT record_id, checks FROM golden WHERE checks IS NOT NULL").fetchall()
    return {record_id: json.loads(checks) for record_id, checks in rows}


def set_item_checks(workspace: Workspace, record_id: str, checks: list[dict[str, Any]] | None) -> bool:
    """Choose a golden item's own checks (None: back to the run's); False when it is not golden."""
    with workspace.transaction() as cursor:
        found = cursor.execute("SELECT count(*) FROM golden WHERE record_id = ?", [record_id]).fetchone()[0]
        cursor.execute("UPDATE golden SET checks = ? WHERE record_id = ?",
                       [json.dumps(checks) if checks is not None else None, record_id])
    return bool(found)


def golden_set(workspace: Workspace, redact: bool = True) -> GoldenSet:
    """The golden set ready to score, in record-id order."""
    examples = golden_examples(workspace)
    checks = item_checks(workspace)
    redactor = Redactor()
    items, left_out = [], []
    for example in examples:
        if example.target is None:
            left_out.append((example.source_id, "no reference answer yet (review it and write the correct answer)"))
            continue
        shown = redacted(example, redactor) if redact else example
        items.append(GoldenItem(
            record_id=example.record_id, source_id=example.source_id, messages=prompt(shown, "openai"),
            tools=openai_tools(shown.tools) or None, input=shown.request_text, reference=answer_text(shown.target),
            cluster_id=example.cluster_id, cluster=example.cluster_name, tags=example.tags,
            checks=checks.get(example.record_id)))
    return GoldenSet(items, left_out)
