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
import os
import sys
from pathlib import Path
from typing import Callable, Sequence

from mining.access.cli import add_commands as add_access_commands
from mining.cli_base import EXIT_FAILED, EXIT_OK, EXIT_WORKSPACE, CommandFailed, workspace_option
from mining.cluster.cli import add_commands as add_cluster_commands
from mining.embed.cli import add_commands as add_embed_commands
from mining.evaluate.cli import add_commands as add_evaluate_commands, add_golden_checks
from mining.export.cli import add_commands as add_export_commands
from mining.ingest.cli import add_commands as add_ingest_commands
from mining.recovery import recover
from mining.report.cli import add_commands as add_report_commands
from mining.review.cli import add_commands as add_review_commands
from mining.store import Workspace, WorkspaceError
from mining.train.cli import add_commands as add_train_commands
from mining.workspace_cli import add_commands as add_workspace_commands


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

    # In the order of the flow: load, look, signals, embed, group, review, export, evaluate, train, report, serve.
    add_ingest_commands(add)
    add_workspace_commands(add)
    add_embed_commands(add)
    add_cluster_commands(add)
    add_review_commands(add)
    golden_actions = add_export_commands(add)
    add_evaluate_commands(add)
    add_golden_checks(golden_actions)  # `golden checks` is the evaluation's part of the golden set's command
    add_train_commands(add)
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
