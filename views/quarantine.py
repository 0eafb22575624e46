"""Quarantine: the lines Faultline could not read, with the reason, so a format problem is easy to fix."""

from __future__ import annotations

import streamlit as st

import access_ui
import table_ui
import ui
from mining.browse import count_quarantine, list_quarantine
from mining.summary import workspace_summary

PAGE_SIZE = 50
PAGE_KEY = "quarantine_page"

if not access_ui.lead_only("ingest"):  # not in a reviewer's navigation; a second lock
    st.stop()
workspace = ui.current_workspace()
st.title("Quarantine")
st.caption("A line leaves this list when its file is ingested again and the line now reads (or is gone). "
           "A different call under an id already held stays here until someone decides.")
by_file = workspace_summary(workspace)["quarantine_by_file"]
if not by_file:
    st.info("No quarantined lines: every line ingested so far could be read.")
else:
    file = st.selectbox("File", [None, *by_file],
                        format_func=lambda name: "All files" if name is None else f"{name} ({by_file[name]:,})")
    page = ui.page_picker(count_quarantine(workspace, file), PAGE_SIZE, PAGE_KEY, "quarantined lines")
    table_ui.table(list_quarantine(workspace, file, page, PAGE_SIZE), columns={
        "file": "File", "line": st.column_config.NumberColumn("Line", format="%d"), "reason": "Reason",
        "raw": st.column_config.TextColumn("Raw line", width="large"), "quarantined_at": "Quarantined at"})
