"""The report as one self-contained HTML file: mailed, attached to a ticket, opened offline.

Why self-contained: the file is read away from the workspace and often away from the network, so
styles are inline, plotly.js is embedded once (about 4.5 MB) with the first chart, and nothing is
fetched: no CDN, fonts, images or links that load anything. A Content-Security-Policy in the
document forbids any request, so even a mistake here could not phone out.

Log text (requests, responses, mode names from keywords or reviewers) is untrusted: every piece
of text goes through html.escape, and chart labels are escaped in charts.py.
"""

from __future__ import annotations

import html
from typing import Iterable

import plotly.graph_objects as go
import plotly.io as pio

from mining.report import charts
from mining.report.data import EvalRun, WeeklyReport
from mining.report.formatting import (EMPTY, TITLES, change, count, day, kappa, kind_grid, moment, no_modes_reason,
                                      percent, period_line, points, rate_text, score_figures, scored_of, top_modes,
                                      with_interval)

CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:; "
       "font-src data:; connect-src 'none'; form-action 'none'; base-uri 'none'")
CHART_CONFIG = {"displaylogo": False, "responsive": True}
STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #1f2937;
       max-width: 1100px; margin: 2rem auto; padding: 0 1rem; line-height: 1.45; }
h1 { margin-bottom: .2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #e5e7eb; padding-bottom: .3rem; }
h3 { margin: 1.4rem 0 .4rem; }
.meta, .note { color: #6b7280; } .empty { color: #6b7280; font-style: italic; }
.cards { display: flex; flex-wrap: wrap; gap: .8rem; margin: 1rem 0; }
.card { border: 1px solid #e5e7eb; border-radius: 8px; padding: .6rem .9rem; min-width: 9rem; }
.card .label { color: #6b7280; font-size: .85rem; } .card .value { font-size: 1.5rem; font-weight: 600; }
.card .delta { font-size: .85rem; color: #374151; }
table { border-collapse: collapse; width: 100%; margin: .6rem 0; font-size: .92rem; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #f0f0f0; vertical-align: top; }
th { background: #f9fafb; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.status { font-weight: 600; } .status.new { color: #7c3aed; } .status.growing { color: #dc2626; }
.status.shrinking { color: #059669; } .status.gone { color: #6b7280; } .status.stable { color: #374151; }
.example { border: 1px solid #e5e7eb; border-radius: 8px; padding: .5rem .8rem; margin: .5rem 0; }
.example .who { color: #6b7280; font-size: .85rem; }
pre { white-space: pre-wrap; word-wrap: break-word; background: #f9fafb; padding: .5rem; border-radius: 6px;
      margin: .3rem 0; font-size: .88rem; }
.chart { margin: .5rem 0 1rem; }
footer { margin-top: 3rem; color: #9ca3af; font-size: .85rem; }
"""


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


class _Charts:
    """Embeds figures; plotly.js goes in with the first one only."""

    def __init__(self) -> None:
        self.included = False

    def embed(self, chart: go.Figure | None, name: str) -> str:
        if chart is None:
            return ""
        markup = pio.to_html(chart, include_plotlyjs=not self.included, full_html=False, div_id=f"chart-{name}",
                             config=CHART_CONFIG)
        self.included = True
        return f'<div class="chart">{markup}</div>'


def _td(text: object, css: str = "") -> str:
    return f'<td class="{esc(css)}">{esc(text)}</td>' if css else f"<td>{esc(text)}</td>"


def _table(headers: Iterable[str], rows: Iterable[Iterable[str]], numeric: Iterable[int] = ()) -> str:
    """A table of rows of `_td` cells; `numeric` header positions are right-aligned."""
    numeric = set(numeric)
    head = "".join(f'<th class="num">{esc(h)}</th>' if i in numeric else f"<th>{esc(h)}</th>"
                   for i, h in enumerate(headers))
    body = "".join(f"<tr>{''.join(row)}</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _card(label: str, value: str, delta: str = "") -> str:
    return (f'<div class="card"><div class="label">{esc(label)}</div><div class="value">{esc(value)}</div>'
            + (f'<div class="delta">{esc(delta)}</div>' if delta else "") + "</div>")


def _empty(text: str) -> str:
    return f'<p class="empty">{esc(text)}</p>'


def _section(key: str, content: str) -> str:
    return f'<section id="{key}"><h2>{esc(TITLES[key])}</h2>{content}</section>'


def _volume(report: WeeklyReport, embedded: _Charts) -> str:
    volume = report.volume
    if not volume.current.records and not volume.previous.records:
        return _section("volume", _empty(EMPTY["volume"]))
    now, before = volume.current, volume.previous
    cards = "".join([
        _card("Calls", count(now.records), f"{change(now.records, before.records)} vs period before"),
        _card("Failures", count(now.failures), f"{change(now.failures, before.failures)} vs period before"),
        _card("Failure rate", percent(now.failure_rate),
              f"{points(volume.rate_change)} (was {percent(before.failure_rate)})"),
    ])
    return _section("volume", f'<div class="cards">{cards}</div>'
                    + embedded.embed(charts.volume_figure(volume), "volume"))


def _modes(report: WeeklyReport, embedded: _Charts) -> str:
    modes = report.modes
    reason = no_modes_reason(modes)
    if reason:
        return _section("modes", _empty(reason))
    rows = [[_td(mode.id, "num"), _td(mode.name), _td(mode.status, f"status {mode.status}"),
             _td(count(mode.failures), "num"), _td(count(mode.previous), "num"),
             _td(change(mode.failures, mode.previous), "num"), _td(rate_text(mode), "num"),
             _td(", ".join(mode.keywords[:6]))] for mode in modes.modes]
    note = (f'<p class="note">From clustering run {esc(modes.run_id)} ({esc(moment(modes.run_finished_at))}); '
            f"{count(modes.unclustered)} failures of this period are in no mode.</p>")
    return _section("modes", note + _table(["Id", "Failure mode", "Trend", "Failures", "Period before", "Change",
                                            "Failure rate (95%)", "Keywords"], rows, numeric=(0, 3, 4, 5, 6))
                    + embedded.embed(charts.modes_figure(modes.modes), "modes"))


def _kinds(report: WeeklyReport) -> str:
    headers, rows = kind_grid(report.modes)
    if not rows:
        return _section("kinds", _empty(EMPTY["kinds"]))
    lines = "".join(f"<li>{esc(line)}</li>" for line in report.modes.kinds.sentences())
    cells = [[_td(row[0]), *(_td(value, "num") for value in row[1:])] for row in rows]
    return _section("kinds", (f"<ul>{lines}</ul>" if lines else "")
                    + _table(headers, cells, numeric=range(1, len(headers))))


def _examples(report: WeeklyReport) -> str:
    shown = top_modes(report.modes)
    if not shown:
        return _section("examples", _empty(EMPTY["examples"]))
    parts = []
    for mode in shown:
        parts.append(f"<h3>{esc(f'#{mode.id} {mode.name}')}</h3>")
        for example in mode.examples:
            parts.append(f'<div class="example"><div class="who">{esc(example.source_id)} · {esc(moment(example.ts))}'
                         f"</div><div>Request</div><pre>{esc(example.request)}</pre>"
                         f"<div>Response</div><pre>{esc(example.response)}</pre></div>")
    return _section("examples", "".join(parts))


def _reviews(report: WeeklyReport, embedded: _Charts) -> str:
    reviews = report.reviews
    agreement = (f'<p>Agreement on records reviewed a second time in this period: {esc(kappa(reviews.agreement))}. '
                 f"All reviews to date: {esc(kappa(reviews.agreement_to_date))}.</p>")
    if not reviews.events:
        return _section("reviews", _empty(EMPTY["reviews"]) + agreement)
    cards = "".join([
        _card("Reviews", count(reviews.reviews), f"{change(reviews.reviews, reviews.previous_reviews)} vs period before"),
        _card("Records judged", count(reviews.records)), _card("Hard examples", count(reviews.hard_examples)),
        _card("Reviewers", count(len(reviews.per_reviewer))), _card("Review events", count(reviews.events))])
    table = _table(["Reviewer", "Records judged"], [[_td(name), _td(count(n), "num")]
                                                    for name, n in reviews.per_reviewer], numeric=(1,))
    return _section("reviews", f'<div class="cards">{cards}</div>'
                    + embedded.embed(charts.reviews_figure(reviews), "reviews") + table + agreement)


def _exports(report: WeeklyReport) -> str:
    if not report.exports:
        return _section("exports", _empty(EMPTY["exports"]))
    rows = [[_td(export["name"]), _td(f"v{export['version']}", "num"), _td(moment(export["created_at"])),
             _td(export["created_by"] or "–"), _td(export["rows"]), _td(count(export["golden"]), "num"),
             _td(count(export["leaks"]), "num")] for export in report.exports]
    return _section("exports", _table(["Dataset", "Version", "Written", "By", "Rows per kind", "Golden",
                                       "Kept out (leaks)"], rows, numeric=(1, 5, 6)))


def _run_modes(run: EvalRun) -> str:
    if not run.by_mode:
        return ""
    rows = [[_td(name), _td(count(score.n), "num"), _td(with_interval(score.accuracy, score.accuracy_ci, True), "num"),
             _td(with_interval(score.omniscience_index, score.omniscience_ci, False), "num")]
            for name, score in run.by_mode]
    return (f"<details><summary>{esc(run.name)} per failure mode</summary>"
            + _table(["Failure mode", "Items", "Accuracy", "Omniscience index"], rows, numeric=(1, 2, 3))
            + "</details>")


def _evaluations(report: WeeklyReport, embedded: _Charts) -> str:
    runs = report.evaluations
    if not runs:
        return _section("evaluations", _empty(EMPTY["evaluations"]))
    rows = [[_td(run.name), _td(run.status), _td(moment(run.updated_at)),
             _td(scored_of(run), "num"),
             *(_td(text, "num") for text in score_figures(run.overall))] for run in runs]
    table = _table(["Run", "Status", "Updated", "Items scored", "Accuracy", "Omniscience index (-100..100)",
                    "Hallucination rate"], rows, numeric=(3, 4, 5, 6))
    return _section("evaluations", table + '<p class="note">Intervals are 95% bootstrap intervals.</p>'
                    + embedded.embed(charts.evaluation_figure(runs), "evaluations")
                    + "".join(_run_modes(run) for run in runs))


def render_html(report: WeeklyReport) -> str:
    """The whole report as one HTML document that opens offline."""
    embedded = _Charts()
    title = f"Faultline weekly report: {report.period.label}"
    body = "".join([
        f"<header><h1>{esc(title)}</h1><p class=\"meta\">{esc(period_line(report))} (UTC days)</p>"
        f'<p class="meta">Workspace {esc(report.workspace)} · generated {esc(moment(report.generated_at))}</p></header>',
        _volume(report, embedded), _modes(report, embedded), _kinds(report), _examples(report), _reviews(report, embedded),
        _exports(report), _evaluations(report, embedded),
        f"<footer>Made by Faultline · period {esc(day(report.period.start))} to "
        f"{esc(day(report.period.last_day))}</footer>",
    ])
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{esc(CSP)}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{esc(title)}</title>'
            f"<style>{STYLE}</style></head><body>{body}</body></html>\n")
