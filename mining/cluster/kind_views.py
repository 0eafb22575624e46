"""Reading failure kinds back: the kinds of a run, the mode x kind table, and the kinds that cut
across modes, in sentences a meeting reads ("8 of 9 modes get: Answers “Please call our…”").

Why a kind "is in" a mode only past SPREAD_SHARE of its failures: one stray call of a kind in a
mode is noise; a kind that takes a real share of many modes is one fix that helps all of them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mining.cluster.kinds import OTHER
from mining.cluster.views import NOISE, run_or_latest
from mining.common import plural
from mining.sql_filter import Where
from mining.store import Workspace

SPREAD_SHARE = 0.1  # a kind counts as in a mode from this share of the mode's failures (and 2 calls)


@dataclass(frozen=True)
class ModeKindTable:
    """Failures per (mode, kind) of one run: `modes` and `kinds` in display order, `counts` keyed
    by (mode id, kind id), and the failures of each mode."""

    modes: list[dict[str, Any]]  # {"id", "name"}, biggest impact first; -1 "Unclustered" last
    kinds: list[dict[str, Any]]  # as list_kinds gives them
    counts: dict[tuple[int, int], int]
    mode_failures: dict[int, int]

    def spread(self, kind_id: int) -> list[int]:
        """The modes this kind takes a real share of (SPREAD_SHARE and at least two calls)."""
        return [mode["id"] for mode in self.modes if mode["id"] != NOISE
                and self.cell(mode["id"], kind_id) >= max(2, SPREAD_SHARE * self.mode_failures.get(mode["id"], 0))]

    def cell(self, mode_id: int, kind_id: int) -> int:
        """Failures of this mode of this kind (0 when none)."""
        return self.counts.get((mode_id, kind_id), 0)

    def present_kinds(self) -> list[dict[str, Any]]:
        """The kinds that at least one shown mode has."""
        return [kind for kind in self.kinds if any(self.cell(mode["id"], kind["id"]) for mode in self.modes)]

    def sentences(self) -> list[str]:
        """The kinds in two modes or more, widest first: "8 of 9 modes get: Refusal (212 calls)"."""
        modes = sum(1 for mode in self.modes if mode["id"] != NOISE)
        spreads = [(len(self.spread(kind["id"])), kind) for kind in self.kinds if kind["id"] != OTHER]
        return [f"{spread} of {plural(modes, 'mode')} get: {kind['name']} ({plural(kind['size'], 'call')})"
                for spread, kind in sorted(spreads, key=lambda pair: (-pair[0], -pair[1]["size"])) if spread >= 2]


def list_kinds(workspace: Workspace, run_id: str | None = None) -> list[dict[str, Any]]:
    """The run's failure kinds, biggest first and "Other failures" last: id, name, signals (stored
    names), basis ('signals', 'answer', 'other'), size, example (a record id). Empty for a run made
    before kinds existed."""
    run_id = run_or_latest(workspace, run_id)
    if run_id is None:
        return []
    cursor = workspace.cursor()
    cursor.execute("""SELECT kind_id AS id, name, signals, basis, size, example FROM failure_kinds WHERE run_id = ?
                      ORDER BY kind_id = ?, size DESC, kind_id""", [run_id, OTHER])
    columns = [column[0] for column in cursor.description]
    kinds = [dict(zip(columns, row)) for row in cursor.fetchall()]
    for kind in kinds:
        kind["signals"] = json.loads(kind["signals"]) if kind["signals"] else []
    return kinds


def kind_names(workspace: Workspace) -> dict[int, str]:
    """Kind id -> name in the latest run, for pickers; empty before the first run."""
    return {kind["id"]: kind["name"] for kind in list_kinds(workspace)}


def mode_kind_table(workspace: Workspace, modes: list[dict[str, Any]], run_id: str | None = None,
                    since: datetime | None = None, until: datetime | None = None) -> ModeKindTable:
    """Failures per mode and kind of the run, of calls made in [since, until) when given; `modes`
    are the modes to show ({"id", "name"}, as list_clusters gives them), in their order."""
    run_id = run_or_latest(workspace, run_id)
    kinds = list_kinds(workspace, run_id)
    counts: dict[tuple[int, int], int] = {}
    if run_id is not None:
        where = Where()
        where.add("k.run_id = $run_id", run_id=run_id)
        where.between("r.ts", since, until)
        for mode_id, kind_id, calls in workspace.cursor().execute(f"""
                SELECT m.cluster_id, k.kind_id, count(*) FROM kind_members k
                JOIN cluster_members m ON m.run_id = k.run_id AND m.record_id = k.record_id
                JOIN records r ON r.record_id = k.record_id
                WHERE {where.sql} GROUP BY ALL""", where.params).fetchall():
            counts[(mode_id, kind_id)] = calls
    failures: dict[int, int] = {}
    for (mode_id, _), calls in counts.items():
        failures[mode_id] = failures.get(mode_id, 0) + calls
    shown = [{"id": mode["id"], "name": mode["name"] or f"Mode {mode['id']}"} for mode in modes
             if mode.get("status") != "gone"]
    if failures.get(NOISE):
        shown.append({"id": NOISE, "name": "Unclustered"})
    return ModeKindTable(shown, kinds, counts, failures)


def kinds_of_mode(workspace: Workspace, cluster_id: int, run_id: str | None = None) -> list[dict[str, Any]]:
    """The kinds of one mode's failures, most calls first: id, name, calls."""
    run_id = run_or_latest(workspace, run_id)
    if run_id is None:
        return []
    rows = workspace.cursor().execute("""
        SELECT f.kind_id, f.name, count(*) AS calls FROM kind_members k
        JOIN cluster_members m ON m.run_id = k.run_id AND m.record_id = k.record_id
        JOIN failure_kinds f ON f.run_id = k.run_id AND f.kind_id = k.kind_id
        WHERE k.run_id = ? AND m.cluster_id = ? GROUP BY ALL ORDER BY calls DESC, f.kind_id""",
                                      [run_id, cluster_id]).fetchall()
    return [{"id": kind_id, "name": name, "calls": calls} for kind_id, name, calls in rows]
