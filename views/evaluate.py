"""Evaluate: score candidate answers on the golden set, read a run's scores, compare two runs.

Why the three figures side by side: accuracy alone rewards guessing, so every run shows the
omniscience index (a wrong answer costs a point, "I don't know" costs nothing) and the
hallucination rate next to it, each with its 95% interval (mining.evaluate.scores). A file run is
scored at once; an endpoint run asks the model in a background job (mining/jobs.py) that shows its
progress, can be stopped, and continues where it stopped when started again. Answers, reasons and
mode names come from models and logs: shown with st.text, st.dataframe and html-escaped charts.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

import access_ui
from endpoint_ui import endpoint_fields
import table_ui
import ui
from mining import jobs
from mining.common import plural
from mining.evaluate.answers import AnswerFileError, AnswerMapping
from mining.evaluate.checks import CHECK_TYPES, DEFAULT_CHECKS, CheckError, describe, parse_check
from mining.evaluate.compare import cluster_figure, compare_runs, delta_figure
from mining.evaluate.items import GoldenSet, golden_set, set_item_checks
from mining.evaluate.runs import RunError, RunSummary, evaluate_file, list_runs, run_items, run_scores
from mining.evaluate.scores import format_figure
from mining.store import Workspace

WATCHING_KEY = "evaluate_watching_job"
NOTICE_KEY = "evaluate_notice"
RUN_KEY = "evaluate_watched_run"
SUMMARY_KEY = "evaluate_last_summary"
METRICS = (("accuracy", "Accuracy", "accuracy_ci", True), ("omniscience_index", "Omniscience index", "omniscience_ci", False),
           ("hallucination_rate", "Hallucination rate", "hallucination_ci", True))
RUN_COLUMNS = {
    "name": st.column_config.TextColumn("Run"),
    "source": st.column_config.TextColumn("From", width="small"),
    "status": st.column_config.TextColumn("Status", width="small"),
    "items": st.column_config.NumberColumn("Items"),
    "accuracy": table_ui.percent_column("Accuracy"),
    "omniscience_index": st.column_config.NumberColumn("Omniscience", format="%.1f"),
    "hallucination_rate": table_ui.percent_column("Hallucination"),
    "updated_at": st.column_config.DatetimeColumn("Updated", format="YYYY-MM-DD HH:mm", timezone="UTC"),
}


def mode_name(key: Any, name: str | None) -> str:
    return "unclustered" if str(key) == "-1" else (name or f"mode {key}")


# --- Starting a run ----------------------------------------------------------------------------


def checks_input() -> list[dict[str, Any]] | None:
    """The set's checks, one spec per line; None (with the error shown) when one is bad."""
    text = st.text_area("Checks (one per line; all must pass)", value="\n".join(describe(c) for c in DEFAULT_CHECKS),
                        key="evaluate_checks", height=80,
                        help=f"{', '.join(CHECK_TYPES)}; e.g. normalized, numeric:0.01, semantic:0.85, "
                             "regex:(?i)pro plan. A golden item's own checks replace these.")
    try:
        return [parse_check(line) for line in text.splitlines() if line.strip()] or None
    except CheckError as exc:
        st.error(ui.plain(str(exc)))
        return None


def file_source(workspace: Workspace, name: str, checks: list[dict[str, Any]] | None, redact: bool) -> None:
    upload = st.file_uploader("Candidate answers", type=["jsonl", "json", "csv", "parquet"], key="evaluate_upload",
                              help='One row per golden item: {"id": ID as the source gave it, "answer": TEXT}.')
    columns = st.columns(4)
    key = columns[0].selectbox("Match rows by", ["id", "input"], key="evaluate_key",
                               format_func={"id": "Id", "input": "Input text"}.get)
    id_column = columns[1].text_input("Id column", value="id", key="evaluate_id_column")
    answer_column = columns[2].text_input("Answer column", value="answer", key="evaluate_answer_column")
    input_column = columns[3].text_input("Input column", value="input", key="evaluate_input_column")
    if st.button("Evaluate the file", type="primary", key="evaluate_file", disabled=upload is None):
        if not name:
            st.error("Give the run a name.")
            return
        path = ui.save_uploads([upload], ui.upload_folder())[0]
        mapping = AnswerMapping(key=key, id_column=id_column.strip(), answer_column=answer_column.strip(),
                                input_column=input_column.strip())
        try:
            with st.spinner("Scoring…"):
                summary = evaluate_file(workspace, name, path, mapping, checks, ui.reviewer_name() or None, redact)
        except (AnswerFileError, RunError) as exc:
            st.error(ui.plain(str(exc)))
            return
        st.session_state[SUMMARY_KEY] = summary
        st.session_state["evaluate_chosen_run"] = name


def endpoint_source(workspace: Workspace, name: str, checks: list[dict[str, Any]] | None, redact: bool) -> None:
    config = endpoint_fields("evaluate")
    running = jobs.is_running(workspace)
    buttons = st.container(horizontal=True)
    if buttons.button("Ask the endpoint", type="primary", key="evaluate_endpoint", disabled=running):
        if not name:
            st.error("Give the run a name.")
            return
        chosen = config()
        if chosen is None:
            return
        if not jobs.start_endpoint_evaluation(workspace, name, chosen, checks, ui.reviewer_name() or None, redact):
            st.info("Another job is running for this workspace; its progress is below.")
        st.session_state[WATCHING_KEY] = True
        st.session_state[RUN_KEY] = name
        st.rerun()
    if buttons.button("Stop", key="evaluate_stop", disabled=not running):
        jobs.stop(workspace)


def new_run(workspace: Workspace, golden: GoldenSet) -> None:
    st.subheader("New run")
    if not golden.items:
        st.info("The golden set has no item with a reference answer yet: add golden items on the Export page "
                "(Golden set) and review them with a correction.")
        return
    name = st.text_input("Run name", key="evaluate_name", help="Reusing a name replaces a file run; an endpoint "
                                                                 "run of that name continues where it stopped.").strip()
    source = st.radio("Candidate answers from", ["file", "endpoint"], horizontal=True, key="evaluate_source",
                      format_func={"file": "A file", "endpoint": "An OpenAI-compatible endpoint"}.get)
    checks = checks_input()
    redact = st.toggle("Mask personal data in prompts and references", value=True, key="evaluate_redact")
    if source == "file":
        file_source(workspace, name, checks, redact)
    else:
        endpoint_source(workspace, name, checks, redact)
    ui.job_progress(workspace, "Asking the endpoint…", WATCHING_KEY, NOTICE_KEY)
    state = st.session_state.pop(NOTICE_KEY, None)
    if state is not None:
        watched = st.session_state.pop(RUN_KEY, None)
        if watched:
            st.session_state["evaluate_chosen_run"] = watched
        (st.error if state.error else st.success)(ui.plain(state.error or state.message))
    summary: RunSummary | None = st.session_state.pop(SUMMARY_KEY, None)
    if summary is not None:
        st.success(ui.plain(f"{summary.name}: {summary.scored} of {summary.items} golden items scored."))
        for warning in summary.warnings:
            st.warning(ui.plain(warning))


# --- Reading runs ------------------------------------------------------------------------------


def metric_row(overall: dict[str, Any]) -> None:
    columns = st.columns(4)
    for column, (key, label, interval, percent) in zip(columns, METRICS):
        column.metric(label, format_figure(overall[key], None, percent),
                      help=f"95% interval {format_figure(overall[key], overall[interval], percent).partition(' ')[2] or 'n/a'}")
    columns[3].metric("Correct / incorrect / abstained", f"{overall['correct']} / {overall['incorrect']} / "
                                                          f"{overall['abstained']}")


def groups_table(groups: dict[str, dict[str, Any]], label: str) -> None:
    """Scores per failure mode or per tag, each figure with its interval."""
    rows = [{label: mode_name(key, group.get("name")) if label == "Failure mode" else key,
             "n": group["n"], "accuracy": format_figure(group["accuracy"], group["accuracy_ci"], True),
             "omniscience": format_figure(group["omniscience_index"], group["omniscience_ci"], False),
             "hallucination": format_figure(group["hallucination_rate"], group["hallucination_ci"], True),
             "correct": group["correct"], "incorrect": group["incorrect"], "abstained": group["abstained"]}
            for key, group in groups.items()]
    table_ui.table(pl.DataFrame(rows))


def runs_section(workspace: Workspace) -> list[str]:
    st.subheader("Runs")
    runs = list_runs(workspace)
    if runs.is_empty():
        st.text("No evaluation run yet.")
        return []
    table_ui.table(runs, columns=RUN_COLUMNS, column_order=list(RUN_COLUMNS))
    names = runs["name"].to_list()
    chosen = st.selectbox("Run", names, key="evaluate_chosen_run")
    scores = run_scores(workspace, chosen)
    if not scores:
        st.text("This run has no scores yet.")
        return names
    metric_row(scores["overall"])
    st.caption("Omniscience index: +1 per correct, -1 per incorrect, 0 per abstention, scaled to -100..100. "
               "Hallucination rate: incorrect / (incorrect + abstained). Intervals: 95% bootstrap.")
    left, right = st.tabs(["Per failure mode", "Per tag"])
    with left:
        groups_table(scores["clusters"], "Failure mode")
    with right:
        groups_table(scores["tags"], "Tag")
    with st.expander("Every item: verdict, reason, answer"):
        table_ui.table(run_items(workspace, chosen))
    return names


def compare_section(workspace: Workspace, names: list[str]) -> None:
    st.subheader("Compare two runs")
    if len(names) < 2:
        st.text("Score two runs to compare them.")
        return
    columns = st.columns(2)
    a = columns[0].selectbox("Run A (before)", names, index=len(names) - 1, key="evaluate_compare_a")
    b = columns[1].selectbox("Run B (after)", names, index=0, key="evaluate_compare_b")
    if a == b:
        st.text("Choose two different runs.")
        return
    try:
        comparison = compare_runs(workspace, a, b)
    except RunError as exc:
        st.error(ui.plain(str(exc)))
        return
    st.text(f"{b} against {a} on {comparison.paired} golden items both answered: "
            f"{len(comparison.improved)} improved, {len(comparison.regressed)} regressed.")
    percent = {"accuracy": True, "omniscience_index": False, "hallucination_rate": True}
    table_ui.table(pl.DataFrame([{"metric": d.metric.replace("_", " "), "A": format_figure(d.a, None, percent[d.metric]),
                                  "B": format_figure(d.b, None, percent[d.metric]),
                                  "B - A [95% interval]": format_figure(d.delta, d.ci, percent[d.metric])}
                                 for d in comparison.deltas]))
    left, right = st.columns(2)
    left.plotly_chart(delta_figure(comparison), key="evaluate_delta_chart")
    right.plotly_chart(cluster_figure(comparison), key="evaluate_cluster_chart")
    for label, items in (("Regressed", comparison.regressed), ("Improved", comparison.improved)):
        st.text(f"{label}: {len(items)}")
        if items:
            table_ui.table(pl.DataFrame(items))


def item_checks_section(workspace: Workspace, golden: GoldenSet) -> None:
    st.subheader("Checks of single golden items")
    own = [{"id": item.source_id, "checks": ", ".join(describe(c) for c in item.checks)}
           for item in golden.items if item.checks]
    if own:
        table_ui.table(pl.DataFrame(own))
    if not golden.items:
        return
    by_id = {item.source_id: item for item in golden.items}
    chosen = st.selectbox("Golden item", list(by_id), key="evaluate_item")
    item = by_id[chosen]
    st.text(f"Input: {item.input or ''}")
    st.text(f"Reference: {item.reference}")
    specs = st.text_area("Its checks (one per line)", value="\n".join(describe(c) for c in item.checks or []),
                         key=f"evaluate_item_checks_{item.record_id}", height=80, help="Empty: the run's checks apply.")
    if st.button("Save the item's checks", key="evaluate_save_item_checks"):
        try:
            checks = [parse_check(spec) for spec in specs.splitlines() if spec.strip()] or None
        except CheckError as exc:
            st.error(ui.plain(str(exc)))
            return
        set_item_checks(workspace, item.record_id, checks)
        st.rerun()


if not access_ui.lead_only("evaluate"):  # not in a reviewer's navigation; a second lock
    st.stop()
workspace = ui.current_workspace()
st.title("Evaluate")
golden = golden_set(workspace)
st.text(f"Golden set: {plural(len(golden.items), 'item')} with a reference answer"
        + (f", {len(golden.left_out)} without one yet" if golden.left_out else ""))
run_tab, runs_tab, compare_tab, checks_tab = st.tabs(["New run", "Runs", "Compare", "Item checks"])
with run_tab:
    new_run(workspace, golden)
with runs_tab:
    run_names = runs_section(workspace)
with compare_tab:
    compare_section(workspace, run_names)
with checks_tab:
    item_checks_section(workspace, golden)
