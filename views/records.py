"""Records: filter, search and page through the calls, and read one in full.

Everything a record holds came from a log and is untrusted, so it is shown only with st.text,
st.code, st.json and st.dataframe (see ui.py).
"""

from __future__ import annotations

import json
from datetime import timezone
from typing import Any

import polars as pl
import streamlit as st

import table_ui
import ui
from mining.browse import FilterOptions, RecordFilter, count_records, filter_options, get_record, list_records
from mining.cluster import kind_names, mode_names
from mining.detect import signal_labels, signals_of
from mining.store import Workspace

PAGE_SIZE = 50
PAGE_KEY = "records_page"
LAST_SELECTED_KEY = "records_last_selected"
SIGNALS_KEY = "records_f_signals"
MODES_KEY = "records_f_modes"
KINDS_KEY = "records_f_kinds"
FEEDBACK_LABELS = {"any": "Any", "negative": "Negative", "positive": "Positive", "none": "No feedback"}
TABLE_COLUMNS = {
    "ts": st.column_config.DatetimeColumn("Time (UTC)", format="YYYY-MM-DD HH:mm", timezone="UTC"),
    "request": st.column_config.TextColumn("Request", width=320),
    "response": st.column_config.TextColumn("Response", width=320),
    "feedback_score": st.column_config.NumberColumn("Feedback", format="%.2f", width="small"),
    "error": st.column_config.TextColumn("Error", width="medium"),
    "finish_reason": st.column_config.TextColumn("Finish", width="small"),
    "model": st.column_config.TextColumn("Model"),
    "status": st.column_config.TextColumn("Status", width="small"),
    "source_file": st.column_config.TextColumn("Source file"),
    "source_id": st.column_config.TextColumn("Source id"),
}



def from_link(key: str, param: str, known: list[Any], kind: type) -> None:
    """A link's filter (`?signal=refusal&mode=3`, from a count on another page) as the widget's
    starting value, once: afterwards the reader's own choice wins. Unknown values are dropped."""
    if key in st.session_state or param not in st.query_params:
        return
    chosen = []
    for value in st.query_params.get_all(param):
        try:
            value = kind(value)
        except ValueError:
            continue
        if value in known:
            chosen.append(value)
    st.session_state[key] = chosen


def filters(workspace: Workspace, options: FilterOptions) -> RecordFilter:
    """The filter widgets, read into a RecordFilter; a link may choose the signals, modes and kinds."""
    search = st.text_input("Search", placeholder="words in the request, the response or the conversation",
                           key="records_search")
    labels, modes, kinds = signal_labels(workspace), mode_names(workspace), kind_names(workspace)
    from_link(SIGNALS_KEY, "signal", list(labels), str)
    from_link(MODES_KEY, "mode", list(modes), int)
    from_link(KINDS_KEY, "kind", list(kinds), int)
    what = st.columns(3)
    signals = what[0].multiselect("Signal", list(labels), format_func=lambda name: labels.get(name, name),
                                  key=SIGNALS_KEY)
    chosen_modes = what[1].multiselect("Failure mode", list(modes), format_func=modes.get, key=MODES_KEY,
                                       help="Failure modes of the latest clustering run: what was asked.")
    chosen_kinds = what[2].multiselect("Failure kind", list(kinds), format_func=kinds.get, key=KINDS_KEY,
                                       help="Failure kinds of the latest clustering run: what went wrong in the answer.")
    first_row = st.columns(3)
    files = first_row[0].multiselect("Source file", options.source_files)
    formats = first_row[1].multiselect("Format", options.formats)
    models = first_row[2].multiselect("Model", options.models)
    second_row = st.columns([2, 1, 1], vertical_alignment="bottom")
    with second_row[0]:
        since, until = ui.time_range(options)
    feedback = second_row[1].selectbox("Feedback", list(FEEDBACK_LABELS), format_func=FEEDBACK_LABELS.get)
    errors_only = second_row[2].toggle("Errors only")
    return RecordFilter(tuple(files), tuple(formats), tuple(models), since, until, feedback,
                        True if errors_only else None, search, tuple(signals), tuple(chosen_modes),
                        tuple(chosen_kinds))


def record_table(rows: pl.DataFrame, table_key: str) -> str | None:
    """The page of records as a table; returns the record_id of the selected row, if any."""
    event = table_ui.table(rows, key=table_key, on_select="rerun", selection_mode="single-row",
                           columns=TABLE_COLUMNS, column_order=list(TABLE_COLUMNS))
    selected = event.selection.rows
    return rows["record_id"][selected[0]] if selected and selected[0] < rows.height else None


def record_to_open(selected: str | None, new_table: bool) -> str | None:
    """Which record to show: the URL's `record` (a record id or the source's id), so a record is
    linkable and a link, Open in Records or a reload lands on it; a reader picking or unpicking a row
    of the table on screen changes it.

    Why `new_table`: a table drawn afresh (another page of results, another filter, or this page
    opened again, after which Streamlit has dropped the old selection) has picked nothing, and must
    not close the record the URL points at.
    """
    if not new_table and selected != st.session_state.get(LAST_SELECTED_KEY):
        if selected:
            st.query_params["record"] = selected
        else:
            st.query_params.pop("record", None)
    st.session_state[LAST_SELECTED_KEY] = selected
    return st.query_params.get("record")


def show_feedback(record: dict[str, Any]) -> None:
    """The normalised score first (what the failure signals use), then what the source gave."""
    score = record["feedback_score"]
    st.metric("Feedback score (0 = bad, 1 = good)", "–" if score is None else f"{score:.2f}")
    if record["feedback_comment"]:
        st.text(record["feedback_comment"])
    if record["feedback"]:
        st.json(record["feedback"])


def show_raw_line(raw: str) -> None:
    """The line exactly as logged, pretty-printed when it is JSON."""
    try:
        st.code(json.dumps(json.loads(raw), indent=2, ensure_ascii=False), language="json", wrap_lines=True)
    except ValueError:
        st.code(raw, language=None, wrap_lines=True)


def record_detail(workspace: Workspace, key: str) -> None:
    """One record in full, in tabs: the chat first, since that is what a reviewer reads."""
    record = get_record(workspace, key)
    if record is None:
        st.warning(ui.plain(f"No record has the id {key} in the workspace {workspace.path}."))
        return
    st.subheader("Record")
    when = record["ts"].astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC") if record["ts"] else None
    st.text(" · ".join(str(part) for part in (
        record["source_id"] or record["record_id"], when, record["model"], record["source_file"]) if part))
    for signal in signals_of(workspace, record["record_id"]):
        st.warning(ui.plain(f"{signal['label']}: {signal['detail'] or ''}"), icon=":material/flag:")
    tabs = st.tabs(["Conversation", "Tool calls", "Feedback", "Details", "Raw line"])
    with tabs[0]:
        ui.show_conversation(record)
    with tabs[1]:
        st.json({"tool_calls": record["tool_calls"], "tools": record["tools"]})
    with tabs[2]:
        show_feedback(record)
    with tabs[3]:
        st.json(ui.call_details(record))
    with tabs[4]:
        show_raw_line(record["raw"])


workspace = ui.current_workspace()
st.title("Records")
options = filter_options(workspace)
if not options.source_files:
    st.info("No records yet: ingest logs on the Ingest page, or load the demo data from the Overview.")
else:
    record_filter = filters(workspace, options)
    page = ui.page_picker(count_records(workspace, record_filter), PAGE_SIZE, PAGE_KEY, "matching records")
    rows = list_records(workspace, record_filter, page, PAGE_SIZE)
    # A fresh table per page, filter and rows, so a selection never points at a row it was not made on.
    table_key = ui.table_key("records_table", rows["record_id"], page, record_filter)
    new_table = table_key not in st.session_state
    opened = record_to_open(record_table(rows, table_key), new_table)
    if opened:
        st.divider()
        record_detail(workspace, opened)
