"""Overview: what the workspace holds; on an empty workspace, the way in (demo data or ingest)."""

from __future__ import annotations

from typing import Any

import streamlit as st

import access_ui
import table_ui
import ui
from mining.summary import workspace_summary
from mining.store import Workspace


def offer_demo(workspace: Workspace) -> None:
    """An empty workspace gets one obvious next step: load the demo, or go ingest real logs."""
    if not access_ui.lead_only("ingest"):
        return
    st.info("This workspace is empty. Load the demo data to look around, or bring your own logs on the Ingest page.")
    if not st.button("Load demo data", type="primary"):
        return
    from mining.demo import load_demo  # the demo generator is only needed on this click

    reports = load_demo(workspace, progress=ui.progress_reporter("Loading demo data…"))
    failed = [report for report in reports if not report.ok]
    for report in failed:
        st.error(ui.plain(report.error))
    if not failed:
        st.rerun()


def show_summary(summary: dict[str, Any]) -> None:
    """Totals first, then where the records came from and the latest ingests."""
    columns = st.columns(4)
    columns[0].metric("Records", f"{summary['records']:,}")
    columns[1].metric("Quarantined lines", f"{summary['quarantined']:,}")
    columns[2].metric("First call", (summary["first_ts"] or "–")[:10])
    columns[3].metric("Last call", (summary["last_ts"] or "–")[:10])
    st.subheader("Sources")
    table_ui.table(summary["by_source"], columns={
        "source_file": "Source file", "format": "Format", "records": st.column_config.NumberColumn("Records")})
    st.subheader("Recent ingests")
    ui.ingest_history(summary["recent_ingests"])


workspace = ui.current_workspace()
summary = workspace_summary(workspace)
st.title("Faultline")
st.caption("Find the failures in your production LLM logs and turn them into datasets.")
if summary["records"] == 0:
    offer_demo(workspace)
else:
    show_summary(summary)
