"""Ingest: pick files, check how Faultline reads each one, fix what it guessed wrong, run.

File names, column names and quarantined lines come from the user's files and are shown as
plain text only.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import streamlit as st

import access_ui
import table_ui
import ui
from mining.access import inside
from mining.common import plural
from mining.ingest import (MAPPABLE_FIELDS, ColumnMapping, FilePlan, FilePreview, FileProblem, IngestReport,
                           ingest_plans, list_log_files, preview_file, shape_labels)
from mining.summary import workspace_summary

REPORTS_KEY = "ingest_reports"
DAY_FIRST_LABELS = {None: "Guess from the dates", True: "Day first (31/12/2026)", False: "Month first (12/31/2026)"}
SCALE_LABELS = {None: "Guess from the column name", "thumbs": "Thumbs (up / down)", "rating": "Rating (1-5)",
                "score": "Score (0-1)"}


def index_of(options: list, value: object) -> int:
    """The position of `value` among `options`, or 0 ("—" / "guess") when the suggestion is not one of them."""
    return options.index(value) if value in options else 0


def chosen_files() -> list[Path]:
    """Uploaded files (saved to a temporary folder under their own names) and files at a typed path."""
    uploads = st.file_uploader("Upload log files", accept_multiple_files=True,
                               help="JSONL, JSON, CSV, TSV or Parquet, optionally gzipped.")
    typed = st.text_input("…or a file or folder on this machine", placeholder="/path/to/logs",
                          key="ingest_path")
    files = ui.save_uploads(uploads or [], ui.upload_folder())
    folder = access_ui.checked_path(typed) if typed.strip() else None
    if folder is not None:
        try:
            listed = list_log_files([folder])
        except FileProblem as exc:
            st.error(ui.plain(exc))
            listed = []
        # A link inside a data folder may point outside it: such files are left out, and said so.
        folders = ui.workspace_folders()
        outside = [path for path in listed if not inside(path, folders)]
        for path in outside:
            st.error(ui.plain(f"{path}: links outside the folders this app may use; left out."))
        files += [path for path in listed if path not in outside]
    return files


def mapping_widgets(preview: FilePreview, key: str) -> ColumnMapping:
    """One selectbox per record field, preset to the suggestion, plus how to read dates and feedback."""
    suggested = preview.mapping or ColumnMapping()
    st.text("Column mapping: which column holds each field")
    columns: dict[str, str] = {}
    grid = st.columns(4)
    for index, field in enumerate(MAPPABLE_FIELDS):
        options = [None, *preview.columns]
        choice = grid[index % 4].selectbox(
            field.replace("_", " "), options, index=index_of(options, suggested.columns.get(field)),
            format_func=lambda column: "—" if column is None else column, key=f"{key}:map:{field}")
        if choice is not None:
            columns[field] = choice
    options_row = st.columns(2)
    day_first = options_row[0].selectbox("Dates", list(DAY_FIRST_LABELS), format_func=DAY_FIRST_LABELS.get,
                                         index=index_of(list(DAY_FIRST_LABELS), suggested.day_first),
                                         key=f"{key}:day_first")
    scale = options_row[1].selectbox("Feedback scale", list(SCALE_LABELS), format_func=SCALE_LABELS.get,
                                     index=index_of(list(SCALE_LABELS), suggested.feedback_scale),
                                     key=f"{key}:scale")
    mapping = ColumnMapping(columns, scale, day_first)
    for problem in mapping.problems(preview.columns):
        st.warning(ui.plain(problem))
    return mapping


def file_plan(path: Path, labels: dict[str, str]) -> FilePlan:
    """A file's preview and the user's corrections to it, as the plan to ingest it by."""
    key = f"ingest:{path}"
    with st.container(border=True):
        st.text(ui.shown_path(path))
        detected = preview_file(path)
        override = st.selectbox(
            "Format", [None, *labels], key=f"{key}:format",
            format_func=lambda name: f"Detected: {labels.get(detected.format, 'not recognised')}" if name is None
            else labels[name])
        preview = preview_file(path, override) if override else detected
        st.text(f"Container: {preview.container} · format: {labels.get(preview.format, 'not recognised')}")
        if preview.format == "generic":
            return FilePlan(path, "generic", mapping_widgets(preview, key))
        for problem in preview.problems:
            st.warning(ui.plain(problem))
        return FilePlan(path, override)


def show_report(report: IngestReport) -> None:
    """One file's outcome: the counts, the error if the whole file failed, and its quarantined lines."""
    shown = ui.shown_path(report.file)
    with st.container(border=True):
        st.text(shown)
        if report.error:
            st.error(ui.plain(ui.shown_message(report.error, report.file)))
            return
        counts = st.columns(5)
        for column, (label, value) in zip(counts, [
            ("Read", report.rows_read), ("Added", report.rows_added), ("Already present", report.rows_present),
            ("Quarantined", report.rows_quarantined), ("Skipped", report.rows_skipped),
        ]):
            column.metric(label, f"{value:,}")
        if report.rows_resolved:
            st.text(f"{plural(report.rows_resolved, 'line')} of this file quarantined before now read, or are gone: "
                    "cleared from the Quarantine page")
        if report.quarantine_samples:
            st.text("Quarantined lines (the first 20; all are on the Quarantine page)")
            table_ui.table(pl.DataFrame(report.quarantine_samples,
                                        schema={"line": pl.Int64, "reason": pl.String, "raw": pl.String}))


if not access_ui.lead_only("ingest"):  # not in a reviewer's navigation; a second lock
    st.stop()
workspace = ui.current_workspace()
st.title("Ingest")
files = chosen_files()
labels = shape_labels()
plans = []
for path in files:
    try:
        plans.append(file_plan(path, labels))
    except (FileProblem, OSError, ValueError) as exc:
        st.error(ui.plain(f"{path}: {exc}"))
if st.button("Run ingest", type="primary", disabled=not plans):
    st.session_state[REPORTS_KEY] = ingest_plans(workspace, plans, progress=ui.progress_reporter("Ingesting…"))
reports = st.session_state.get(REPORTS_KEY, [])
for report in reports:
    show_report(report)
if any(report.rows_added for report in reports):
    st.info("Next: **Failures** shows what the signals found in these calls, and **Failure modes** groups the "
            "failures into the problems that keep coming back.", icon=":material/arrow_forward:")
st.subheader("Ingest history")
ui.ingest_history(workspace_summary(workspace)["recent_ingests"])
