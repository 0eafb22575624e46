"""Writing a planned export as a versioned folder, and recording it in the workspace.

Why a new folder per version (`NAME-vN/`), written aside and renamed into place: a team keeps every
dataset it ever trained on, a half-written export is never mistaken for a finished one, and the
version number is taken from both the workspace's `exports` table and the folders already in the
output directory, so two workspaces writing to one share never overwrite each other.

The folder holds one sub-folder per kind (`sft/train.jsonl`, `golden/test.parquet`, ...), the
dataset card `README.md`, and `manifest.json`: filters, options, the records selected, the golden
set, each kind's rows (by record id) and left-out records with reasons, file hashes, the app
version and the workspace id. `replay_request(manifest)` makes the same files again.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from mining import __version__
from mining.export.card import dataset_card
from mining.export.files import WRITERS, row_hash, sha256_file
from mining.export.golden import HOLDOUT
from mining.export.partials import OWNER_FILE, PARTIAL_MARK, remove_abandoned_exports
from mining.common import Progress, missing_folder, now_utc
from mining.export.plan import ExportError, ExportPlan, ExportRequest, plan_export
from mining.processes import this_process
from mining.settings import get_setting
from mining.store import Workspace

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class ExportResult:
    """A written export: its id, name, version, folder and the manifest written into it."""

    export_id: str
    name: str
    version: int
    folder: Path
    manifest: dict[str, Any]


def _next_version(workspace: Workspace, name: str, out_dir: Path) -> int:
    row = workspace.cursor().execute("SELECT max(version) FROM exports WHERE name = ?", [name]).fetchone()
    on_disk = [int(m.group(1)) for path in out_dir.glob(f"{name}-v*")
               if (m := re.fullmatch(re.escape(name) + r"-v(\d+)", path.name))] if out_dir.is_dir() else []
    return max([row[0] or 0] + on_disk) + 1


def _kind_files(plan: ExportPlan, staging: Path) -> dict[str, list[str]]:
    """Write each kind's rows in each format; kinds without rows get no file."""
    written: dict[str, list[str]] = {}
    for name, kind_plan in plan.kinds.items():
        if not kind_plan.rows:
            continue
        folder = staging / kind_plan.kind.config
        folder.mkdir(parents=True, exist_ok=True)
        for file_format in plan.request.formats:
            path = folder / f"{kind_plan.kind.split}.{file_format}"
            WRITERS[file_format](path, kind_plan.rows)
            written.setdefault(name, []).append(path.relative_to(staging).as_posix())
    return written


def _manifest(workspace: Workspace, plan: ExportPlan, name: str, version: int, files: dict[str, list[str]],
              staging: Path) -> dict[str, Any]:
    request = plan.request
    return {
        "format": "faultline-export/1", "faultline_version": __version__,
        "workspace_id": get_setting(workspace, "workspace_id"), "name": name, "version": version,
        "created_at": now_utc().isoformat(), "created_by": request.created_by,
        "filters": request.filter.as_json(), "options": request.options(),
        "selected": [example.record_id for example in plan.examples], "golden": plan.golden_ids,
        "golden_added": list(plan.golden_added),
        "kinds": {kind: {"config": kind_plan.kind.config, "split": kind_plan.kind.split, "rows": len(kind_plan.rows),
                         "records": kind_plan.record_ids,
                         "left_out": [{"record_id": row.record_id, "id": row.source_id, "reason": row.reason,
                                       "problem": row.problem} for row in kind_plan.left_out]}
                  for kind, kind_plan in plan.kinds.items()},
        "files": {path: {"sha256": sha256_file(staging / path), "bytes": (staging / path).stat().st_size,
                         "rows": len(plan.kinds[kind].rows)}
                  for kind, paths in files.items() for path in paths},
        "leaks": [{"record_id": leak.record_id, "id": leak.source_id, "golden_id": leak.golden_id,
                   "similarity": leak.similarity, "exact": leak.exact} for leak in plan.leaks],
        "redaction": {"enabled": request.redact, "masked": plan.redaction, "distinct": plan.redaction_distinct},
        "token_counts": "exact" if plan.exact_tokens else "estimated",
        "warnings": plan.warnings,
    }


def report_summary(plan: ExportPlan) -> dict[str, Any]:
    """The short report kept in the workspace and shown in the history."""
    return {"kinds": {name: {"rows": len(p.rows), "left_out": len(p.left_out), "problems": len(p.problems),
                             "over_token_limit": p.over_limit} for name, p in plan.kinds.items()},
            "selected": len(plan.examples), "golden": len(plan.golden), "leaks": len(plan.leaks),
            "redaction": plan.redaction, "warnings": plan.warnings}


def _record(workspace: Workspace, export_id: str, name: str, version: int, folder: Path, plan: ExportPlan,
            manifest: dict[str, Any]) -> None:
    items: list[tuple[str, str, str | None, str, str | None, str | None]] = []
    for kind, kind_plan in plan.kinds.items():
        items += [(kind, record_id, kind_plan.kind.split, "written", None, row_hash(row))
                  for record_id, row in zip(kind_plan.record_ids, kind_plan.rows)]
        items += [(kind, row.record_id, None, "left_out", row.reason, None) for row in kind_plan.left_out]
    # One INSERT from an Arrow table found by this local variable's name (DuckDB's replacement scan),
    # as mining.review.events does: executemany takes seconds for a few thousand rows.
    new_export_items = pa.table({column: pa.array([item[n] for item in items], pa.string()) for n, column in  # noqa: F841
                                 enumerate(("kind", "record_id", "split", "status", "reason", "row_hash"))})
    with workspace.transaction() as cursor:
        if plan.golden_added:
            cursor.executemany("INSERT OR IGNORE INTO golden (record_id, method, added_by, added_at) VALUES (?, ?, ?, ?)",
                               [[record_id, HOLDOUT, plan.request.created_by, manifest["created_at"]]
                                for record_id in plan.golden_added])
        cursor.execute("INSERT INTO exports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       [export_id, name, version, str(folder), manifest["created_at"], plan.request.created_by,
                        list(plan.kinds), json.dumps(manifest, ensure_ascii=False),
                        json.dumps(report_summary(plan), ensure_ascii=False)])
        cursor.execute("INSERT INTO export_items SELECT ?, kind, record_id, split, status, reason, row_hash"
                       " FROM new_export_items", [export_id])


def tag_names(workspace: Workspace) -> dict[str, str]:
    return dict(workspace.cursor().execute("SELECT tag_id, name FROM tags").fetchall())


def write_export(workspace: Workspace, plan: ExportPlan, out_dir: str | Path) -> ExportResult:
    """Write `plan` as `out_dir/NAME-vN/` and record it; returns where it went."""
    name = plan.request.name
    if not any(kind.rows for kind in plan.kinds.values()):
        raise ExportError("nothing to write: no kind has a row (see what was left out and why); no version was made")
    out_dir = output_folder(out_dir)
    try:
        out_dir.mkdir(exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot create {out_dir}: {exc.strerror or exc}") from exc
    remove_abandoned_exports(out_dir)  # what an export killed half way left here
    with workspace.write_lock:
        version = _next_version(workspace, name, out_dir)
        folder = out_dir / f"{name}-v{version}"
        staging = out_dir / f".{name}-v{version}{PARTIAL_MARK}{uuid.uuid4().hex[:8]}"
        try:
            staging.mkdir()
            (staging / OWNER_FILE).write_text(this_process(), encoding="utf-8")
            files = _kind_files(plan, staging)
            title = f"{name} v{version}"
            (staging / "README.md").write_text(dataset_card(plan, title, files, tag_names(workspace)), encoding="utf-8")
            manifest = _manifest(workspace, plan, name, version, files, staging)
            (staging / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
            (staging / OWNER_FILE).unlink()
            staging.rename(folder)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise ExportError(f"cannot write the export to {out_dir}: {exc.strerror or exc}") from exc
        export_id = uuid.uuid4().hex
        _record(workspace, export_id, name, version, folder, plan, manifest)
    return ExportResult(export_id, name, version, folder, manifest)


def read_manifest(path: str | Path) -> dict[str, Any]:
    """A manifest from its file or its export folder, checked enough to replay."""
    path = Path(path).expanduser()
    if path.is_dir():
        path = path / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ExportError(f"cannot read the manifest {path}: {exc}") from exc
    missing = [key for key in ("name", "options", "selected", "golden") if key not in manifest]
    if missing or manifest.get("format") != "faultline-export/1":
        raise ExportError(f"{path} is not a Faultline export manifest (missing {', '.join(missing) or 'format'})")
    return manifest


def output_folder(out_dir: str | Path) -> Path:
    """The folder that receives NAME-vN/, resolved. It may be new, but its parent must exist: a
    mistyped path is refused rather than answered with a tree of new folders."""
    folder = Path(out_dir).expanduser().resolve()
    if folder.exists() and not folder.is_dir():
        raise ExportError(f"{folder} is a file, not a folder")
    if not folder.exists() and (parent := missing_folder(folder)) is not None:
        raise ExportError(f"cannot create {folder}: the folder {parent} does not exist (create it first)")
    return folder


def make_export(workspace: Workspace, request: ExportRequest, out_dir: str | Path,
                progress: Progress | None = None) -> tuple[ExportPlan, ExportResult]:
    """Plan and write in one call (the command line's and the page's Export button)."""
    plan = plan_export(workspace, request, progress)
    return plan, write_export(workspace, plan, out_dir)
