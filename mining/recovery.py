"""Putting right what a killed process left half done, when the next one takes the workspace.

Why: a command or the app can be killed at any moment (kill -9, a closed laptop, the kernel's
out-of-memory killer), and its transactions keep the data whole, but three kinds of work span more
than one transaction or live outside the file:
- an ingest commits its records, then detection computes their signals: killed in between, those
  records would never reach Failures or Review;
- a clustering run is written as 'running' when it starts: killed, it would stay 'running';
- an export is assembled in a hidden `.NAME-vN.partial-*` folder and renamed when complete:
  killed, the folder would stay.
Each is checked at the start of every command and every page run (a few cheap queries), and put right;
an export also clears its destination's abandoned folders before it writes.
"""

from __future__ import annotations

from pathlib import Path

from mining.detect import detect, signals_stale
from mining.export.partials import remove_abandoned_exports
from mining.processes import is_gone
from mining.store import Workspace

INTERRUPTED = "interrupted: the process running it stopped (killed or crashed) before it finished"


def recover(workspace: Workspace) -> list[str]:
    """Repair what interrupted work left behind; one sentence per repair, for the log or the page."""
    notes = []
    if signals_stale(workspace):
        summary = detect(workspace)
        notes.append(f"failure signals were out of date (work that changed records or settings stopped before "
                     f"detection ran): recomputed, {summary.failures:,} failures in {summary.total:,} records")
    runs = mark_interrupted_runs(workspace)
    if runs:
        notes.append(f"{runs} clustering run(s) marked failed: {INTERRUPTED}")
    folders = {Path(row[0]).parent for row in workspace.cursor().execute("SELECT folder FROM exports").fetchall()}
    for folder in sorted(folders | {workspace.path.parent / "exports"}):
        for partial in remove_abandoned_exports(folder):
            notes.append(f"removed {partial}, an export that stopped before it was complete")
    return notes


def mark_interrupted_runs(workspace: Workspace) -> int:
    """Mark failed the 'running' clustering runs whose process is gone (or was never recorded)."""
    running = workspace.cursor().execute(
        "SELECT run_id, owner FROM cluster_runs WHERE status = 'running'").fetchall()
    dead = [run_id for run_id, owner in running if owner is None or is_gone(owner)]
    if dead:
        with workspace.transaction() as cursor:
            cursor.executemany("UPDATE cluster_runs SET status = 'failed', finished_at = now(), message = ?"
                               " WHERE run_id = ? AND status = 'running'", [[INTERRUPTED, run_id] for run_id in dead])
    return len(dead)
