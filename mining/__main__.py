"""The command line: `python -m mining [--workspace W] COMMAND ...`.

This is a contract teams script against: options are only ever added, `--json` output only gains
keys, and exit codes mean the same thing in every command:
  0  it worked (quarantined lines are reported, not failures)
  1  the work failed (a file could not be ingested, a record was not found)
  2  the command line was wrong
  3  the workspace could not be opened
Errors are one line on stderr, starting with "error:".
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Callable, Sequence

from mining.access.cli import add_commands as add_access_commands
from mining.cli_base import (EXIT_FAILED, EXIT_OK, EXIT_USAGE, EXIT_WORKSPACE, CommandFailed, progress_bar,
                             workspace_option)
from mining.cluster.run import SCOPES
from mining.cluster.algorithms import ALGORITHMS
from mining.embed.vectors import BACKENDS, TEXT_CHOICES
from mining.evaluate.cli import add_commands as add_evaluate_commands
from mining.export.cli import add_commands as add_export_commands
from mining.report.cli import add_commands as add_report_commands
from mining.review.events import VERDICTS
from mining.recovery import recover
from mining.store import Workspace, WorkspaceError


def _print_reports(reports: list, as_json: bool) -> int:
    if as_json:
        print(json.dumps([report.as_json() for report in reports], indent=2, default=str))
    else:
        for report in reports:
            if report.error:
                if len(reports) > 1:
                    print(f"FAILED  {report.error}")
                continue
            print(
                f"{report.file} [{report.format}]: {report.rows_read} rows read, {report.rows_added} added, "
                f"{report.rows_present} already present, {report.rows_quarantined} quarantined"
                + (f", {report.rows_skipped} skipped (not LLM calls)" if report.rows_skipped else "")
                + (f", {report.scores_read} scores" if report.scores_read else "")
                + (f", {report.rows_resolved} quarantined before and now resolved" if report.rows_resolved else "")
            )
            for sample in report.quarantine_samples[:5]:
                where = f" line {sample['line']}" if sample["line"] is not None else ""  # None: the file's end
                print(f"  quarantined{where}: {sample['reason']}")
            if report.rows_quarantined > 5:
                print("  ... see all with the Ingest page or the quarantine table")
    failed = [report for report in reports if report.error]
    if failed:
        raise CommandFailed(failed[0].error + (f" (and {len(failed) - 1} more files failed)" if len(failed) > 1 else ""))
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
    return _print_reports(reports, args.json)


def command_demo(workspace: Workspace, args: argparse.Namespace) -> int:
    from mining import demo

    if args.write:
        path = demo.generate_demo(Path(args.write), seed=args.seed, calls=args.calls)
        print(f"wrote {args.calls} demo calls to {path}")
        return EXIT_OK
    if args.candidates:
        from mining.demo_answers import write_candidates

        for path in write_candidates(workspace, args.candidates):
            print(path)
        return EXIT_OK
    update, close = progress_bar(not args.quiet and not args.json)
    try:
        reports = demo.load_demo(workspace, seed=args.seed, calls=args.calls, progress=update)
    finally:
        close()
    return _print_reports(reports, args.json)


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


def command_embed(workspace: Workspace, args: argparse.Namespace) -> int:
    from dataclasses import replace

    from mining.embed.vectors import embed_records, embedding_settings, save_embedding_settings

    given = {key: value for key, value in (("model", args.model), ("backend", args.backend), ("text", args.text),
                                           ("max_seq_length", args.max_seq_length), ("batch_size", args.batch_size))
             if value is not None}
    try:
        settings = replace(embedding_settings(workspace), **given)
        settings.model_path  # a model folder that does not exist fails here, before any work
    except ValueError as exc:
        raise CommandFailed(str(exc)) from exc
    if args.save:
        save_embedding_settings(workspace, settings)
    update, close = progress_bar(not args.quiet and not args.json)
    try:
        report = embed_records(workspace, settings=settings, progress=update)
    finally:
        close()
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
        return EXIT_OK
    print(f"{report.model_id} ({report.text}): {report.embedded} texts embedded, {report.cached} already cached, "
          f"{report.records} records" + (f", {report.empty} without text" if report.empty else "")
          + (f" ({report.texts_per_second:,.0f} texts/s)" if report.embedded else ""))
    return EXIT_OK


def command_cluster(workspace: Workspace, args: argparse.Namespace) -> int:
    from dataclasses import replace

    from mining.cluster.run import ClusterSettings, ClusteringError, run_clustering
    from mining.embed.vectors import embedding_settings

    try:
        settings = ClusterSettings(algorithm=args.algorithm, scope=args.scope, attach_unclustered=not args.no_attach,
                                   min_cluster_size=args.min_cluster_size, seed=args.seed)
        embedding = embedding_settings(workspace)
        embedding = replace(embedding, text=args.text) if args.text else embedding
    except ValueError as exc:
        raise CommandFailed(str(exc)) from exc
    update, close = progress_bar(not args.quiet and not args.json)
    try:
        summary = run_clustering(workspace, settings, embedding, update)
    except ClusteringError as exc:
        raise CommandFailed(str(exc)) from exc
    finally:
        close()
    print(json.dumps(summary.as_json(), indent=2) if args.json else summary.describe())
    return EXIT_OK


def command_clusters(workspace: Workspace, args: argparse.Namespace) -> int:
    from mining.cluster.views import NOISE, latest_run, list_clusters, member_source_ids, source_ids

    if latest_run(workspace) is None:
        raise CommandFailed("no clustering run yet: run `python -m mining cluster` first")
    clusters = list_clusters(workspace)
    examples = source_ids(workspace, [record_id for cluster in clusters for record_id in cluster["examples"]])
    members = member_source_ids(workspace) if args.members else {}
    rows = [{"id": cluster["id"], "name": cluster["name"], "size": cluster["size"], "failures": cluster["failures"],
             "failure_rate": cluster["failure_rate"], "lift": cluster["lift"], "status": cluster["status"],
             "keywords": cluster["keywords"], "examples": [examples[r] for r in cluster["examples"] if r in examples],
             **({"members": members.get(cluster["id"], [])} if args.members else {})}
            for cluster in clusters]
    unclustered = members.get(NOISE, []) if args.members else None
    if args.json:
        if unclustered:
            rows.append({"id": NOISE, "name": "unclustered", "size": len(unclustered), "failures": None,
                         "failure_rate": None, "lift": None, "status": None, "keywords": [], "examples": [],
                         "members": unclustered})
        print(json.dumps(rows, indent=2, default=str))
        return EXIT_OK
    for row in rows:
        rate = "-" if row["failure_rate"] is None else f"{row['failure_rate']:.0%}"
        lift = "-" if row["lift"] is None else f"{row['lift']:.1f}x"
        print(f"{row['id']:>4}  {row['name']}  size {row['size']}  failure rate {rate}  lift {lift}  "
              f"{row['status']}  examples {', '.join(row['examples'])}")
        if args.members:
            print(f"      members {', '.join(row['members'])}")
    if unclustered:
        print(f"{NOISE:>4}  unclustered  size {len(unclustered)}\n      members {', '.join(unclustered)}")
    return EXIT_OK


def command_detect(workspace: Workspace, args: argparse.Namespace) -> int:
    from mining.detect import RULE_PREFIX, SIGNALS, detect

    summary = detect(workspace)
    if args.json:
        print(json.dumps(summary.as_json(), indent=2))
        return EXIT_OK
    for name, count in summary.counts.items():
        label = SIGNALS[name].label if name in SIGNALS else f"rule {name.removeprefix(RULE_PREFIX)}"
        print(f"  {count:>8}  {label}")
    share = f" ({summary.failures / summary.total:.1%})" if summary.total else ""
    print(f"failures {summary.failures} of {summary.total} records{share}, in {summary.seconds:.2f} s")
    return EXIT_OK


def command_rules(workspace: Workspace, args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from mining.detect import RULE_PREFIX, SignalSettingsError, add_rule, list_rules, remove_rule

    try:
        if args.rules_command == "add":
            summary = add_rule(workspace, args.name, args.condition, args.description)
            print(f"rule {args.name} saved; it flags {summary.counts.get(RULE_PREFIX + args.name.strip(), 0)} records")
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
        print(f"  {report.events_for_missing_records} events are for {len(report.missing_records)} records this "
              f"workspace does not hold (kept; they apply once those logs are ingested): {shown}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="faultline" if Path(sys.argv[0]).name == "faultline" else "python -m mining",
        description="Faultline: turn production LLM logs into fine-tuning and evaluation data.",
        epilog="Exit codes: 0 ok, 1 failed, 2 bad command line, 3 workspace unusable.",
    )
    workspace_option(parser, None)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, handler: Callable, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        workspace_option(sub, argparse.SUPPRESS)  # accepted before or after the command
        sub.set_defaults(handler=handler)
        return sub

    ingest = add("ingest", command_ingest, "Load log files or folders into the workspace.")
    ingest.add_argument("paths", nargs="+", metavar="PATH", help="log files or folders (JSONL, JSON, CSV, Parquet, .gz)")
    ingest.add_argument("--format", "-f", help="skip detection: openai, otel, phoenix, langfuse, langfuse_scores, langsmith or generic")
    ingest.add_argument("--map", "-m", action="append", metavar="FIELD=COLUMN",
                        help="generic tables: map a column to a field (input, output, time, model, feedback, comment, "
                             "expected_output, id, trace_id, session_id, user_id, system, error, latency_ms); "
                             "also feedback_scale=thumbs|rating|score and day_first=true|false; repeatable")
    ingest.add_argument("--json", action="store_true", help="print the per-file reports as JSON")
    ingest.add_argument("--quiet", "-q", action="store_true", help="no progress bar")

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

    embed = add("embed", command_embed, "Embed the text of every record that has no cached vector yet.")
    embed.add_argument("--model", help="all-MiniLM-L6-v2 (packaged, the default) or a local sentence-transformers folder")
    embed.add_argument("--backend", choices=BACKENDS, help="how the model runs")
    embed.add_argument("--text", choices=TEXT_CHOICES, help="what is embedded: the request (default), the response, or both")
    embed.add_argument("--max-seq-length", type=int, metavar="N", help="tokens kept per text (default: the model's limit)")
    embed.add_argument("--batch-size", type=int, metavar="N", help="texts per forward pass")
    embed.add_argument("--save", action="store_true", help="make these options the workspace's embedding settings")
    embed.add_argument("--json", action="store_true", help="print the report as JSON (keys include embedded, cached)")
    embed.add_argument("--quiet", "-q", action="store_true", help="no progress bar")

    show = add("show", command_show, "Show one record, by the id its source gave it or Faultline's record id.")
    show.add_argument("id", metavar="ID")
    show.add_argument("--json", action="store_true", help="the whole record as JSON")

    cluster = add("cluster", command_cluster,
                  "Embed what is not cached yet and group the failures into failure modes.")
    cluster.add_argument("--algorithm", "-a", choices=ALGORITHMS, default="hdbscan",
                         help="hdbscan (default: finds how many modes) or kmeans (k chosen by silhouette)")
    cluster.add_argument("--scope", choices=SCOPES, default="failures", help="cluster the failures (default) or all records")
    cluster.add_argument("--text", choices=TEXT_CHOICES, help="what is compared (default: the embedding setting)")
    cluster.add_argument("--min-cluster-size", type=int, metavar="N", help="smallest mode (default: from the count)")
    cluster.add_argument("--no-attach", action="store_true", help="leave outliers unclustered instead of attaching "
                                                                  "those within a mode's reach")
    cluster.add_argument("--seed", type=int, help="fix the randomness so that a run can be repeated exactly")
    cluster.add_argument("--json", action="store_true", help="print the run's summary as JSON")
    cluster.add_argument("--quiet", "-q", action="store_true", help="no progress bar")

    clusters = add("clusters", command_clusters, "List the failure modes of the latest run, biggest impact first.")
    clusters.add_argument("--json", action="store_true", help="a JSON list of objects (id, name, size, failure_rate, "
                                                              "lift, status, examples, ...)")
    clusters.add_argument("--members", action="store_true", help="with every member's id as the source gave it; "
                                                                 "unclustered failures under id -1")

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
    add_export_commands(add)
    add_evaluate_commands(add)
    add_report_commands(add)
    add_access_commands(add)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return run_command(argv)
    except BrokenPipeError:
        # The reader stopped early (`faultline clusters --members | head`): end quietly, as the shell's
        # own tools do, rather than with a traceback; stdout goes to /dev/null so the exit flush is quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def run_command(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "needs_workspace", True):  # users, app: the app opens its own workspace
        try:
            return args.handler(args.workspace, args)
        except CommandFailed as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_FAILED
    Workspace.wait_report = report_wait
    try:
        workspace = Workspace.open(args.workspace)
        with workspace.lease():  # the file is this command's until it ends (see mining.store)
            for note in recover(workspace):
                print(f"note: {note}", file=sys.stderr)
            return args.handler(workspace, args)
    except WorkspaceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_WORKSPACE
    except CommandFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        Workspace.close_all()


def report_wait(seconds: float, reason: str) -> None:
    """While another program has the workspace: say so on stderr, so a script's log tells why it paused."""
    print(f"waiting for the workspace ({seconds:.0f} s so far): {reason}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
