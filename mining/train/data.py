"""The training data: an export folder's SFT rows and DPO pairs, checked before any model is loaded.

Why read the export folder and not the workspace: the folder is the versioned, hashed dataset a team
keeps (mining/export/writer.py), so a trained adapter can always name exactly what it learnt from.
A folder without a manifest, with files whose hashes no longer match, or with too few rows to
learn from is refused with the reason and what would help, before minutes go into loading a model.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mining.train.settings import MIN_ROWS, TrainingError

MANIFEST = "manifest.json"
KIND_OF_STAGE = {"sft": "sft", "dpo": "dpo"}  # the export kind each stage learns from


@dataclass(frozen=True)
class TrainingData:
    """What one run learns from: per stage, the JSONL file of its rows and how many there are."""

    folder: Path
    manifest: dict[str, Any]
    manifest_sha256: str
    files: dict[str, Path]
    rows: dict[str, int]

    @property
    def name(self) -> str:
        return f"{self.manifest.get('name', self.folder.name)}-v{self.manifest.get('version', '?')}"

    def hashes(self) -> dict[str, str]:
        """The sha256 of each file trained on, as the manifest recorded it (and checked on reading)."""
        return {stage: self.manifest["files"][self._relative(path)]["sha256"] for stage, path in self.files.items()}

    def _relative(self, path: Path) -> str:
        return path.relative_to(self.folder).as_posix()


def read_training_data(folder: Path, stages: tuple[str, ...]) -> TrainingData:
    """The export in `folder` as training data for `stages`; TrainingError says what is wrong."""
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise TrainingError(f"{folder} is not an export folder: it has no {MANIFEST} (make one with `faultline export`)")
    raw = manifest_path.read_bytes()
    try:
        manifest = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise TrainingError(f"{manifest_path}: not valid JSON (line {exc.lineno}: {exc.msg})") from exc
    files, rows = {}, {}
    for stage in stages:
        kind = KIND_OF_STAGE[stage]
        entry = manifest.get("kinds", {}).get(kind)
        path = folder / entry["config"] / f"{entry['split']}.jsonl" if entry else None
        count = int(entry["rows"]) if entry else 0
        if path is None or not path.is_file() or count < MIN_ROWS:
            raise TrainingError(_too_few(folder, manifest, stage, kind, count))
        _check_hash(folder, manifest, path)
        files[stage], rows[stage] = path, count
    return TrainingData(folder, manifest, hashlib.sha256(raw).hexdigest(), files, rows)


def _check_hash(folder: Path, manifest: dict[str, Any], path: Path) -> None:
    """Refuse a file changed since the export wrote it: the card would name data it was not trained on."""
    relative = path.relative_to(folder).as_posix()
    recorded = manifest.get("files", {}).get(relative, {}).get("sha256")
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    if recorded != actual:
        raise TrainingError(f"{path}: changed since it was exported (sha256 {actual[:12]}, the manifest says "
                            f"{(recorded or 'nothing')[:12]}); export again rather than editing an export")


def _too_few(folder: Path, manifest: dict[str, Any], stage: str, kind: str, count: int) -> str:
    """Why a stage has too little to learn from, and what would give it more."""
    left_out = manifest.get("kinds", {}).get(kind, {}).get("left_out", [])
    reasons: dict[str, int] = {}
    for row in left_out:
        reasons[row["reason"]] = reasons.get(row["reason"], 0) + 1
    said = "; ".join(f"{number} {reason}" for reason, number in sorted(reasons.items(), key=lambda item: -item[1]))
    needs = ("reviewed hard examples with a corrected answer" if kind == "sft"
             else "hard examples whose correction differs from the model's answer")
    return (f"{folder}: {count} {kind.upper()} rows, and training needs at least {MIN_ROWS}"
            + (f" (left out of {kind}: {said})" if said else "")
            + f". Review more {needs}, or export with a smaller golden share, then export again"
            + ("; or train SFT alone (--stages sft)" if stage == "dpo" else "") + ".")
