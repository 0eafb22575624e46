"""The `report` command: `faultline report [--week 2026-W47 | --this-week | --from DATE --to DATE]
[--out FILE] [--format html|md]`.

Why it prints only the path: it runs from cron before the meeting, and a script can mail or copy
what it wrote (`file=$(faultline report)`). The week defaults to the last complete ISO week (UTC),
or, when nothing happened in it (a team's first weeks), the latest week when something did; it is
compared with the week before. The format follows the file's extension unless given.
"""

from __future__ import annotations

import argparse
import re
from datetime import date, datetime, timezone
from pathlib import Path

from mining.cli_base import EXIT_OK, AddCommand, CommandFailed
from mining.common import missing_folder
from mining.report.data import weekly_report, weeks_with_activity
from mining.report.period import ReportError, ReportPeriod, default_period, period_between, period_for_week, this_week
from mining.report.html import render_html
from mining.report.markdown import render_markdown
from mining.store import Workspace

FORMATS = {"html": render_html, "md": render_markdown}
EXTENSIONS = {".html": "html", ".htm": "html", ".md": "md", ".markdown": "md"}


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandFailed(f"{option} {value!r} is not a date; write it like 2026-11-16") from exc


def _period(workspace: Workspace, args: argparse.Namespace) -> ReportPeriod:
    if bool(args.since) != bool(args.until):
        raise CommandFailed("give both --from and --to, or neither")
    if sum((bool(args.week), bool(args.since), args.this_week)) > 1:
        raise CommandFailed("give one of --week, --this-week or --from/--to")
    today = datetime.now(timezone.utc).date()
    try:
        if args.since:
            return period_between(_day(args.since, "--from"), _day(args.until, "--to"))
        if args.this_week:
            return this_week(today)
        return period_for_week(args.week) if args.week else default_period(weeks_with_activity(workspace), today)
    except ReportError as exc:
        raise CommandFailed(str(exc)) from exc


def _format(out: Path, given: str | None) -> str:
    if given:
        return given
    found = EXTENSIONS.get(out.suffix.lower())
    if found is None:
        raise CommandFailed(f"cannot tell the format of {out.name} from its extension; give --format html or md")
    return found


def command_report(workspace: Workspace, args: argparse.Namespace) -> int:
    period = _period(workspace, args)
    label = re.sub(r"[^\w.-]+", "_", period.label)
    out = Path(args.out) if args.out else Path(f"faultline-report-{label}.{args.format or 'html'}")
    render = FORMATS[_format(out, args.format)]
    if (folder := missing_folder(out)) is not None:
        raise CommandFailed(f"cannot write {out}: the folder {folder} does not exist (create it first)")
    text = render(weekly_report(workspace, period))
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CommandFailed(f"cannot write {out}: {exc.strerror or exc}") from exc
    print(out.resolve())
    return EXIT_OK


def add_commands(add: AddCommand) -> None:
    """Register `report` with the entry point's `add(name, handler, help)`."""
    report = add("report", command_report, "Write the weekly report (failures, failure modes, reviews, datasets, "
                                           "evaluation runs) as one self-contained HTML file or Markdown; "
                                           "prints the file's path.")
    report.add_argument("--week", metavar="YYYY-Www", help="the ISO week, e.g. 2026-W47 (default: the last complete "
                                                           "week, UTC, or when nothing happened in it the latest week "
                                                           "when something did), compared with the week before")
    report.add_argument("--this-week", action="store_true", help="this week so far, Monday to today")
    report.add_argument("--from", dest="since", metavar="DATE", help="or a range of days: the first (UTC) ...")
    report.add_argument("--to", dest="until", metavar="DATE", help="... and the last, included; compared with as many "
                                                                  "days before")
    report.add_argument("--out", "-o", metavar="FILE", help="the file to write (default: "
                                                            "faultline-report-YYYY-Www.html in this folder)")
    report.add_argument("--format", choices=list(FORMATS), help="html or md (default: from FILE's extension)")
