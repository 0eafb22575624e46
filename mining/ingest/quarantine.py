"""An ingest's bad lines, and what becomes of the lines quarantined by earlier ingests of the file.

Why one place: both ingest paths (row by row, and the vectorised OpenAI one) quarantine lines, and a
line must be kept, counted and later cleared the same way whichever path read it.

An ingest collects its problems (line, reason, raw text) in a temporary table and settles them
into `quarantine` when the file is done, inside the file's transaction (a failed ingest changes
nothing):
- a problem quarantine already holds (same file, line, reason and raw text) is kept once, however
  often the file is ingested;
- an entry for this file that this ingest did not find again is resolved and deleted: its line now
  reads (a half-written last line completed, a line mended by hand), or is gone from the file. The
  file as it is now is what the Quarantine page shows;
- an entry for another file of the same name (the app saves each upload in a folder of its own, so
  uploading a file again gives it a new path) is resolved when this ingest stored, at the same line,
  a call whose raw text begins with the quarantined text: the half-written line, now whole.
Deleted rather than marked: a resolved entry leaves nothing to fix, and the ingest log (`ingests`)
still says how many lines each ingest quarantined.
"""

from __future__ import annotations

import bisect
from typing import Any

import pyarrow as pa

from mining.ingest.file_report import IngestReport
from mining.ingest.record import storable_text


SAMPLES = 20  # quarantined lines shown in the report; all are on the Quarantine page
_BATCH = 5000
_SCHEMA = pa.schema([("line", pa.int64()), ("reason", pa.string()), ("raw", pa.string())])
_SAME_PROBLEM = "q.line IS NOT DISTINCT FROM p.line AND q.reason = p.reason AND q.raw IS NOT DISTINCT FROM p.raw"


def _line_key(sample: dict[str, Any]) -> tuple[bool, int]:
    """Samples in line order, a problem with no line (the end of a cut gzip file) last."""
    return sample["line"] is None, sample["line"] or 0


class Quarantine:
    """This ingest's bad lines: collected with `add`, then `settle`d into `quarantine` (see the module)."""

    def __init__(self, cursor: Any, report: "IngestReport", file: str) -> None:
        self.cursor = cursor
        self.report = report
        self.file = file
        self.conflicts = 0  # rows that were calls, quarantined because their id holds another call
        self._pending: list[tuple[int | None, str, str]] = []
        cursor.execute("CREATE OR REPLACE TEMP TABLE ingest_problems (line BIGINT, reason VARCHAR, raw VARCHAR)")

    def add(self, line: int | None, reason: str, raw: str | None) -> None:
        """Quarantine one bad line (or bad part of a line), counted in the report."""
        reason, kept = storable_text(reason) or "", storable_text(raw) or ""
        self.report.rows_quarantined += 1
        self._sample(line, reason, kept)
        self._pending.append((line, reason, kept))
        if len(self._pending) >= _BATCH:
            self.flush()

    def _sample(self, line: int | None, reason: str, raw: str) -> None:
        """Keep the report's samples as the first lines of the file, whichever order the lines were judged in
        (the vectorised path judges duplicates block by block, the other batch by batch)."""
        samples = self.report.quarantine_samples
        key = (line is None, line or 0)
        if len(samples) >= SAMPLES and key >= _line_key(samples[-1]):
            return
        bisect.insort(samples, {"line": line, "reason": reason, "raw": raw[:500]}, key=_line_key)
        del samples[SAMPLES:]

    def flush(self) -> None:
        """Move the pending problems into the temporary table, so memory stays flat."""
        if not self._pending:
            return
        lines, reasons, raws = zip(*self._pending)
        self.cursor.register("new_problems", pa.Table.from_arrays(
            [pa.array(lines, pa.int64()), pa.array(reasons, pa.string()), pa.array(raws, pa.string())],
            schema=_SCHEMA))
        self.cursor.execute("INSERT INTO ingest_problems SELECT * FROM new_problems")
        self.cursor.unregister("new_problems")
        self._pending.clear()

    def settle(self, ingest_id: str, source_file: str) -> int:
        """Store this ingest's problems and resolve the entries it no longer finds; how many were resolved."""
        self.flush()
        cursor = self.cursor
        cursor.execute(
            "INSERT INTO quarantine SELECT ?, ?, p.line, p.reason, p.raw, now() FROM ingest_problems p"
            f" WHERE NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.file = ? AND {_SAME_PROBLEM})",
            [ingest_id, self.file, self.file])
        resolved = cursor.execute(
            "DELETE FROM quarantine q WHERE q.file = ?"
            f" AND NOT EXISTS (SELECT 1 FROM ingest_problems p WHERE {_SAME_PROBLEM})", [self.file]).fetchall()[0][0]
        resolved += self._resolve_earlier_copies(ingest_id, source_file)
        cursor.execute("DROP TABLE ingest_problems")
        return resolved

    def _resolve_earlier_copies(self, ingest_id: str, source_file: str) -> int:
        """Entries of same-named files whose line this ingest stored whole (see the module)."""
        others = self.cursor.execute(
            "SELECT count(*) FROM quarantine WHERE file <> ? AND parse_filename(file) = ?",
            [self.file, source_file]).fetchall()[0][0]
        if not others:
            return 0
        return self.cursor.execute(
            "DELETE FROM quarantine q WHERE q.file <> ? AND parse_filename(q.file) = ? AND length(q.raw) > 0"
            " AND EXISTS (SELECT 1 FROM records r WHERE r.ingest_id = ? AND r.source_line = q.line"
            "             AND starts_with(r.raw, q.raw))",
            [self.file, source_file, ingest_id]).fetchall()[0][0]
