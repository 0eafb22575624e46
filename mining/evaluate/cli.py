"""The `evaluate` and `compare` commands, and `golden checks`.

`python -m mining evaluate --answers FILE --name RUN [--json]` scores a candidate answer file;
`python -m mining evaluate --endpoint URL --model M --name RUN` asks an OpenAI-compatible endpoint
(Ctrl+C stops it; the same command continues where it stopped); `--rescore` judges a run's stored
answers again. Both print accuracy, omniscience index and hallucination rate with their intervals,
the counts, and per failure mode; `--json` prints one object with the same figures.
`python -m mining compare RUN_A RUN_B` prints B - A with intervals and the items that changed.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from mining.cli_base import EXIT_OK, AddCommand, CommandFailed, progress_bar, workspace_option
from mining.evaluate.answers import AnswerFileError, AnswerMapping
from mining.evaluate.checks import CHECK_TYPES, CheckError, describe, parse_check
from mining.evaluate.compare import compare_runs
from mining.endpoint import EndpointConfig, EndpointError
from mining.evaluate.items import set_item_checks
from mining.evaluate.runs import RunError, RunSummary, evaluate_endpoint, evaluate_file, score_run
from mining.evaluate.scores import format_figure
from mining.export.golden import record_ids_for
from mining.store import Workspace


def _print_summary(summary: RunSummary) -> None:
    overall = summary.scores["overall"]
    print(f"{summary.name}: {summary.scored} of {summary.items} golden items scored"
          + (f", {len(summary.unanswered)} not answered yet" if summary.unanswered else ""))
    print(f"  accuracy            {format_figure(overall['accuracy'], overall['accuracy_ci'], True)}")
    print(f"  omniscience index   {format_figure(overall['omniscience_index'], overall['omniscience_ci'], False)}")
    print(f"  hallucination rate  {format_figure(overall['hallucination_rate'], overall['hallucination_ci'], True)}")
    print(f"  correct {overall['correct']}, incorrect {overall['incorrect']}, abstained {overall['abstained']}")
    print("  per failure mode (n, accuracy, omniscience index):")
    for key, mode in summary.scores["clusters"].items():
        name = "unclustered" if key == "-1" else (mode["name"] or f"mode {key}")
        print(f"    {mode['n']:>4}  {format_figure(mode['accuracy'], None, True):>7}  "
              f"{format_figure(mode['omniscience_index'], None, False):>7}  {name}")
    for source_id, reason in summary.left_out:
        print(f"  left out {source_id}: {reason}")
    for warning in summary.warnings:
        print(f"  warning: {warning}")


def _endpoint(args: argparse.Namespace) -> EndpointConfig:
    try:
        return EndpointConfig(base_url=args.endpoint, model=args.model, api_key_env=args.api_key_env or None,
                              concurrency=args.concurrency, timeout_s=args.timeout, retries=args.retries,
                              temperature=args.temperature, max_tokens=args.max_tokens)
    except ValueError as exc:
        raise CommandFailed(str(exc)) from exc


def command_evaluate(workspace: Workspace, args: argparse.Namespace) -> int:
    sources = sum(bool(value) for value in (args.answers, args.endpoint, args.rescore))
    if sources != 1:
        raise CommandFailed("give exactly one of --answers FILE, --endpoint URL (with --model) or --rescore")
    if args.endpoint and not args.model:
        raise CommandFailed("--endpoint needs --model, the model name the endpoint serves")
    try:
        checks = [parse_check(spec) for spec in args.check or ()]
        if args.answers:
            mapping = AnswerMapping(key=args.key, id_column=args.id_column, answer_column=args.answer_column,
                                    input_column=args.input_column)
            summary = evaluate_file(workspace, args.name, args.answers, mapping, checks or None, args.by,
                                    not args.no_redact)
        elif args.endpoint:
            update, close = progress_bar(not args.quiet and not args.json)
            try:
                summary = evaluate_endpoint(workspace, args.name, _endpoint(args), checks or None, args.by,
                                            not args.no_redact, update)
            finally:
                close()
        else:
            summary = score_run(workspace, args.name)
    except KeyboardInterrupt as exc:
        raise CommandFailed(f"interrupted: the answers received so far are stored in run {args.name!r}; "
                            "run the same command again to continue") from exc
    except (CheckError, AnswerFileError, RunError, EndpointError) as exc:
        raise CommandFailed(str(exc)) from exc
    if args.json:
        print(json.dumps(summary.as_json(), indent=2, ensure_ascii=False))
    else:
        _print_summary(summary)
    return EXIT_OK


def command_compare(workspace: Workspace, args: argparse.Namespace) -> int:
    try:
        comparison = compare_runs(workspace, args.run_a, args.run_b)
    except RunError as exc:
        raise CommandFailed(str(exc)) from exc
    if args.json:
        print(json.dumps(comparison.as_json(), indent=2, ensure_ascii=False))
        return EXIT_OK
    print(f"{comparison.b} against {comparison.a} on {comparison.paired} golden items both answered"
          + (f" ({comparison.only_a} only in {comparison.a}, {comparison.only_b} only in {comparison.b})"
             if comparison.only_a or comparison.only_b else ""))
    for delta in comparison.deltas:
        percent = delta.metric != "omniscience_index"
        print(f"  {delta.metric.replace('_', ' '):<19} {format_figure(delta.a, None, percent):>7} -> "
              f"{format_figure(delta.b, None, percent):>7}   change {format_figure(delta.delta, delta.ci, percent)}")
    for label, items in (("improved", comparison.improved), ("regressed", comparison.regressed)):
        print(f"  {label}: {len(items)}")
        for item in items[:10]:
            print(f"    {item['id']}: {item['a']} -> {item['b']} ({item['b_reason']})")
    print("  per failure mode (n, omniscience A -> B):")
    for row in comparison.clusters:
        name = "unclustered" if row["cluster_id"] == -1 else (row["cluster"] or f"mode {row['cluster_id']}")
        print(f"    {row['n']:>4}  {row['a_omniscience']:>7.1f} -> {row['b_omniscience']:>7.1f}  {name}")
    return EXIT_OK


def command_golden_checks(workspace: Workspace, args: argparse.Namespace) -> int:
    """`golden checks ID [SPEC ...]`: an item's own checks; none given (or --clear) goes back to the run's."""
    found, missing = record_ids_for(workspace, [args.id])
    if missing:
        raise CommandFailed(f"no record with id {args.id!r}")
    try:
        checks = None if args.clear or not args.specs else [parse_check(spec) for spec in args.specs]
    except CheckError as exc:
        raise CommandFailed(str(exc)) from exc
    if not set_item_checks(workspace, found[args.id], checks):
        raise CommandFailed(f"{args.id} is not in the golden set; add it with `golden add {args.id}`")
    print(f"{args.id}: " + (", ".join(describe(check) for check in checks) if checks else "the run's checks"))
    return EXIT_OK


def add_commands(add: AddCommand) -> None:
    """Register `evaluate` and `compare` with the entry point's `add(name, handler, help)`."""
    evaluate = add("evaluate", command_evaluate, "Score candidate answers on the golden set: a file, an "
                                                 "OpenAI-compatible endpoint, or a run's stored answers again.")
    evaluate.add_argument("--name", "-n", required=True, metavar="RUN", help="the run's name (reused: a file run is "
                                                                           "replaced, an endpoint run continues)")
    evaluate.add_argument("--answers", "-a", metavar="FILE", help="candidate answers: .jsonl, .json, .csv or .parquet")
    evaluate.add_argument("--key", choices=("id", "input"), default="id",
                          help="match rows to golden items by id (default) or by input text")
    evaluate.add_argument("--id-column", default="id", metavar="C", help="column with the id (default: id)")
    evaluate.add_argument("--answer-column", default="answer", metavar="C", help="column with the answer (default: answer)")
    evaluate.add_argument("--input-column", default="input", metavar="C", help="column with the input text (--key input)")
    evaluate.add_argument("--endpoint", "-e", metavar="URL", help="an OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1")
    evaluate.add_argument("--model", "-m", help="the model name to ask for")
    evaluate.add_argument("--api-key-env", default="OPENAI_API_KEY", metavar="VAR",
                          help="environment variable holding the API key (default OPENAI_API_KEY; empty: none)")
    evaluate.add_argument("--concurrency", type=int, default=4, metavar="N", help="requests at once (default 4)")
    evaluate.add_argument("--timeout", type=float, default=60.0, metavar="S", help="seconds per request (default 60)")
    evaluate.add_argument("--retries", type=int, default=4, metavar="N", help="retries per request (default 4)")
    evaluate.add_argument("--temperature", type=float, default=0.0, help="sampling temperature (default 0)")
    evaluate.add_argument("--max-tokens", type=int, metavar="N", help="answer length limit")
    evaluate.add_argument("--rescore", action="store_true", help="judge the run's stored answers again")
    evaluate.add_argument("--check", "-c", action="append", metavar="SPEC",
                          help=f"a check for every item without its own, repeatable: {', '.join(CHECK_TYPES)}, "
                               "e.g. normalized, numeric:0.01, semantic:0.85, regex:PATTERN (default semantic:0.8)")
    evaluate.add_argument("--no-redact", action="store_true", help="score and send the golden items unmasked")
    evaluate.add_argument("--by", metavar="NAME", help="who ran it")
    evaluate.add_argument("--json", action="store_true", help="one JSON object: accuracy, omniscience_index, "
                                                             "hallucination_rate, counts, clusters, tags, ...")
    evaluate.add_argument("--quiet", "-q", action="store_true", help="no progress bar")

    compare = add("compare", command_compare, "Compare two evaluation runs on the golden items both answered.")
    compare.add_argument("run_a", metavar="RUN_A")
    compare.add_argument("run_b", metavar="RUN_B")
    compare.add_argument("--json", action="store_true", help="one JSON object: deltas, regressed, improved, clusters")


def add_golden_checks(actions: Any) -> None:
    """The `golden checks` action, added by the entry point to the golden command of mining.export.cli."""
    checks = actions.add_parser("checks", help="choose one golden item's checks (none given: the run's checks)")
    checks.add_argument("id", metavar="ID")
    checks.add_argument("specs", nargs="*", metavar="SPEC", help="e.g. numeric:0.5 or regex:(?i)pro plan")
    checks.add_argument("--clear", action="store_true", help="go back to the run's checks")
    checks.set_defaults(handler=command_golden_checks)
    workspace_option(checks, argparse.SUPPRESS)
