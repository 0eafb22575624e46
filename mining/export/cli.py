"""The `export` and `golden` commands.

`python -m mining export --kind KIND [--kind ...] --out DIR [filters] [--golden-size N] [--no-redact]`
prints the folder it wrote as the only line on stdout (so `folder=$(python -m mining export ...)`
works in a script); the report (rows per kind, what was left out, warnings) goes to stderr, or with
`--json` one JSON object on stdout. `--manifest FILE` makes a past export again from its manifest.
`python -m mining golden add|remove ID ...` and `golden list` manage the golden set by hand.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from typing import Any, Callable

from mining.cli_base import EXIT_OK, AddCommand, CommandFailed, progress_bar, workspace_option
from mining.cluster import NOISE, mode_names
from mining.export.golden import add_golden, golden_items, record_ids_for, remove_golden
from mining.export.kinds import KINDS
from mining.export.leakage import DEFAULT_THRESHOLD
from mining.export.plan import DEFAULT_MAX_TOKENS, FORMATS, ExportError, ExportPlan, ExportRequest, replay_request
from mining.export.selection import DEFAULT_VERDICTS, ExportFilter
from mining.export.tokens import TokenizerError
from mining.export.writer import ExportResult, make_export, output_folder, read_manifest
from mining.review import VERDICTS, UnknownTag, resolve_tag
from mining.store import Workspace


def _time(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CommandFailed(f"{option} {value!r} is not a date or time (use 2026-11-16 or 2026-11-16T08:00)") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _modes(workspace: Workspace, chosen: list[int]) -> tuple[int, ...]:
    """The --cluster ids, each checked against the latest run: a mistyped id is an error, not an
    export that quietly finds nothing to write."""
    if not chosen:
        return ()
    names = mode_names(workspace)
    if not names:
        raise CommandFailed("no clustering run yet, so no failure mode to choose: run `faultline cluster` first")
    unknown = [mode for mode in chosen if mode not in names]
    if unknown:
        modes = ", ".join(str(mode) for mode in sorted(names) if mode != NOISE)
        raise CommandFailed(f"no failure mode {unknown[0]} in the latest clustering run; its modes are {modes} "
                            f"and {NOISE} (unclustered): see `faultline clusters`")
    return tuple(chosen)


def _filter(workspace: Workspace, args: argparse.Namespace) -> ExportFilter:
    try:
        tags = tuple(resolve_tag(workspace, key).tag_id for key in args.tag or ())
    except UnknownTag as exc:
        raise CommandFailed(str(exc)) from exc
    return ExportFilter(verdicts=tuple(args.verdict or DEFAULT_VERDICTS), tags=tags, clusters=_modes(workspace, args.cluster),
                        since=_time(args.since, "--since"), until=_time(args.until, "--until"),
                        reviewers=tuple(args.reviewer or ()), agreed_only=args.agreed_only)


def _request(workspace: Workspace, args: argparse.Namespace) -> ExportRequest:
    if args.manifest:
        return replay_request(read_manifest(args.manifest), args.by)
    if not args.kind:
        raise CommandFailed("choose what to export with --kind (repeatable): " + ", ".join(KINDS))
    return ExportRequest(kinds=tuple(args.kind), filter=_filter(workspace, args), name=args.name,
                         formats=tuple(args.format or FORMATS), golden_size=args.golden_size,
                         leak_threshold=args.leak_threshold, max_tokens=args.max_tokens, tokenizer=args.tokenizer,
                         redact=not args.no_redact, license=args.license, created_by=args.by)


def _report(plan: ExportPlan, result: ExportResult) -> dict[str, Any]:
    return {"folder": str(result.folder), "name": result.name, "version": result.version,
            "export_id": result.export_id, "selected": len(plan.examples), "golden": len(plan.golden),
            "golden_added": len(plan.golden_added), "leaks": len(plan.leaks), "redaction": plan.redaction,
            "kinds": {name: {"rows": len(p.rows), "left_out": len(p.left_out), "problems": len(p.problems),
                             "over_token_limit": p.over_limit} for name, p in plan.kinds.items()},
            "files": result.manifest["files"], "warnings": plan.warnings}


def _print_report(plan: ExportPlan, result: ExportResult, say: Callable[[str], None]) -> None:
    say(f"{result.name} v{result.version}: {len(plan.examples)} reviewed records, {len(plan.golden)} golden "
        f"({len(plan.golden_added)} drawn now), {len(plan.leaks)} kept out as near duplicates of golden items")
    for name, kind_plan in plan.kinds.items():
        say(f"  {name:<14} {len(kind_plan.rows):>6} rows, {len(kind_plan.left_out)} left out"
            + (f" ({len(kind_plan.problems)} with problems, {kind_plan.over_limit} of them over the token limit)"
               if kind_plan.problems else ""))
        for row in kind_plan.problems[:3]:
            say(f"      {row.source_id}: {row.reason}")
    if plan.redaction:
        say("  masked: " + ", ".join(f"{kind.lower()} {count}" for kind, count in plan.redaction.items()))
    for warning in plan.warnings:
        say(f"  warning: {warning}")


def command_export(workspace: Workspace, args: argparse.Namespace) -> int:
    request = _request(workspace, args)
    try:
        output_folder(args.out)  # before the planning's minutes, not after
    except ExportError as exc:
        raise CommandFailed(str(exc)) from exc
    update, close = progress_bar(not args.quiet and not args.json)
    try:
        plan, result = make_export(workspace, request, args.out, update)
    except (ExportError, TokenizerError) as exc:
        raise CommandFailed(str(exc)) from exc
    finally:
        close()
    if args.json:
        print(json.dumps(_report(plan, result), indent=2, ensure_ascii=False))
        return EXIT_OK
    if not args.quiet:
        _print_report(plan, result, lambda line: print(line, file=sys.stderr))
    print(result.folder)
    return EXIT_OK


def _record_ids(workspace: Workspace, keys: list[str]) -> list[str]:
    found, missing = record_ids_for(workspace, keys)
    if missing:
        raise CommandFailed(f"no record with id {missing[0]!r}" + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
    return list(found.values())


def command_golden(workspace: Workspace, args: argparse.Namespace) -> int:
    if args.golden_command == "list":
        items = golden_items(workspace)
        if args.json:
            print(json.dumps(items, indent=2, default=str, ensure_ascii=False))
        for item in [] if args.json else items:
            print(f"{item['source_id']}  {item['method']:<8} {item['added_by'] or '-':<12} {item['request'] or ''}")
        return EXIT_OK
    record_ids = _record_ids(workspace, args.ids)
    if args.golden_command == "add":
        change = add_golden(workspace, record_ids, args.by)
        verb = "added to"
    else:
        change = remove_golden(workspace, record_ids)
        verb = "removed from"
    print(f"{len(change.changed)} {verb} the golden set, {len(change.unchanged)} already "
          f"{'in' if args.golden_command == 'add' else 'out of'} it; it now holds {len(golden_items(workspace))}")
    return EXIT_OK


def add_commands(add: AddCommand) -> Any:
    """Register `export` and `golden` with the entry point's `add(name, handler, help)`; returns the
    golden command's actions, where evaluation adds `golden checks` (mining.evaluate.cli)."""
    export = add("export", command_export, "Write reviewed hard examples as versioned, validated datasets "
                                           "(NAME-vN/ with a dataset card and a manifest); prints the folder.")
    export.add_argument("--kind", "-k", action="append", choices=list(KINDS), metavar="KIND",
                        help=f"a dataset kind, repeatable: {', '.join(KINDS)}")
    export.add_argument("--out", "-o", required=True, metavar="DIR", help="folder that receives NAME-vN/")
    export.add_argument("--name", default="faultline", help="dataset name (default: faultline)")
    export.add_argument("--format", action="append", choices=FORMATS, help="file format, repeatable (default: both)")
    export.add_argument("--verdict", action="append", choices=VERDICTS,
                        help="verdicts to export, repeatable (default: hard_example)")
    export.add_argument("--tag", "-t", action="append", metavar="T", help="only records with this tag (id or name); repeatable")
    export.add_argument("--cluster", "-c", action="append", type=int, metavar="ID",
                        help="only records in this failure mode of the latest run (-1: unclustered); repeatable")
    export.add_argument("--since", metavar="DATE", help="only records logged at or after DATE (UTC unless given)")
    export.add_argument("--until", metavar="DATE", help="only records logged before DATE")
    export.add_argument("--reviewer", "-r", action="append", metavar="NAME", help="only records judged by NAME; repeatable")
    export.add_argument("--agreed-only", action="store_true", help="only records two reviewers judged alike")
    export.add_argument("--golden-size", type=int, metavar="N",
                        help="grow the golden set to N items by a hold-out stratified across failure modes")
    export.add_argument("--leak-threshold", type=float, default=DEFAULT_THRESHOLD, metavar="X",
                        help=f"cosine similarity from which a record is a near duplicate of a golden input (default {DEFAULT_THRESHOLD})")
    export.add_argument("--max-tokens", type=int, default=DEFAULT_MAX_TOKENS, metavar="N",
                        help=f"leave out examples longer than N tokens (default {DEFAULT_MAX_TOKENS})")
    export.add_argument("--tokenizer", metavar="PATH", help="a local tokenizer folder with a chat template: needed by "
                                                           "sft-tokenized; makes token counts exact")
    export.add_argument("--no-redact", action="store_true", help="write personal data and secrets as logged (a warning "
                                                                 "goes into the report and the dataset card)")
    export.add_argument("--license", default="other", help="license in the dataset card (default: other)")
    export.add_argument("--by", metavar="NAME", help="who made the export (recorded in the manifest)")
    export.add_argument("--manifest", metavar="FILE", help="make a past export again from its manifest.json (or folder): "
                                                           "the same records, golden set and options")
    export.add_argument("--json", action="store_true", help="one JSON object: folder, version, kinds (rows, left_out, "
                                                           "problems), files, warnings, ...")
    export.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no report, only the folder")

    golden = add("golden", command_golden, "Manage the golden evaluation set by hand.")
    actions = golden.add_subparsers(dest="golden_command", metavar="ACTION", required=True)
    for name, help_text in (("add", "put records in the golden set (ids as the source gave them, or record ids)"),
                            ("remove", "take records out of the golden set")):
        action = actions.add_parser(name, help=help_text)
        action.add_argument("ids", nargs="+", metavar="ID")
        action.add_argument("--by", metavar="NAME", help="who chose them")
        workspace_option(action, argparse.SUPPRESS)
    listing = actions.add_parser("list", help="list the golden set")
    listing.add_argument("--json", action="store_true", help="a JSON list (record_id, source_id, method, added_by, ...)")
    workspace_option(listing, argparse.SUPPRESS)
    return actions
