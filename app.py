"""Faultline's app: `streamlit run app.py [-- --workspace W]` or `python -m mining app`.

This file only sets the page up, lets the visitor in (access_ui: on 127.0.0.1 the machine's owner,
elsewhere only who signed in), draws the sidebar (workspace, reviewer) and hands over to the page the
user picked, among those the visitor's role may open; each page lives in views/ and calls into
mining/ for everything it does.

Why views/ and not pages/: Streamlit treats a pages/ folder beside the entry script as an old-style
multipage app, and a fresh server's first view then lists (and runs) those pages on their own,
without this file's sidebar, until st.navigation takes over.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

import access_ui
import ui

FAVICON = Path(st.__file__).parent / "static" / "favicon.png"
WORKSPACE_PARAM = "ws"  # the URL's query parameter that names the workspace in use

# (script, title, icon, the action that opens it: None for every signed-in visitor, else a lead's)
PAGES = [
    ("views/overview.py", "Overview", ":material/home:", None),
    ("views/ingest.py", "Ingest", ":material/upload_file:", "ingest"),
    ("views/records.py", "Records", ":material/table_rows:", None),
    ("views/failures.py", "Failures", ":material/flag:", None),
    ("views/clusters.py", "Failure modes", ":material/bubble_chart:", None),
    ("views/review.py", "Review", ":material/rate_review:", None),
    ("views/export.py", "Export", ":material/dataset:", "export"),
    ("views/evaluate.py", "Evaluate", ":material/fact_check:", "evaluate"),
    ("views/train.py", "Train", ":material/model_training:", "train"),
    ("views/report.py", "Report", ":material/summarize:", None),
    ("views/quarantine.py", "Quarantine", ":material/report:", "ingest"),
]


def default_reviewer() -> str:
    """On this machine alone: the identity provider's user's name or email when st.login is used, else empty."""
    user = st.user.to_dict()
    if not user.get("is_logged_in"):
        return ""
    return str(user.get("name") or user.get("email") or "")


def check_workspace_choice() -> None:
    """The sidebar's Workspace field: a path outside the app's folders is refused and the field goes
    back to the workspace in use, so a typed path never opens or creates a file elsewhere."""
    typed = st.session_state.get(ui.WORKSPACE_KEY, "")
    checked = access_ui.checked_path(typed) if typed.strip() else None
    if checked is None:
        st.session_state["workspace_refused"] = typed
        st.session_state[ui.WORKSPACE_KEY] = st.session_state.get("workspace_in_use", ui.initial_workspace_path())
    else:
        st.session_state.pop("workspace_refused", None)
        st.session_state["workspace_in_use"] = typed


def workspace_from_link() -> None:
    """A session opened from a link starts in the workspace its `ws` parameter names (where the link
    was copied). A URL is typed by anyone: the path is checked exactly as the Workspace field checks
    it, and in team mode only a lead may switch, so a link opens nothing a typed path could not."""
    linked = st.query_params.get(WORKSPACE_PARAM)
    if not linked or ui.WORKSPACE_KEY in st.session_state:
        return
    if not access_ui.allowed("workspace"):
        st.session_state["workspace_link_refused"] = linked
    elif linked.strip() and access_ui.checked_path(linked) is not None:
        st.session_state[ui.WORKSPACE_KEY] = linked
    else:
        st.session_state["workspace_refused"] = linked


def link_workspace() -> None:
    """Keep the workspace in use in the URL (`ws`, left out for the server's default), so a link
    copied from any page, a record's included, opens in the same workspace."""
    in_use = st.session_state[ui.WORKSPACE_KEY]
    if in_use == ui.initial_workspace_path():
        st.query_params.pop(WORKSPACE_PARAM, None)
    elif st.query_params.get(WORKSPACE_PARAM) != in_use:
        st.query_params[WORKSPACE_PARAM] = in_use


def sidebar(visitor: access_ui.Visitor) -> None:
    """Workspace path and reviewer name, kept in session state so every page sees them, and in the
    URL and a cookie so a reload or a link keeps them. Signed in, the reviewer is who signed in (no
    one records reviews under another's name), and only a lead may switch workspaces."""
    with st.sidebar:
        workspace_from_link()
    st.session_state.setdefault(ui.WORKSPACE_KEY, ui.initial_workspace_path())
    st.session_state.setdefault("workspace_in_use", st.session_state[ui.WORKSPACE_KEY])
    link_workspace()
    with st.sidebar:
        if access_ui.allowed("workspace"):
            st.text_input("Workspace", key=ui.WORKSPACE_KEY, on_change=check_workspace_choice,
                          help="The DuckDB file that holds this workspace, inside the app's data folders.")
            refused = st.session_state.get("workspace_refused")
            if refused:
                st.error(ui.plain(f"Not opened: {refused} lies outside the folders this app may use "
                                  f"({', '.join(map(str, ui.workspace_folders()))})."))
        else:
            st.text("Workspace")
            st.text(st.session_state[ui.WORKSPACE_KEY])
            linked = st.session_state.get("workspace_link_refused")
            if linked:
                st.warning(ui.plain(f"The link named the workspace {linked}; only a lead may switch "
                                    "workspaces, so this is the server's own."))
        if visitor.via == "this machine":
            st.session_state.setdefault(ui.REVIEWER_KEY, ui.remembered_reviewer() or default_reviewer())
            st.text_input("Reviewer", key=ui.REVIEWER_KEY, placeholder="your name",
                          help="Recorded with every review you make; this browser keeps it for next time.")
            ui.remember_reviewer()
        else:
            st.session_state[ui.REVIEWER_KEY] = visitor.name
            access_ui.write_cookie()
            st.text(f"Signed in as {visitor.name} ({visitor.role})")
            if st.button("Sign out", key="sign_out"):
                access_ui.sign_out()
                st.rerun()


# The browser tab's icon: Streamlit's own, served by the app. Without one, the tab takes the page's
# :material/...: icon, which the browser fetches from fonts.gstatic.com: a request off this machine.
st.set_page_config(page_title="Faultline", page_icon=FAVICON, layout="wide")
visitor = access_ui.visitor()
if visitor is None:
    st.navigation([st.Page(access_ui.sign_in_page, title="Sign in", icon=":material/login:")]).run()
    st.stop()
# The pages first, then the sidebar's widgets: widgets drawn before st.navigation lose what a user
# types in them on the next rerun (Streamlit 1.67), so the reviewer's name would not stick.
page = st.navigation([st.Page(script, title=title, icon=icon, default=index == 0)
                      for index, (script, title, icon, action) in enumerate(PAGES) if access_ui.allowed(action)])
sidebar(visitor)
with ui.workspace_turn():
    page.run()
