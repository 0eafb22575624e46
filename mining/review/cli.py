"""The `review` and `annotations` commands: record a review from a script, and back up or exchange
every review event as JSONL."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mining.cli_base import EXIT_OK, EXIT_USAGE, AddCommand, CommandFailed, workspace_option
from mining.common import plural
from mining.review.events import VERDICTS
from mining.store import Workspace


def command_review(workspace: Workspace, args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from mining.browse import get_record
    from mining.review.events import ReviewError, save_review
    from mining.review.state import reviewer_state

    correction = args.correction
    if args.correction_file:
        try:
            # without the newline an editor ends every file with: it is not part of the answer
            correction = Path(args.correction_file).read_text(encoding="utf-8").rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandFailed(f"cannot read {args.correction_file}: {exc}") from exc
    if args.verdict is None and args.tag is None and correction is None and args.note is None:
        print("error: nothing to record: give --verdict, --tag, --correction, --correction-file or --note",
              file=sys.stderr)
        return EXIT_USAGE
    record = get_record(workspace, args.id)
    if record is None:
        raise CommandFailed(f"no record with id {args.id!r}")
    try:
        events = save_review(workspace, record["record_id"], args.reviewer, verdict=args.verdict, tags=args.tag,
                             correction=correction, note=args.note)
    except ReviewError as exc:
        raise CommandFailed(str(exc)) from exc
    state = reviewer_state(workspace, record["record_id"], args.reviewer.strip())
    source_id = record["source_id"] or record["record_id"]
    if args.json:
        print(json.dumps({"record_id": record["record_id"], "source_id": source_id,
                          "events": [{"event_id": e.event_id, "action": e.action} for e in events],
                          "state": asdict(state)}, indent=2, default=str, ensure_ascii=False))
        return EXIT_OK
    print(f"{source_id}: {len(events)} change{'s' if len(events) != 1 else ''} recorded for {state.reviewer}; "
          f"verdict {state.verdict or '-'}, tags {', '.join(state.tags) or '-'}, "
          f"correction {'yes' if state.correction or state.tool_calls else 'no'}, note {'yes' if state.note else 'no'}")
    return EXIT_OK


def command_annotations(workspace: Workspace, args: argparse.Namespace) -> int:
    from mining.review.events import ReviewError
    from mining.review.exchange import export_annotations, import_annotations

    if args.annotations_command == "export":
        try:
            report = export_annotations(workspace, Path(args.file))
        except OSError as exc:
            raise CommandFailed(f"cannot write {args.file}: {exc.strerror or exc}") from exc
        print(json.dumps(report.as_json(), indent=2) if args.json
              else f"wrote {report.events} review events and {report.tags} tags to {report.file}")
        return EXIT_OK
    try:
        report = import_annotations(workspace, Path(args.file))
    except ReviewError as exc:
        raise CommandFailed(str(exc)) from exc
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
        return EXIT_OK
    print(f"{report.file}: {report.events_read} events read, {report.events_added} added, "
          f"{report.events_present} already present"
          + (f", new tags {', '.join(report.tags_added)}" if report.tags_added else ""))
    if report.missing_records:
        shown = ", ".join(report.missing_records[:5]) + (" ..." if len(report.missing_records) > 5 else "")
        events = report.events_for_missing_records
        print(f"  {plural(events, 'event')} {'is' if events == 1 else 'are'} for "
              f"{plural(len(report.missing_records), 'record')} this workspace does not hold "
              f"(kept; they apply once those logs are ingested): {shown}")
    return EXIT_OK


def add_commands(add: AddCommand) -> None:
    """Register `review` and `annotations` with the entry point's `add(name, handler, help)`."""
    review = add("review", command_review, "Record one review of a record (by the id its source gave it or its "
                                           "record id); only the fields given change.")
    review.add_argument("id", metavar="ID")
    review.add_argument("--reviewer", "-r", required=True, metavar="NAME", help="who reviews")
    review.add_argument("--verdict", choices=VERDICTS, help="the verdict")
    review.add_argument("--tag", "-t", action="append", metavar="T",
                        help="a failure tag (id or name); repeatable; the given tags replace the reviewer's tags")
    corrections = review.add_mutually_exclusive_group()
    corrections.add_argument("--correction", "-c", metavar="TEXT", help="the answer the model should have given")
    corrections.add_argument("--correction-file", metavar="F", help="read the correction from a UTF-8 file")
    review.add_argument("--note", "-n", metavar="TEXT", help="a free-text note")
    review.add_argument("--json", action="store_true", help="one JSON object: record_id, source_id, events, state")

    annotations = add("annotations", command_annotations, "Back up or exchange reviews: every review event as JSONL.")
    annotation_commands = annotations.add_subparsers(dest="annotations_command", metavar="ACTION", required=True)
    annotation_export = annotation_commands.add_parser("export", help="write the taxonomy and every review event")
    annotation_import = annotation_commands.add_parser(
        "import", help="add a file's events this workspace lacks (importing twice adds nothing)")
    for sub in (annotation_export, annotation_import):
        sub.add_argument("file", metavar="FILE")
        sub.add_argument("--json", action="store_true", help="print the report as JSON")
        workspace_option(sub, argparse.SUPPRESS)
