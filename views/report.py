"""Report: the weekly error-analysis meeting's page, and the same report as an HTML or Markdown file.

Every figure comes from one call, mining.report.weekly_report, and the charts from
mining.report.charts, so the page and the downloaded files agree. Mode names, keywords, example
requests and responses are log text: shown with st.text, st.code and st.dataframe, through
ui.plain where an element reads markdown (charts escape their labels themselves).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import polars as pl
import streamlit as st

import table_ui
import ui
from mining.report import charts
from mining.report.data import WeeklyReport, weekly_report, weeks_with_activity, weeks_with_records
from mining.report.period import (ReportPeriod, default_period, last_week, period_between, period_for_week,
                                  this_week)
from mining.report.formatting import (EMPTY, TITLES, change, count, kappa, kind_grid, moment, no_modes_reason,
                                      percent, period_line, points, rate_text, score_figures, scored_of, top_modes)
from mining.report.html import render_html
from mining.report.markdown import render_markdown
from mining.store import Workspace

WEEK_KEY = "report_week"
PERIOD_KIND_KEY = "report_period_kind"
DAYS_KEY = "report_days"
PERIOD_KINDS = {"week": "A week", "this": "This week so far", "days": "Days"}
MODE_COLUMNS = {
    "id": st.column_config.NumberColumn("Id", width="small"),
    "name": st.column_config.TextColumn("Failure mode", width="large"),
    "status": st.column_config.TextColumn("Trend", width="small"),
    "failures": st.column_config.NumberColumn("Failures"),
    "previous": st.column_config.NumberColumn("Period before"),
    "change": st.column_config.TextColumn("Change"),
    "rate": st.column_config.TextColumn("Failure rate (95%)", help="Of all the calls of this mode's kind, the share "
                                                                   "that failed, with its 95% interval."),
    "keywords": st.column_config.TextColumn("Keywords"),
}
EXPORT_COLUMNS = {
    "name": st.column_config.TextColumn("Dataset"), "version": st.column_config.NumberColumn("Version"),
    "created_at": st.column_config.DatetimeColumn("Written", format="YYYY-MM-DD HH:mm", timezone="UTC"),
    "created_by": st.column_config.TextColumn("By"), "rows": st.column_config.TextColumn("Rows per kind"),
    "golden": st.column_config.NumberColumn("Golden"), "leaks": st.column_config.NumberColumn("Kept out (leaks)"),
}


def choose_period(workspace: Workspace) -> ReportPeriod:
    """The period to report on: a week (by default the last complete one, or the latest week when
    anything happened), this week so far, or any days."""
    today = datetime.now(timezone.utc).date()
    active = weeks_with_activity(workspace)
    default = default_period(active, today)
    opens_on_this_week = default == this_week(today)
    kind = st.segmented_control("Period", list(PERIOD_KINDS), format_func=PERIOD_KINDS.get, key=PERIOD_KIND_KEY,
                                default="this" if opens_on_this_week else "week") or "week"
    if kind == "this":
        return this_week(today)
    if kind == "days":
        chosen = st.date_input("Days", value=(today - timedelta(days=6), today), max_value=today, key=DAYS_KEY,
                               help="UTC days, both included; compared with as many days just before.")
        first, last = (chosen if isinstance(chosen, tuple) and len(chosen) == 2 else (today, today))
        return period_between(first, last)
    fallback = last_week(today).label if opens_on_this_week else default.label
    weeks = sorted({fallback, last_week(today).label, *active}, reverse=True)
    if st.session_state.get(WEEK_KEY) not in weeks:
        st.session_state[WEEK_KEY] = fallback
    week = st.selectbox("Week", weeks, key=WEEK_KEY, format_func=lambda label: period_for_week(label).describe(),
                        help="ISO weeks, Monday to Sunday in UTC; each is compared with the week before.")
    with_calls = weeks_with_records(workspace)
    if with_calls and week not in with_calls:
        st.info(f"No calls were logged in {week}; the latest week with calls is {with_calls[0]}.")
    return period_for_week(week)


def downloads(report: WeeklyReport) -> None:
    """The report as files: HTML that opens offline with its charts, and Markdown for notes."""
    name = f"faultline-report-{report.period.label}"
    with st.container(horizontal=True):
        st.download_button("Download HTML", data=lambda: render_html(report), file_name=f"{name}.html",
                           mime="text/html", key="report_download_html", on_click="ignore",
                           icon=":material/download:")
        st.download_button("Download Markdown", data=lambda: render_markdown(report), file_name=f"{name}.md",
                           mime="text/markdown", key="report_download_md", on_click="ignore",
                           icon=":material/download:")


def chart(figure, key: str) -> None:
    if figure is not None:
        st.plotly_chart(figure, key=key, width="stretch", config={"displaylogo": False})


def volume_section(report: WeeklyReport) -> None:
    st.subheader(TITLES["volume"])
    volume = report.volume
    if not volume.current.records and not volume.previous.records:
        st.info(EMPTY["volume"])
        return
    now, before = volume.current, volume.previous
    columns = st.columns(3)
    columns[0].metric("Calls", count(now.records), change(now.records, before.records), delta_color="off")
    columns[1].metric("Failures", count(now.failures), change(now.failures, before.failures), delta_color="inverse")
    columns[2].metric("Failure rate", percent(now.failure_rate), points(volume.rate_change), delta_color="inverse")
    chart(charts.volume_figure(volume), "report_volume")


def modes_section(report: WeeklyReport) -> None:
    st.subheader(TITLES["modes"])
    modes = report.modes
    reason = no_modes_reason(modes)
    if reason:
        st.info(reason)
        return
    st.caption(ui.plain(f"From clustering run {modes.run_id} ({moment(modes.run_finished_at)}); "
                        f"{count(modes.unclustered)} failures of this period are in no mode."))
    rows = [{"id": mode.id, "name": mode.name, "status": mode.status, "failures": mode.failures,
             "previous": mode.previous, "change": change(mode.failures, mode.previous), "rate": rate_text(mode),
             "keywords": ", ".join(mode.keywords[:6])} for mode in modes.modes]
    table_ui.table(rows, columns=MODE_COLUMNS, column_order=list(MODE_COLUMNS),
                   key="report_modes")
    chart(charts.modes_figure(modes.modes), "report_modes_chart")


def kinds_section(report: WeeklyReport) -> None:
    """The period's failures of the shown modes by what went wrong in the answer, and the kinds
    that cut across modes, in words; each kind opens its calls in Records."""
    st.subheader(TITLES["kinds"])
    headers, rows = kind_grid(report.modes)
    if not rows:
        st.info(EMPTY["kinds"])
        return
    for line in report.modes.kinds.sentences():
        st.text(line)
    table_ui.table(pl.DataFrame(rows, schema=[f"c{i}" for i in range(len(headers))], orient="row"),
                   columns={f"c{i}": header for i, header in enumerate(headers)}, key="report_kinds")
    with st.expander("Open a kind's calls in Records"):
        for kind in report.modes.kinds.kinds:
            st.page_link("views/records.py", label=ui.plain(kind["name"]), icon=":material/open_in_new:",
                         query_params={"kind": str(kind["id"])})


def examples_section(report: WeeklyReport) -> None:
    st.subheader(TITLES["examples"])
    shown = top_modes(report.modes)
    if not shown:
        st.info(EMPTY["examples"])
        return
    for mode in shown:
        with st.expander(ui.plain(f"#{mode.id} {mode.name}")):
            st.page_link("views/records.py", label="Open this mode's calls in Records", icon=":material/open_in_new:",
                         query_params={"mode": str(mode.id)})
            for example in mode.examples:
                st.text(f"{example.source_id} · {moment(example.ts)}")
                st.code(example.request, language=None, wrap_lines=True)
                st.code(example.response, language=None, wrap_lines=True)


def reviews_section(report: WeeklyReport) -> None:
    st.subheader(TITLES["reviews"])
    reviews = report.reviews
    if not reviews.events:
        st.info(EMPTY["reviews"])
    else:
        columns = st.columns(4)
        columns[0].metric("Reviews", count(reviews.reviews), change(reviews.reviews, reviews.previous_reviews))
        columns[1].metric("Records judged", count(reviews.records))
        columns[2].metric("Hard examples", count(reviews.hard_examples))
        columns[3].metric("Reviewers", count(len(reviews.per_reviewer)))
        chart(charts.reviews_figure(reviews), "report_reviews")
        table_ui.table([{"reviewer": name, "records": n} for name, n in reviews.per_reviewer],
                       columns={"reviewer": "Reviewer", "records": st.column_config.NumberColumn("Records judged")})
    st.text(f"Agreement on records reviewed a second time in this period: {kappa(reviews.agreement)}.\n"
            f"All reviews to date: {kappa(reviews.agreement_to_date)}.")


def exports_section(report: WeeklyReport) -> None:
    st.subheader(TITLES["exports"])
    if not report.exports:
        st.info(EMPTY["exports"])
        return
    table_ui.table(report.exports, columns=EXPORT_COLUMNS, column_order=list(EXPORT_COLUMNS))


def evaluations_section(report: WeeklyReport) -> None:
    st.subheader(TITLES["evaluations"])
    if not report.evaluations:
        st.info(EMPTY["evaluations"])
        return
    rows = [{"Run": run.name, "Status": run.status, "Updated": moment(run.updated_at),
             "Items scored": scored_of(run),
             **dict(zip(("Accuracy", "Omniscience index (-100..100)", "Hallucination rate"), score_figures(run.overall)))}
            for run in report.evaluations]
    table_ui.table(rows)
    st.caption("Intervals are 95% bootstrap intervals.")
    chart(charts.evaluation_figure(report.evaluations), "report_evaluations")
    for run in report.evaluations:
        if run.by_mode:
            with st.expander(ui.plain(f"{run.name} per failure mode")):
                table_ui.table([{"Failure mode": name, "Items": score.n, "Accuracy": percent(score.accuracy),
                                 "Omniscience index": "n/a" if score.omniscience_index is None
                                 else f"{score.omniscience_index:.1f}"} for name, score in run.by_mode])


workspace = ui.current_workspace()
st.title("Weekly report")
period = choose_period(workspace)
report = weekly_report(workspace, period)
st.caption(f"{period_line(report)} (UTC days). The same report as a file:")
downloads(report)
volume_section(report)
modes_section(report)
kinds_section(report)
examples_section(report)
reviews_section(report)
exports_section(report)
evaluations_section(report)
