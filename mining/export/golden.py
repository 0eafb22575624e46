"""The golden set: the records held out for evaluation, chosen by hand or by a stratified hold-out.

Why kept in the workspace (the `golden` table) and not drawn per export: a golden item must stay
out of every training export, this week's and next week's. Drawn afresh each time, last week's
golden items would drift into this week's training data and the scores would measure memory.
So a hold-out only ever tops the set up to the size asked for, keeping the items already in it,
and an export stores the items it drew.

Why stratified across failure modes: evaluation is read per mode ("did the fine-tune fix the
billing answers?"), so every mode with eligible records gets its share, by size (largest
remainder), at least one each while the size allows. Within a mode the pick is by a hash of the
record id, so the same data gives the same golden set on every machine.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass

from mining.common import now_utc
from mining.export.selection import Example, ExportFilter, select_examples
from mining.store import Workspace

HAND, HOLDOUT = "hand", "holdout"


@dataclass(frozen=True)
class GoldenChange:
    """What an add or remove did: ids changed and ids that were already so."""

    changed: tuple[str, ...]
    unchanged: tuple[str, ...]


def golden_ids(workspace: Workspace) -> list[str]:
    """Every golden record id, in record-id order."""
    return [row[0] for row in workspace.cursor().execute("SELECT record_id FROM golden ORDER BY record_id").fetchall()]


def golden_examples(workspace: Workspace, ids: list[str] | None = None) -> list[Example]:
    """The golden records (or `ids`, a pinned golden set) as examples, reviewed or not: a golden item
    nobody reviewed yet is still golden, it only has no reference answer."""
    ids = golden_ids(workspace) if ids is None else ids
    if not ids:  # an empty id list would mean "no restriction" to the filter
        return []
    return select_examples(workspace, ExportFilter(verdicts=(), record_ids=tuple(ids)), reviewed_only=False)


def golden_items(workspace: Workspace) -> list[dict]:
    """The golden set for display: record_id, source_id, method, added_by, added_at, request."""
    cursor = workspace.cursor()
    cursor.execute("""
        SELECT g.record_id, coalesce(r.source_id, g.record_id) AS source_id, g.method, g.added_by, g.added_at,
               left(r.cluster_text, 160) AS request
        FROM golden g LEFT JOIN records r USING (record_id) ORDER BY g.added_at, g.record_id""")
    columns = [column[0] for column in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]


def record_ids_for(workspace: Workspace, keys: list[str]) -> tuple[dict[str, str], list[str]]:
    """The record ids that ids as people paste them name (a source's id or a record id; a record id
    match wins, then the newest record with that source id), and the keys that name no record."""
    cursor = workspace.cursor()
    cursor.execute("""
        SELECT k.key, r.record_id FROM unnest(?::VARCHAR[]) AS k(key)
        JOIN records r ON r.record_id = k.key OR r.source_id = k.key
        QUALIFY row_number() OVER (PARTITION BY k.key ORDER BY r.record_id = k.key DESC, r.ts DESC NULLS LAST,
                                   r.record_id) = 1""", [keys])
    found = dict(cursor.fetchall())
    return {key: found[key] for key in keys if key in found}, [key for key in keys if key not in found]


def add_golden(workspace: Workspace, record_ids: list[str], added_by: str | None = None,
               method: str = HAND) -> GoldenChange:
    """Put records in the golden set (ids must name records; see mining.browse.get_record)."""
    with workspace.transaction() as cursor:
        present = {row[0] for row in cursor.execute(
            "SELECT record_id FROM golden WHERE record_id IN (SELECT unnest(?::VARCHAR[]))", [record_ids]).fetchall()}
        new = [record_id for record_id in dict.fromkeys(record_ids) if record_id not in present]
        if new:
            cursor.executemany("INSERT INTO golden (record_id, method, added_by, added_at) VALUES (?, ?, ?, ?)",
                               [[record_id, method, added_by, now_utc()] for record_id in new])
    return GoldenChange(tuple(new), tuple(sorted(present)))


def remove_golden(workspace: Workspace, record_ids: list[str]) -> GoldenChange:
    """Take records out of the golden set; they may appear in training exports again."""
    with workspace.transaction() as cursor:
        present = [row[0] for row in cursor.execute(
            "SELECT record_id FROM golden WHERE record_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY record_id",
            [record_ids]).fetchall()]
        cursor.execute("DELETE FROM golden WHERE record_id IN (SELECT unnest(?::VARCHAR[]))", [present])
    return GoldenChange(tuple(present), tuple(sorted(set(record_ids) - set(present))))


def _rank(record_id: str) -> str:
    return hashlib.sha256(record_id.encode("utf-8")).hexdigest()


def _shares(sizes: dict[int, int], wanted: int) -> dict[int, int]:
    """`wanted` split across strata in proportion to their sizes: one each first while `wanted`
    allows (largest strata first), the rest by largest remainder, never more than a stratum holds."""
    shares = {stratum: 0 for stratum in sizes}
    order = sorted(sizes, key=lambda stratum: (-sizes[stratum], stratum))
    for stratum in order[:wanted]:
        shares[stratum] = 1
    left = wanted - sum(shares.values())
    total = sum(sizes.values())
    while left > 0:
        room = {s: sizes[s] - shares[s] for s in order if sizes[s] > shares[s]}
        if not room:
            break
        quotas = {s: left * sizes[s] / total for s in room}
        floors = {s: min(int(quotas[s]), room[s]) for s in room}
        if not sum(floors.values()):
            best = max(room, key=lambda s: (quotas[s] - int(quotas[s]), sizes[s], -s))
            floors[best] = 1
        for stratum, extra in floors.items():
            shares[stratum] += extra
        left -= sum(floors.values())
    return shares


def stratified_pick(candidates: list[Example], wanted: int, twins: dict[str, int] | None = None) -> list[str]:
    """`wanted` record ids from `candidates`, stratified by failure mode (see the module docstring);
    within a mode those with the fewest `twins` first (see `holdout`), then by a hash of the id."""
    by_mode: dict[int, list[str]] = defaultdict(list)
    for example in candidates:
        by_mode[example.cluster_id].append(example.record_id)
    shares = _shares({mode: len(ids) for mode, ids in by_mode.items()}, min(wanted, len(candidates)))
    twins = twins or {}
    picked = []
    for mode, ids in sorted(by_mode.items()):
        picked += sorted(ids, key=lambda record_id: (twins.get(record_id, 0), _rank(record_id)))[:shares[mode]]
    return sorted(picked)


def holdout(current: list[str], candidates: list[Example], size: int, twins: dict[str, int] | None = None) -> list[str]:
    """The record ids a stratified hold-out of `candidates` adds to grow the golden set `current`
    to `size` items: only candidates with a reference answer that are not golden yet; nothing when
    the set is already that big. Pure: the writer stores them (method "holdout") with the export.

    `twins` (mining.export.leakage.twin_counts) says, per candidate, how many others the leak guard
    would keep out of training were it golden. Drawn from the most distinct requests, the golden set
    leaves the training data: on the demo, items drawn by hash alone sat among near duplicates of
    everything reviewed in their modes, and the first preview had no SFT, DPO or KTO row."""
    taken = set(current)
    eligible = [example for example in candidates if example.record_id not in taken and example.target is not None]
    wanted = size - len(taken)
    return stratified_pick(eligible, wanted, twins) if wanted > 0 and eligible else []
