"""Faultline's app: `streamlit run app.py [-- --workspace W]`.

This file only sets the page up, draws the sidebar (workspace, reviewer) and hands over to the
page the user picked; each page lives in views/ and calls into mining/ for everything it does.

Why views/ and not pages/: Streamlit treats a pages/ folder beside the entry script as an old-style
multipage app, and a fresh server's first view then lists (and runs) those pages on their own,
without this file's sidebar, until st.navigation takes over.
"""

from __future__ import annotations

import streamlit as st

import ui


def default_reviewer() -> str:
    """The signed-in user's name or email when login is configured; otherwise left for the user."""
    user = st.user.to_dict()
    if not user.get("is_logged_in"):
        return ""
    return str(user.get("name") or user.get("email") or "")


def sidebar() -> None:
    """Workspace path and reviewer name, kept in session state so every page sees them."""
    st.session_state.setdefault(ui.WORKSPACE_KEY, ui.initial_workspace_path())
    st.session_state.setdefault(ui.REVIEWER_KEY, default_reviewer())
    with st.sidebar:
        st.text_input("Workspace", key=ui.WORKSPACE_KEY, help="The DuckDB file that holds this workspace.")
        st.text_input("Reviewer", key=ui.REVIEWER_KEY, placeholder="your name",
                      help="Recorded with every review you make.")


st.set_page_config(page_title="Faultline", layout="wide")
# The pages first, then the sidebar's widgets: widgets drawn before st.navigation lose what a user
# types in them on the next rerun (Streamlit 1.67), so the reviewer's name would not stick.
page = st.navigation([
    st.Page("views/overview.py", title="Overview", icon=":material/home:", default=True),
    st.Page("views/ingest.py", title="Ingest", icon=":material/upload_file:"),
    st.Page("views/records.py", title="Records", icon=":material/table_rows:"),
    st.Page("views/failures.py", title="Failures", icon=":material/flag:"),
    st.Page("views/clusters.py", title="Clusters", icon=":material/bubble_chart:"),
    st.Page("views/review.py", title="Review", icon=":material/rate_review:"),
    st.Page("views/export.py", title="Export", icon=":material/dataset:"),
    st.Page("views/evaluate.py", title="Evaluate", icon=":material/fact_check:"),
    st.Page("views/report.py", title="Report", icon=":material/summarize:"),
    st.Page("views/quarantine.py", title="Quarantine", icon=":material/report:"),
])
sidebar()
page.run()
