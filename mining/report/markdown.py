"""The report as Markdown: pasted into a wiki page, a ticket or the meeting's notes.

Why no charts: Markdown has nowhere to put them without files beside it; the tables carry the
same figures. Log text stays text: outside code blocks the characters that make markup (emphasis,
code, links, images, HTML, entities, math, table pipes) are backslash-escaped and line breaks become
spaces, so `|` cannot split a cell and nothing renders or loads; examples go in code fences longer
than any backtick run inside them.
"""

from __future__ import annotations

import re
from typing import Iterable

from mining.report.data import WeeklyReport
from mining.report.formatting import (EMPTY, TITLES, change, count, day, kappa, kind_grid, moment, no_modes_reason,
                                      percent, period_line, points, rate_text, score_figures, scored_of, top_modes,
                                      with_interval)

_MARKUP = re.compile(r"([\\`*_\[\]<>&|~!$])")


def cell(text: object) -> str:
    """Text on one line (a table cell, a heading) that shows exactly the text, markup inert."""
    return _MARKUP.sub(r"\\\1", " ".join(str(text).split()))


def fence(text: str) -> str:
    """A code block holding `text` verbatim, whatever backticks it contains."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    marks = "`" * max(3, longest + 1)
    return f"{marks}text\n{text}\n{marks}"


def table(headers: Iterable[str], rows: Iterable[Iterable[object]], numeric: Iterable[int] = ()) -> str:
    """A GitHub-flavoured table; every cell escaped; `numeric` columns right-aligned."""
    headers, numeric = list(headers), set(numeric)
    lines = ["| " + " | ".join(cell(h) for h in headers) + " |",
             "|" + "|".join("---:" if i in numeric else "---" for i in range(len(headers))) + "|"]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def _volume(report: WeeklyReport) -> list[str]:
    volume = report.volume
    if not volume.current.records and not volume.previous.records:
        return [EMPTY["volume"]]
    now, before = volume.current, volume.previous
    summary = table(["", "This period", "Period before", "Change"], [
        ["Calls", count(now.records), count(before.records), change(now.records, before.records)],
        ["Failures", count(now.failures), count(before.failures), change(now.failures, before.failures)],
        ["Failure rate", percent(now.failure_rate), percent(before.failure_rate), points(volume.rate_change)],
    ], numeric=(1, 2, 3))
    days = table(["Day", "Calls", "Failures", "Failure rate"],
                 [[day(d.day), count(d.records), count(d.failures), percent(d.failure_rate)] for d in volume.days],
                 numeric=(1, 2, 3))
    return [summary, days]


def _modes(report: WeeklyReport) -> list[str]:
    modes = report.modes
    reason = no_modes_reason(modes)
    if reason:
        return [reason]
    rows = [[mode.id, mode.name, mode.status, count(mode.failures), count(mode.previous),
             change(mode.failures, mode.previous), rate_text(mode), ", ".join(mode.keywords[:6])] for mode in modes.modes]
    return [f"From clustering run {cell(modes.run_id)} ({moment(modes.run_finished_at)}); "
            f"{count(modes.unclustered)} failures of this period are in no mode.",
            table(["Id", "Failure mode", "Trend", "Failures", "Period before", "Change", "Failure rate (95%)",
                   "Keywords"], rows, numeric=(0, 3, 4, 5, 6))]


def _kinds(report: WeeklyReport) -> list[str]:
    headers, rows = kind_grid(report.modes)
    if not rows:
        return [EMPTY["kinds"]]
    lines = [f"- {cell(line)}" for line in report.modes.kinds.sentences()]
    return [*(["\n".join(lines)] if lines else []),
            table(headers, rows, numeric=range(1, len(headers)))]


def _examples(report: WeeklyReport) -> list[str]:
    shown = top_modes(report.modes)
    if not shown:
        return [EMPTY["examples"]]
    parts = []
    for mode in shown:
        parts.append(f"### {cell(f'#{mode.id} {mode.name}')}")
        for example in mode.examples:
            parts += [f"Call {cell(example.source_id)}, {moment(example.ts)}", "Request:", fence(example.request),
                      "Response:", fence(example.response)]
    return parts


def _reviews(report: WeeklyReport) -> list[str]:
    reviews = report.reviews
    agreement = (f"Agreement on records reviewed a second time in this period: {kappa(reviews.agreement)}. "
                 f"All reviews to date: {kappa(reviews.agreement_to_date)}.")
    if not reviews.events:
        return [EMPTY["reviews"], agreement]
    summary = table(["", "This period"], [
        ["Reviews", count(reviews.reviews)],
        ["Change vs period before", change(reviews.reviews, reviews.previous_reviews)],
        ["Records judged", count(reviews.records)], ["Hard examples", count(reviews.hard_examples)],
        ["Reviewers", count(len(reviews.per_reviewer))], ["Review events", count(reviews.events)]], numeric=(1,))
    per_day = table(["Day", "Reviews"], [[day(d), count(n)] for d, n in reviews.per_day], numeric=(1,))
    per_reviewer = table(["Reviewer", "Records judged"], [[name, count(n)] for name, n in reviews.per_reviewer],
                         numeric=(1,))
    return [summary, per_day, per_reviewer, agreement]


def _exports(report: WeeklyReport) -> list[str]:
    if not report.exports:
        return [EMPTY["exports"]]
    return [table(["Dataset", "Version", "Written", "By", "Rows per kind", "Golden", "Kept out (leaks)"],
                  [[e["name"], f"v{e['version']}", moment(e["created_at"]), e["created_by"] or "–", e["rows"],
                    count(e["golden"]), count(e["leaks"])] for e in report.exports], numeric=(1, 5, 6))]


def _evaluations(report: WeeklyReport) -> list[str]:
    if not report.evaluations:
        return [EMPTY["evaluations"]]
    parts = [table(["Run", "Status", "Updated", "Items scored", "Accuracy", "Omniscience index (-100..100)",
                    "Hallucination rate"],
                   [[run.name, run.status, moment(run.updated_at), scored_of(run),
                     *score_figures(run.overall)] for run in report.evaluations], numeric=(3, 4, 5, 6)),
             "Intervals are 95% bootstrap intervals."]
    for run in report.evaluations:
        if run.by_mode:
            parts += [f"**{cell(run.name)} per failure mode**",
                      table(["Failure mode", "Items", "Accuracy", "Omniscience index"],
                            [[name, count(score.n), with_interval(score.accuracy, score.accuracy_ci, True),
                              with_interval(score.omniscience_index, score.omniscience_ci, False)]
                             for name, score in run.by_mode], numeric=(1, 2, 3))]
    return parts


def render_markdown(report: WeeklyReport) -> str:
    """The whole report as Markdown."""
    sections = {"volume": _volume, "modes": _modes, "kinds": _kinds, "examples": _examples, "reviews": _reviews,
                "exports": _exports, "evaluations": _evaluations}
    parts = [f"# Faultline weekly report: {cell(report.period.label)}",
             f"{period_line(report)} (UTC days). Workspace {cell(report.workspace)}, generated "
             f"{moment(report.generated_at)}."]
    for key, render in sections.items():
        parts += [f"## {TITLES[key]}", *render(report)]
    return "\n\n".join(parts) + "\n"
