"""Clusters: find the recurring failure modes, rank them, map them, and read one up close.

Finding them (embedding + clustering) runs in a background job from mining/jobs.py, so the page
stays usable and only polls the job's progress. Cluster names and keywords come from log text and
reviewers, example texts and hover text are log text: all are untrusted and shown with st.text,
st.code and st.dataframe, through ui.plain where an element reads markdown, and html-escaped in
plotly hover text (plotly reads a few HTML tags there).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import plotly.graph_objects as go
import polars as pl
import streamlit as st

import access_ui
import table_ui
from endpoint_ui import endpoint_fields
import ui
from mining import jobs
from mining.browse import get_record
from mining.cluster import (ModeKindTable, cluster_detail, forget_keep_apart, keep_apart, kinds_of_mode, latest_run,
                            list_clusters, list_keep_apart, map_figure, map_points, mode_kind_table, mode_parts,
                            rename_cluster, similar_records)
from mining.common import plural
from mining.detect import signals_of
from mining.embed import BACKENDS, DEFAULT_MODEL, TEXT_CHOICES, embedding_settings, save_embedding_settings
from mining.store import Workspace

ALGORITHMS = {"hdbscan": "HDBSCAN: finds how many modes there are", "kmeans": "k-means: a fixed number of modes"}
SCOPES = {"failures": "Failures only", "all": "All records"}
TEXTS = {"request": "The request", "response": "The response", "both": "Request and response"}
MERGE_REASONS = {"neighbours": "their calls are each other's nearest neighbours",
                 "failures": "close requests that fail the same way"}
MAP_POINTS = 5_000  # drawn on the map: enough to see every mode; 20,000 sent 2.8 MB of hover text a page run
WATCHING_KEY = "clusters_watching_job"
NOTICE_KEY = "clusters_notice"
LIST_COLUMNS = {
    "name": st.column_config.TextColumn("Failure mode", width="large"),
    "size": st.column_config.NumberColumn("Records"),
    "failures": st.column_config.NumberColumn("Failures"),
    "failure_rate": table_ui.percent_column("Failure rate", help="Of all the calls of this kind, the share that failed."),
    "interval": st.column_config.TextColumn("95% interval", width="small",
                                            help="Where the failure rate lies, given how few calls some modes have."),
    "lift": st.column_config.NumberColumn("Lift", format="%.1f×", help="Failure rate here over the overall rate."),
    "status": st.column_config.TextColumn("Trend", width="small"),
    "first_seen": st.column_config.DatetimeColumn("First seen", format="YYYY-MM-DD", timezone="UTC"),
    "last_seen": st.column_config.DatetimeColumn("Last seen", format="YYYY-MM-DD", timezone="UTC"),
}


# --- Finding failure modes: the background job -------------------------------------------------


def run_form(workspace: Workspace) -> None:
    """The choices behind a run and the button that starts it; a run already going is not doubled."""
    if not access_ui.lead_only("cluster"):
        return
    settings = embedding_settings(workspace)
    with st.form("find_failure_modes", border=True):
        st.subheader("Find failure modes")
        columns = st.columns(6)
        algorithm = columns[0].selectbox("Algorithm", list(ALGORITHMS), format_func=ALGORITHMS.get,
                                         key="clusters_algorithm")
        scope = columns[1].selectbox("Records", list(SCOPES), format_func=SCOPES.get, key="clusters_scope")
        text = columns[2].selectbox("Compare", list(TEXT_CHOICES), format_func=TEXTS.get,
                                    index=list(TEXT_CHOICES).index(settings.text), key="clusters_text",
                                    help="Which text of a call is embedded and compared.")
        attach = columns[3].toggle("Attach the unclustered", value=True, key="clusters_attach",
                                   help="Put outliers into the nearest mode when they are within its reach, "
                                        "instead of leaving them unclustered.")
        merge = columns[4].toggle("Merge modes that are one problem", value=True, key="clusters_merge",
                                  help="Merge two close modes when their calls are each other's nearest "
                                       "neighbours, or when they fail the same way. Each merge is shown in the "
                                       "mode's detail and can be undone there.")
        recurring_only = columns[5].toggle("Only failures that recur", value=True, key="clusters_recurring",
                                           help="Form modes from the failures whose nearest calls mostly fail "
                                                "too. A one-off (most calls like it pass) joins a mode only "
                                                "when it lies within it. Applies when clustering the failures.")
        with st.expander("Embedding model"):
            left, right = st.columns([3, 2])
            model = left.text_input("Model", value=settings.model, key="clusters_model",
                                    help=f"{DEFAULT_MODEL} (packaged with Faultline) or the path of a local "
                                         "sentence-transformers model folder. Nothing is downloaded.")
            backend = right.selectbox("Runs on", BACKENDS, index=BACKENDS.index(settings.backend),
                                      key="clusters_backend", help="See bench/README.md for speed and quality.")
        submitted = st.form_submit_button("Find failure modes", type="primary")
    if submitted:
        if model.strip() not in ("", DEFAULT_MODEL) and access_ui.checked_path(model) is None:
            return  # a model folder outside the app's folders is never read
        try:
            chosen = replace(settings, model=model.strip() or DEFAULT_MODEL, backend=backend, text=text)
            _ = chosen.model_path  # a folder that does not exist is refused here, not in the background
        except ValueError as exc:
            st.error(ui.plain(str(exc)))
            return
        save_embedding_settings(workspace, chosen)
        start_job(workspace, algorithm, scope, attach, merge, recurring_only)


def start_job(workspace: Workspace, algorithm: str, scope: str, attach: bool, merge: bool,
              recurring_only: bool) -> None:
    """Start the embed + cluster job, or say that one is already running."""
    started = jobs.start_clustering(workspace, algorithm=algorithm, scope=scope, attach_unclustered=attach,
                                    merge_similar=merge, recurring_only=recurring_only)
    if not started:
        st.info("A run is already going for this workspace; its progress is below.")
    st.session_state[WATCHING_KEY] = True


def model_naming(workspace: Workspace) -> None:
    """Optional: names and one-line summaries of the latest run's modes from a local model."""
    if not access_ui.allowed("cluster"):
        return
    with st.expander("Name the modes with a local model (optional)"):
        st.caption("Sends each mode's keywords and up to five example requests to an OpenAI-compatible "
                   "endpoint and asks for a short name and a one-line summary. Modes a reviewer renamed, and "
                   "any answer that is not a usable name, keep their names.")
        config = endpoint_fields("clusters_naming")
        if st.button("Name the modes", key="clusters_naming_start", disabled=jobs.is_running(workspace)):
            chosen = config()
            if chosen is None:
                return
            if not jobs.start_model_naming(workspace, chosen):
                st.info("A job is already running for this workspace; its progress is below.")
            st.session_state[WATCHING_KEY] = True
            st.rerun()


# --- The ranked list ---------------------------------------------------------------------------


def interval(cluster: dict[str, Any]) -> str:
    """A mode's failure-rate interval as whole percents, "62–94%" (none for a gone mode or an old run)."""
    low, high = cluster.get("failure_rate_low"), cluster.get("failure_rate_high")
    return "–" if low is None or high is None else f"{low:.0%}–{high:.0%}"


def cluster_table(clusters: list[dict[str, Any]]) -> int | None:
    """The failure modes, biggest impact first; returns the id of the selected one, if any."""
    rows = pl.DataFrame([{column: interval(cluster) if column == "interval" else cluster.get(column)
                          for column in ("id", *LIST_COLUMNS)} for cluster in clusters], infer_schema_length=None)
    event = table_ui.table(rows, key="clusters_table", on_select="rerun",
                           selection_mode="single-row", columns=LIST_COLUMNS, column_order=list(LIST_COLUMNS))
    selected = event.selection.rows
    return rows["id"][selected[0]] if selected and selected[0] < rows.height else None


# --- What went wrong: failure kinds across the modes -----------------------------------------


def kind_columns(table: ModeKindTable) -> dict[str, Any]:
    """One column per kind, keyed by its id (two kinds may read alike) and headed by its name."""
    columns: dict[str, Any] = {"mode": st.column_config.TextColumn("Failure mode", width="medium")}
    for kind in table.kinds:
        columns[f"kind_{kind['id']}"] = st.column_config.NumberColumn(
            kind["name"], help=ui.plain(f"{kind['name']}: {plural(kind['size'], 'call')} in all"))
    return columns


def kinds_section(workspace: Workspace, clusters: list[dict[str, Any]], run_id: str) -> None:
    """The mode x kind table: what users asked (rows) against what went wrong in the answer
    (columns), the kinds that cut across modes in words, and a link to each kind's calls."""
    table = mode_kind_table(workspace, clusters, run_id)
    st.subheader("What went wrong, across the modes")
    if not table.kinds:
        st.info("This run has no failure kinds: it was made before Faultline sorted failures into kinds. "
                "Find failure modes again to see them.")
        return
    st.caption("A failure's kind is what its answer did: the signals that say so (a refusal, a cut-off answer, "
               "invalid JSON...) or, when none fired, the wording of the answer shared with other failures. "
               "A kind in many modes is one fix for all of them.")
    for line in table.sentences():
        st.text(line)
    columns = kind_columns(table)
    rows = pl.DataFrame([{"mode": mode["name"], **{f"kind_{kind['id']}": table.cell(mode["id"], kind["id"])
                                                   for kind in table.kinds}} for mode in table.modes],
                        schema={name: pl.String if name == "mode" else pl.Int64 for name in columns})
    table_ui.table(rows, key="clusters_kinds", columns=columns, column_order=list(columns))
    with st.expander("Open a kind's calls in Records"):
        for kind in table.kinds:
            st.page_link("views/records.py", label=ui.plain(f"{kind['name']}: {plural(kind['size'], 'call')}"),
                         icon=":material/open_in_new:", query_params={"kind": str(kind["id"])})


def mode_kinds(workspace: Workspace, cluster_id: int, run_id: str) -> None:
    """What went wrong in this mode, by kind, each opening exactly those calls in Records."""
    kinds = kinds_of_mode(workspace, cluster_id, run_id)
    if not kinds:
        return
    st.markdown("**What went wrong here**")
    for kind in kinds:
        st.page_link("views/records.py", label=ui.plain(f"{kind['name']}: {plural(kind['calls'], 'call')}"),
                     icon=":material/open_in_new:", query_params={"mode": str(cluster_id), "kind": str(kind["id"])})


# --- The map -----------------------------------------------------------------------------------


def selected_point(event: Any) -> str | None:
    """The record id of the clicked point (plotly hands back the point's customdata)."""
    points = event.selection.points if event else []
    if not points:
        return None
    data = points[0].get("customdata")
    return str(data[0] if isinstance(data, list) else data) if data else None


def failure_map(workspace: Workspace, run: dict[str, Any]) -> None:
    """The 2-D map of the run, sampled for display; clicking a point opens its record below."""
    st.subheader("Map")
    points = map_points(workspace, limit=MAP_POINTS, run_id=run["run_id"])
    if points.is_empty():
        st.info("This run placed no points on the map.")
        return
    st.caption(f"Showing {points.height:,} of {run['n_points']:,} points. Each point is a call; near points have "
               "alike text. Click one to read it.")
    event = st.plotly_chart(map_figure(points), key="clusters_map", on_select="rerun", selection_mode="points",
                            config={"displaylogo": False})
    record_id = selected_point(event)
    if record_id:
        record_preview(workspace, record_id)


def record_preview(workspace: Workspace, record_id: str) -> None:
    """The clicked call's request and response, and a link to it in full on the Records page."""
    record = get_record(workspace, record_id)
    if record is None:
        return
    with st.container(border=True):
        st.text(record["source_id"] or record_id)
        st.code(record["cluster_text"] or "(no request)", language=None, wrap_lines=True)
        st.code(record["response_text"] or "(no response)", language=None, wrap_lines=True)
        st.page_link("views/records.py", label="Open in Records", icon=":material/open_in_new:",
                     query_params={"record": record_id})


# --- One failure mode up close -----------------------------------------------------------------


def merged_from(workspace: Workspace, cluster_id: int, run_id: str) -> None:
    """The modes the clusterer found that were merged into this one, why, and a way to undo it."""
    parts = mode_parts(workspace, cluster_id, run_id)
    if not parts:
        return
    st.markdown(f"**Merged from {len(parts)} modes**")
    rows = [{"name": part["name"], "size": part["size"], "similarity": part["similarity"],
             "why": MERGE_REASONS.get(part["reason"], part["reason"])} for part in parts]
    table_ui.table(rows, key=f"cluster_parts_{cluster_id}", columns={
        "name": st.column_config.TextColumn("Part", width="medium"),
        "size": st.column_config.NumberColumn("Calls"),
        "similarity": st.column_config.NumberColumn("Similarity", format="%.2f",
                                                    help="Cosine of the part's centre and the merged mode's."),
        "why": st.column_config.TextColumn("Merged because")}, column_order=["name", "size", "similarity", "why"])
    if not access_ui.allowed("cluster"):
        return
    with st.form(f"keep_apart_{cluster_id}"):
        part = st.selectbox("Keep apart", [part["part"] for part in parts], key=f"keep_apart_part_{cluster_id}",
                            format_func=lambda number: " ".join(parts[number]["name"].split())[:80])
        if not st.form_submit_button("Keep this part apart"):
            return
    reviewer = (st.session_state.get(ui.REVIEWER_KEY) or "").strip()
    if not reviewer:
        st.warning("Enter your name as Reviewer in the sidebar first: a decision is recorded with who made it.")
        return
    keep_apart(workspace, cluster_id, part, reviewer, run_id)
    st.success(ui.plain(f"Recorded: the next run keeps '{parts[part]['name']}' apart from the rest of this mode. "
                        "Press Find failure modes to apply it."))


def kept_apart(workspace: Workspace) -> None:
    """Reviewers' keep-apart decisions, each withdrawable by a lead."""
    decisions = list_keep_apart(workspace)
    if not decisions:
        return
    with st.expander(f"Kept apart ({len(decisions)})"):
        for decision in decisions:
            left, right = st.columns([5, 1])
            left.text(f"{decision['first_name']}  ≠  {decision['second_name']}  "
                      f"({decision['made_by'] or 'unknown'}, {decision['made_at']:%Y-%m-%d})")
            if access_ui.allowed("cluster") and right.button("Withdraw", key=f"withdraw_{decision['decision_id']}"):
                forget_keep_apart(workspace, decision["decision_id"])
                st.rerun()


def rename_form(workspace: Workspace, cluster: dict[str, Any]) -> None:
    """Rename a mode; the name is kept across runs and recorded with the reviewer's name."""
    if not access_ui.allowed("cluster"):
        return
    with st.form(f"rename_cluster_{cluster['id']}"):
        name = st.text_input("Name", value=cluster["name"] or "", key=f"cluster_name_{cluster['id']}")
        if not st.form_submit_button("Rename"):
            return
    reviewer = (st.session_state.get(ui.REVIEWER_KEY) or "").strip()
    if not reviewer:
        st.warning("Enter your name as Reviewer in the sidebar first: a rename is recorded with who made it.")
    elif not name.strip():
        st.warning("A name cannot be empty.")
    else:
        rename_cluster(workspace, cluster["id"], name.strip(), reviewer)
        st.session_state[NOTICE_KEY] = None
        st.rerun()


def trend_chart(weekly: list[dict[str, Any]]) -> None:
    """Failures per ISO week, so a growing mode shows at a glance."""
    if not weekly:
        st.info("No dated calls in this mode.")
        return
    rows = pl.DataFrame(weekly)
    figure = go.Figure(go.Bar(x=rows["week"].to_list(), y=rows["count"].to_list(),
                              hovertemplate="%{x}: %{y}<extra></extra>"))
    figure.update_layout(height=220, margin={"l": 0, "r": 0, "t": 10, "b": 0}, yaxis_title="Calls per week")
    st.plotly_chart(figure, key="cluster_trend", config={"displayModeBar": False})


def examples(workspace: Workspace, cluster: dict[str, Any]) -> None:
    """The most central calls of the mode, each as what was asked, what the model answered and the
    signals that fired: a mode is a kind of request, and what went wrong with it is in the answers."""
    st.markdown("**Most typical examples**")
    for example in cluster["examples"]:
        record = get_record(workspace, example["record_id"])
        if record is None:
            continue
        with st.container(border=True):
            ui.show_exchange(record, signals_of(workspace, example["record_id"]))


def neighbours(workspace: Workspace, cluster: dict[str, Any]) -> None:
    """For one example, its nearest failures anywhere: is this mode really one thing?"""
    choices = {example["record_id"]: example["text"] or "" for example in cluster["examples"]}
    if not choices:
        return
    record_id = st.selectbox("Nearest failures to", list(choices), key=f"cluster_neighbours_{cluster['id']}",
                             format_func=lambda key: " ".join(choices[key].split())[:120])
    table_ui.table(similar_records(workspace, record_id=record_id, k=10),
                   columns=ui.SIMILAR_COLUMNS, column_order=list(ui.SIMILAR_COLUMNS))


def detail(workspace: Workspace, cluster_id: int, run_id: str) -> None:
    """Everything about one mode: name, numbers, keywords, trend, examples and neighbours."""
    cluster = cluster_detail(workspace, cluster_id, run_id)
    if cluster is None:
        st.warning("That failure mode is not in the latest run any more.")
        return
    # One line, and no anchor link: the header's anchor would be a slug of the (untrusted) name.
    st.subheader(ui.plain(" ".join((cluster["name"] or f"Mode {cluster_id}").split())), anchor=False)
    columns = st.columns(4)
    columns[0].metric("Records", f"{cluster['size']:,}")
    columns[1].metric("Failure rate", f"{cluster['failure_rate']:.0%}" if cluster["failure_rate"] is not None else "–",
                      help=f"95% interval {interval(cluster)}")
    columns[2].metric("Lift", f"{cluster['lift']:.1f}×" if cluster["lift"] is not None else "–")
    columns[3].metric("Trend", cluster["status"] or "–")
    if cluster["summary"]:
        st.text(cluster["summary"])
    st.text("Keywords: " + (", ".join(cluster["keywords"] or []) or "–")
            + (f"   (named by {cluster['named_by']})" if cluster["named_by"] else ""))
    st.page_link("views/records.py", label=f"Open the {plural(cluster['size'], 'call')} of this mode in Records",
                 icon=":material/open_in_new:", query_params={"mode": str(cluster_id)})
    left, right = st.columns([3, 2])
    with left:
        examples(workspace, cluster)
    with right:
        mode_kinds(workspace, cluster_id, run_id)
        trend_chart(cluster["weekly"])
        rename_form(workspace, cluster)
        merged_from(workspace, cluster_id, run_id)
    neighbours(workspace, cluster)


def similar_search(workspace: Workspace) -> None:
    """Free text in, the failures most like it out: 'have we seen this before?'"""
    st.subheader("Similar failures")
    query = st.text_input("Describe a failure or paste a request", key="clusters_query",
                          placeholder="e.g. refund for a cancelled order")
    if query.strip():
        table_ui.table(similar_records(workspace, query=query.strip(), k=10),
                       columns=ui.SIMILAR_COLUMNS, column_order=list(ui.SIMILAR_COLUMNS))


# --- The page ----------------------------------------------------------------------------------


def no_run_yet() -> None:
    """An empty page says what a failure mode is and how to get them."""
    st.info("No failure modes yet. Ingest logs (or load the demo on the Overview), check the Failures page "
            "finds failures, then press Find failure modes above: Faultline embeds the failing calls' text "
            "and groups the alike ones into failure modes.")


workspace = ui.current_workspace()
st.title("Failure modes")
run_form(workspace)
kept_apart(workspace)
ui.job_progress(workspace, "Finding failure modes…", WATCHING_KEY, NOTICE_KEY)
ui.job_outcome(NOTICE_KEY, "Finding failure modes failed", "Failure modes found.")
run = latest_run(workspace)
if run is None:
    no_run_yet()
else:
    model_naming(workspace)
    clusters = list_clusters(workspace, run["run_id"])
    st.subheader("Ranked by impact")
    chosen = cluster_table(clusters)
    kinds_section(workspace, clusters, run["run_id"])
    failure_map(workspace, run)
    if chosen is not None:
        st.divider()
        detail(workspace, chosen, run["run_id"])
    st.divider()
    similar_search(workspace)
