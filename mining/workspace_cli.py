"""The commands over the workspace as a whole, not one pipeline stage: `demo`, `info`, `show`,
and the failure signals (`detect`, `rules`), which every later stage reads."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mining.cli_base import EXIT_OK, AddCommand, CommandFailed, progress_bar, workspace_option
from mining.common import plural
from mining.ingest.cli import print_ingest_reports
from mining.store import Workspace


def command_demo(workspace: Workspace, args: argparse.Namespace) -> int:
    from mining import demo

    if args.write:
        try:
            path = demo.generate_demo(Path(args.write), seed=args.seed, calls=args.calls)
        except OSError as exc:
            raise CommandFailed(str(exc)) from exc
        print(f"wrote {plural(args.calls, 'demo call')} to {path}")
        return EXIT_OK
    if args.candidates:
        from mining.demo_answers import write_candidates

        try:
            written = write_candidates(workspace, args.candidates)
        except OSError as exc:
            raise CommandFailed(str(exc)) from exc
        for path in written:
            print(path)
        return EXIT_OK
    update, close = progress_bar(not args.quiet and not args.json)
    try:
        reports = demo.load_demo(workspace, seed=args.seed, calls=args.calls, progress=update)
    finally:
        close()
    return print_ingest_reports(reports, args.json)


def command_info(workspace: Workspace, args: argparse.Namespace) -> int:
    from mining.summary import workspace_summary

    summary = workspace_summary(workspace)
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
        return EXIT_OK
    print(f"workspace   {summary['workspace']} (schema {summary['schema_version']})")
    print(f"records     {summary['records']}")
    print(f"quarantined {summary['quarantined']}")
    if summary["first_ts"]:
        print(f"time span   {summary['first_ts']} .. {summary['last_ts']}")
    if summary["by_source"]:
        print("per source:")
        for row in summary["by_source"]:
            print(f"  {row['records']:>8}  {row['format']:<16} {row['source_file']}")
    if summary["quarantine_by_file"]:
        print("quarantine per file:")
        for file, count in summary["quarantine_by_file"].items():
            print(f"  {count:>8}  {file}")
    return EXIT_OK


def command_show(workspace: Workspace, args: argparse.Namespace) -> int:
    from mining.browse import get_record

    record = get_record(workspace, args.id)
    if record is None:
        raise CommandFailed(f"no record with id {args.id!r}")
    if args.json:
        print(json.dumps(record, indent=2, default=str, ensure_ascii=False))
        return EXIT_OK
    print(f"record {record['record_id']} (source id {record['source_id']}) from {record['source_file']}:{record['source_line']}")
    print(f"time {record['ts']}  model {record['model']}  status {record['status']}  finish {record['finish_reason']}")
    for message in record.get("input_messages") or []:
        print(f"[{message.get('role')}] {message.get('content') or ''}")
        for call in message.get("tool_calls") or []:
            print(f"    tool call {call.get('name')}({json.dumps(call.get('arguments'), ensure_ascii=False)})")
    print(f"[response] {record.get('response_text') or ''}")
    for call in record.get("tool_calls") or []:
        print(f"    tool call {call.get('name')}({json.dumps(call.get('arguments'), ensure_ascii=False)})")
    if record.get("error"):
        print(f"error: {record['error']}")
    if record.get("feedback"):
        print(f"feedback score {record['feedback_score']}: {json.dumps(record['feedback'], ensure_ascii=False)}")
    return EXIT_OK


def command_detect(workspace: Workspace, args: argparse.Namespace) -> int:
    from mining.detect import detect, signal_labels

    summary = detect(workspace)
    if args.json:
        print(json.dumps(summary.as_json(), indent=2))
        return EXIT_OK
    labels = signal_labels(workspace)
    for name, count in summary.counts.items():
        print(f"  {count:>8,}  {labels.get(name, name)}")
    share = f" ({summary.failures / summary.total:.0%})" if summary.total else ""
    print(f"{plural(summary.failures, 'failure')} in {plural(summary.total, 'record')}{share}, "
          f"in {summary.seconds:.2f} s")
    return EXIT_OK


def command_rules(workspace: Workspace, args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from mining.detect import RULE_PREFIX, SignalSettingsError, add_rule, list_rules, remove_rule

    try:
        if args.rules_command == "add":
            summary = add_rule(workspace, args.name, args.condition, args.description)
            print(f"rule {args.name} saved; it flags "
                  f"{plural(summary.counts.get(RULE_PREFIX + args.name.strip(), 0), 'record')}")
        elif args.rules_command == "remove":
            remove_rule(workspace, args.name)
            print(f"rule {args.name} removed")
        elif args.json:
            print(json.dumps([asdict(rule) for rule in list_rules(workspace)], indent=2))
        else:
            for rule in list_rules(workspace):
                print(f"{rule.name}{'' if rule.enabled else ' (off)'}: {rule.condition}"
                      + (f"  -- {rule.description}" if rule.description else ""))
    except SignalSettingsError as exc:
        raise CommandFailed(str(exc)) from exc
    return EXIT_OK


def add_commands(add: AddCommand) -> None:
    """Register `demo`, `info`, `show`, `detect` and `rules` with the entry point's `add(name, handler, help)`."""
    demo = add("demo", command_demo, "Load the built-in demo data (a support assistant's log) into the workspace.")
    demo.add_argument("--seed", type=int, default=7, help="random seed (same seed, same data)")
    demo.add_argument("--calls", type=int, default=3000, help="number of calls to generate")
    demo.add_argument("--write", metavar="FILE", help="only write the demo log to FILE (JSONL), do not ingest")
    demo.add_argument("--candidates", metavar="DIR", help="only write two candidate answer files for the golden set "
                                                          "(production.jsonl, finetuned.jsonl) into DIR")
    demo.add_argument("--json", action="store_true", help="print the ingest report as JSON")
    demo.add_argument("--quiet", "-q", action="store_true", help="no progress bar")

    info = add("info", command_info, "Show what the workspace holds: records per source and format, quarantine.")
    info.add_argument("--json", action="store_true", help="one JSON object (keys include records, quarantined)")

    show = add("show", command_show, "Show one record, by the id its source gave it or Faultline's record id.")
    show.add_argument("id", metavar="ID")
    show.add_argument("--json", action="store_true", help="the whole record as JSON")

    detect = add("detect", command_detect, "Recompute the failure signals of every record; print records per signal.")
    detect.add_argument("--json", action="store_true", help="one JSON object: total, failures, counts, seconds")

    rules = add("rules", command_rules, "Manage SQL rules: your own failure signals over the records' columns.")
    rule_commands = rules.add_subparsers(dest="rules_command", metavar="ACTION", required=True)
    rule_add = rule_commands.add_parser("add", help="save a rule (replacing one of the same name) and re-detect")
    rule_add.add_argument("name", metavar="NAME", help="letters, digits, '_' or '-'")
    rule_add.add_argument("condition", metavar="CONDITION", help="a SQL boolean expression, e.g. \"latency_ms > 5000\"")
    rule_add.add_argument("--description", "-d", help="what the rule catches, shown beside its count")
    rule_list = rule_commands.add_parser("list", help="list the rules")
    rule_list.add_argument("--json", action="store_true", help="a JSON list of name, condition, description, enabled")
    rule_remove = rule_commands.add_parser("remove", help="delete a rule and re-detect")
    rule_remove.add_argument("name", metavar="NAME")
    for sub in (rule_add, rule_list, rule_remove):
        workspace_option(sub, argparse.SUPPRESS)
