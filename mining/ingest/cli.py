"""The `ingest` command: load log files or folders; one line per file, FAILED lines for files that
could not be read (the others still go in), exit 1 when any failed."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mining.cli_base import EXIT_OK, AddCommand, CommandFailed, progress_bar
from mining.common import plural
from mining.store import Workspace


NEXT_STEP = ("next: `faultline cluster` groups the failures into failure modes; `faultline app` opens them "
             "in the browser")


def print_ingest_reports(reports: list, as_json: bool) -> int:
    """Each file's report (or all as JSON); raises CommandFailed naming the first file that failed."""
    if as_json:
        print(json.dumps([report.as_json() for report in reports], indent=2, default=str))
    else:
        for report in reports:
            if report.error:
                if len(reports) > 1:
                    print(f"FAILED  {report.error}")
                continue
            print(
                f"{report.file} [{report.format}]: {plural(report.rows_read, 'row')} read, {report.rows_added:,} added, "
                f"{report.rows_present:,} already present, {report.rows_quarantined:,} quarantined"
                + (f", {report.rows_skipped:,} skipped (not LLM calls)" if report.rows_skipped else "")
                + (f", {plural(report.scores_read, 'score')}" if report.scores_read else "")
                + (f", {report.rows_resolved:,} quarantined before and now resolved" if report.rows_resolved else "")
            )
            for sample in report.quarantine_samples[:5]:
                where = f" line {sample['line']}" if sample["line"] is not None else ""  # None: the file's end
                print(f"  quarantined{where}: {sample['reason']}")
            if report.rows_quarantined > 5:
                print("  ... see all with the Ingest page or the quarantine table")
    failed = [report for report in reports if report.error]
    if failed:
        more = len(failed) - 1
        raise CommandFailed(failed[0].error + (f" (and {plural(more, 'more file')} failed)" if more else ""))
    if not as_json and any(report.rows_added for report in reports):
        print(NEXT_STEP, file=sys.stderr)  # stderr: stdout stays one line per file for scripts
    return EXIT_OK


def command_ingest(workspace: Workspace, args: argparse.Namespace) -> int:
    from mining.ingest.pipeline import ingest_paths
    from mining.ingest.shapes import make_shape
    from mining.ingest.shapes.generic import ColumnMapping

    try:
        mapping = ColumnMapping.parse(args.map) if args.map else None
        if args.format:
            make_shape(args.format)
    except ValueError as exc:
        raise CommandFailed(str(exc)) from exc
    if mapping and args.format not in (None, "generic"):
        raise CommandFailed("--map applies to --format generic only")
    update, close = progress_bar(not args.quiet and not args.json)
    try:
        reports = ingest_paths(workspace, [Path(p) for p in args.paths], format=args.format,
                               mapping=mapping, progress=update)
    except Exception as exc:  # a missing path is the usual cause
        raise CommandFailed(str(exc)) from exc
    finally:
        close()
    if not reports:
        raise CommandFailed(f"no log files found in {' '.join(args.paths)}")
    return print_ingest_reports(reports, args.json)


def add_commands(add: AddCommand) -> None:
    """Register `ingest` with the entry point's `add(name, handler, help)`."""
    ingest = add("ingest", command_ingest, "Load log files or folders into the workspace.")
    ingest.add_argument("paths", nargs="+", metavar="PATH", help="log files or folders (JSONL, JSON, CSV, Parquet, .gz)")
    ingest.add_argument("--format", "-f", help="skip detection: openai, otel, phoenix, langfuse, langfuse_scores, langsmith or generic")
    ingest.add_argument("--map", "-m", action="append", metavar="FIELD=COLUMN",
                        help="generic tables: map a column to a field (input, output, time, model, feedback, comment, "
                             "expected_output, id, trace_id, session_id, user_id, system, error, latency_ms); "
                             "also feedback_scale=thumbs|rating|score and day_first=true|false; repeatable")
    ingest.add_argument("--json", action="store_true", help="print the per-file reports as JSON")
    ingest.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
