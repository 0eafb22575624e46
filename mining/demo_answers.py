"""Two candidate answer files for the demo's golden set, so evaluation can be tried end to end.

Why two: evaluation is read as a comparison (is the fine-tune better than production, and where?).
`production.jsonl` holds what the production model actually answered (the logged, reviewed-as-wrong
answers); `finetuned.jsonl` plays a fine-tuned model: the reference answer for most items, an honest
"I don't know" for some, and the old wrong answer for the rest, chosen by a hash of the id so the
files are the same on every machine. Both are in the default candidate format: {"id", "answer"}.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from mining.common import missing_folder
from mining.evaluate.items import golden_set
from mining.export.golden import golden_examples
from mining.export.messages import answer_text
from mining.store import Workspace

ABSTAIN = "I don't know; please contact support so a person can check your account."


def _bucket(source_id: str) -> int:
    return int(hashlib.sha256(source_id.encode("utf-8")).hexdigest()[:8], 16) % 100


def write_candidates(workspace: Workspace, folder: str | Path) -> tuple[Path, Path]:
    """Write production.jsonl and finetuned.jsonl for the golden items with a reference answer."""
    folder = Path(folder).expanduser()
    if (parent := missing_folder(folder)) is not None:
        raise FileNotFoundError(f"cannot create {folder}: the folder {parent} does not exist (create it first)")
    folder.mkdir(exist_ok=True)
    items = golden_set(workspace).items
    logged = {e.record_id: answer_text(e.response) for e in golden_examples(workspace)}
    production, finetuned = folder / "production.jsonl", folder / "finetuned.jsonl"
    with production.open("w", encoding="utf-8") as old, finetuned.open("w", encoding="utf-8") as new:
        for item in items:
            bucket = _bucket(item.source_id)
            tuned = item.reference if bucket < 70 else ABSTAIN if bucket < 85 else logged[item.record_id]
            old.write(json.dumps({"id": item.source_id, "answer": logged[item.record_id]}, ensure_ascii=False) + "\n")
            new.write(json.dumps({"id": item.source_id, "answer": tuned}, ensure_ascii=False) + "\n")
    return production, finetuned
