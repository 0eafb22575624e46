"""Failures: what the failure signals found, how the failure rate moves, and the choices behind them.

Rule names, conditions and descriptions and the phrase lists are typed by users, and a signal's
detail quotes log text: they are shown with st.text, st.code or st.dataframe, and through
ui.plain where an element reads markdown (metric labels, toggles, st.error).
"""

from __future__ import annotations

import plotly.express as px
import streamlit as st

import access_ui
import ui
from mining.common import plural
from mining.detect import (
    SIGNALS, SignalSettings, SignalSettingsError, add_rule, current_summary, detect, failure_rate_over_time,
    last_detection, list_rules, remove_rule, save_signal_settings, set_rule_enabled, signal_counts, signal_settings,
)
from mining.ingest import RECORD_COLUMNS
from mining.store import Workspace

FLASH_KEY = "failures_flash"
BUCKETS = {"day": "Day", "week": "Week"}


def flash(message: str) -> None:
    """Keep a message for the next run, so it survives the rerun that shows the new counts."""
    st.session_state[FLASH_KEY] = message
    st.rerun()


def run_detection(workspace: Workspace) -> None:
    """Detection runs after every ingest and settings change; this re-runs it on demand."""
    if not access_ui.allowed("settings"):
        return
    if st.button("Run detection", type="primary"):
        summary = detect(workspace)
        st.success(f"Detection done in {summary.seconds:.2f} s: {plural(summary.failures, 'failure')} "
                   f"in {plural(summary.total, 'record')}.")
    message = st.session_state.pop(FLASH_KEY, None)
    if message:
        st.success(ui.plain(message))


def totals(workspace: Workspace) -> None:
    """Records, failures and the rate, and whether every record has been checked."""
    summary = current_summary(workspace)
    columns = st.columns(3)
    columns[0].metric("Records", f"{summary.total:,}")
    columns[1].metric("Failures", f"{summary.failures:,}")
    columns[2].metric("Failure rate", f"{summary.failures / summary.total:.1%}" if summary.total else "–")
    last = last_detection(workspace)
    if summary.total and (last is None or last["total"] != summary.total):
        st.info("Some records have not been checked since they were loaded: run detection.")
    elif last:
        st.caption(f"Last run {last['at'][:19].replace('T', ' ')} UTC, in {last['seconds']:.2f} s. "
                   "A record is a failure when any signal that is on fires.")


def signal_list(workspace: Workspace) -> None:
    """Each signal with its count and what it means."""
    st.subheader("Signals")
    for count in signal_counts(workspace):
        with st.container(border=True):
            left, right = st.columns([1, 3])
            left.metric(ui.plain(count.signal.label), f"{count.records:,}" if count.enabled else "off")
            right.text(count.signal.explanation)
            if count.enabled and count.records:  # from the count to exactly those calls
                right.page_link("views/records.py", label=f"Open the {plural(count.records, 'call')} in Records",
                                icon=":material/open_in_new:", query_params={"signal": count.signal.name})


def rate_chart(workspace: Workspace) -> None:
    """The share of calls that failed, per UTC day or week."""
    st.subheader("Failure rate over time")
    bucket = st.segmented_control("Per", list(BUCKETS), format_func=BUCKETS.get, default="day",
                                  key="failures_bucket") or "day"
    rates = failure_rate_over_time(workspace, bucket)
    if rates.is_empty():
        st.info("No dated records yet.")
        return
    figure = px.line(rates, x="period", y="failure_rate", markers=True, hover_data=["records", "failures"],
                     labels={"period": f"{BUCKETS[bucket]} (UTC)", "failure_rate": "Failure rate"})
    figure.update_yaxes(tickformat=".0%", rangemode="tozero")
    st.plotly_chart(figure, width="stretch")


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def settings_form(workspace: Workspace) -> None:
    """Which signals are on and their thresholds and phrases; saving re-runs detection."""
    if not access_ui.lead_only("settings"):
        return
    st.subheader("Settings")
    settings = signal_settings(workspace)
    with st.form("signal_settings"):
        grid = st.columns(3)
        enabled = {name: grid[index % 3].toggle(ui.plain(signal.label), value=settings.is_enabled(name),
                                                 key=f"signal_on:{name}")
                   for index, (name, signal) in enumerate(SIGNALS.items())}
        row = st.columns(3)
        below = row[0].number_input("Negative feedback: score below", 0.0, 1.0, settings.negative_feedback_below,
                                    0.05, key="signal_feedback_below", help="Feedback scores run from 0 (bad) to 1.")
        percentile = row[1].number_input("Slow call: percentile per model", 0.5, 0.999, settings.latency_percentile,
                                         0.01, format="%.3f", key="signal_latency_percentile")
        min_calls = row[2].number_input("Slow call: fewest calls per model", 1, None, settings.latency_min_calls, 1,
                                        key="signal_latency_min_calls")
        refusal = st.text_area("Refusal phrases: regular expressions, one per line, case-insensitive",
                               "\n".join(settings.refusal_patterns), key="signal_refusal_patterns")
        abstention = st.text_area("Abstention phrases: regular expressions, one per line, case-insensitive",
                                  "\n".join(settings.abstention_patterns), key="signal_abstention_patterns")
        if st.form_submit_button("Save and re-detect"):
            chosen = SignalSettings(enabled=enabled, negative_feedback_below=below, latency_percentile=percentile,
                                    latency_min_calls=int(min_calls), refusal_patterns=lines(refusal),
                                    abstention_patterns=lines(abstention))
            try:
                summary = save_signal_settings(workspace, chosen)
            except SignalSettingsError as exc:
                st.error(ui.plain(exc))
            else:
                flash(f"Settings saved: {plural(summary.failures, 'failure')} in {plural(summary.total, 'record')}.")


def rules_section(workspace: Workspace) -> None:
    """The user's SQL rules: switch, remove, add (with the validation error shown as text)."""
    if not access_ui.allowed("settings"):
        return
    st.subheader("SQL rules")
    st.text("A rule is your own signal: a SQL condition over one record's columns, true where the record failed, "
            "e.g. latency_ms > 5000 AND model LIKE 'gpt-4o%'.")
    st.text("Columns: " + ", ".join(RECORD_COLUMNS))
    for rule in list_rules(workspace):
        with st.container(border=True):
            columns = st.columns([2, 5, 1], vertical_alignment="center")
            columns[0].toggle(ui.plain(rule.name), value=rule.enabled, key=f"rule_on:{rule.name}",
                              on_change=set_rule_enabled, args=(workspace, rule.name, not rule.enabled))
            columns[1].code(rule.condition, language="sql", wrap_lines=True)
            if rule.description:
                columns[1].text(rule.description)
            columns[2].button("Remove", key=f"rule_remove:{rule.name}", on_click=remove_rule,
                              args=(workspace, rule.name))
    with st.form("add_rule"):
        name = st.text_input("Name", key="rule_name", placeholder="slow_gpt4o")
        condition = st.text_area("Condition (SQL)", key="rule_condition", placeholder="latency_ms > 5000")
        description = st.text_input("Description", key="rule_description", placeholder="what it catches")
        if st.form_submit_button("Add rule"):
            try:
                summary = add_rule(workspace, name, condition, description)
            except SignalSettingsError as exc:
                st.error(ui.plain(exc))
            else:
                flash(f"Rule {name.strip()} saved: {plural(summary.failures, 'failure')} in {plural(summary.total, 'record')}.")


workspace = ui.current_workspace()
st.title("Failures")
run_detection(workspace)
totals(workspace)
signal_list(workspace)
rate_chart(workspace)
settings_form(workspace)
rules_section(workspace)
