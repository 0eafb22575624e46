"""Review: work the queue of failures, judge one record at a time, act on many at once, and see
progress, agreement and the adjudication list.

Every action is one call into mining/ (review_events, review_queue, adjudication, ...). Everything
a record holds came from a log and is untrusted: it is shown with st.text, st.code, st.json and
st.dataframe, and through ui.plain where an element reads markdown. The one piece of HTML on the
page is a constant script that puts the keyboard focus in the correction editor (FOCUS_SCRIPT).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import timezone
from typing import Any

import polars as pl
import streamlit as st

import ui
from mining.adjudication import adjudicate, disagreements
from mining.agreement import agreement_report
from mining.browse import filter_options, get_record
from mining.cluster_views import latest_run, list_clusters
from mining.detect import signal_counts, signals_of
from mining.review_events import VERDICTS, ReviewError, bulk_apply, bulk_preview, list_events, save_from_editor, undo
from mining.review_exchange import export_annotations, import_annotations
from mining.review_progress import progress_by_cluster, progress_by_reviewer, reviews_per_day
from mining.review_queue import (ORDERS, STATES, QueueFilter, claim_batch, next_record, queue_count, queue_page,
                                 queue_record_ids, release_claims)
from mining.review_state import record_state, reviewer_state, reviewer_states
from mining.review_view import record_cluster, reviewer_names
from mining.second_review import is_blind, second_review_share, set_second_review_share
from mining.similar import similar_records
from mining.store import Workspace
from mining.taxonomy import (UnknownTag, add_tag, describe_tag, list_tags, rename_tag, retire_tag,
                             tag_history)

PAGE_SIZE = 50
CLAIM_SIZE = 20
PAGE_KEY = "review_page"
LAST_SELECTED_KEY = "review_last_selected"
HISTORY_KEY = "review_history"
NOTICE_KEY = "review_notice"
BULK_KEY = "review_bulk_pending"
STATE_LABELS = {"any": "Any", "todo": "To do", "unreviewed": "Unreviewed", "reviewed": "Reviewed",
                "disputed": "Disputed", "adjudicated": "Adjudicated"}
ORDER_LABELS = {"priority": "Priority (impact)", "newest": "Newest first", "oldest": "Oldest first"}
UNCLUSTERED = -1
QUEUE_COLUMNS = {
    "source_id": st.column_config.TextColumn("Id"),
    "cluster_name": st.column_config.TextColumn("Failure mode"),
    "signals": st.column_config.ListColumn("Signals"),
    "request": st.column_config.TextColumn("Request", width=300),
    "response": st.column_config.TextColumn("Response", width=300),
    "my_verdict": st.column_config.TextColumn("My verdict", width="small"),
    "verdict": st.column_config.TextColumn("Verdict", width="small"),
    "tags": st.column_config.ListColumn("Tags"),
    "reviews": st.column_config.NumberColumn("Reviews", width="small"),
    "claimed_by": st.column_config.TextColumn("Claimed by", width="small"),
    "ts": st.column_config.DatetimeColumn("Time (UTC)", format="YYYY-MM-DD HH:mm", timezone="UTC"),
}


def reviewer_name() -> str:
    """The reviewer's name from the sidebar (empty when none is set)."""
    return " ".join(str(st.session_state.get(ui.REVIEWER_KEY) or "").split())


def need_reviewer(what: str) -> bool:
    """Warn and return True when no reviewer name is set: nothing is recorded without one."""
    if reviewer_name():
        return False
    st.warning(f"Enter your name as Reviewer in the sidebar first: {what} is recorded with who did it. "
               "Nothing was saved.")
    return True


def notice() -> None:
    """The outcome of the last action, shown once after the rerun it caused."""
    message = st.session_state.pop(NOTICE_KEY, None)
    if message:
        st.success(ui.plain(message))


# --- The queue ---------------------------------------------------------------------------------


def tag_names(workspace: Workspace) -> dict[str, str]:
    """tag id -> name, retired tags included (old reviews still show them)."""
    return {tag.tag_id: tag.name for tag in list_tags(workspace)}


def cluster_names(workspace: Workspace) -> dict[int, str]:
    """cluster id -> name in the latest run, unclustered last."""
    names = {cluster["id"]: cluster["name"] or f"Mode {cluster['id']}" for cluster in list_clusters(workspace)}
    return {**names, UNCLUSTERED: "Unclustered"}


def queue_filters(workspace: Workspace) -> QueueFilter:
    """The filter widgets (in an expander), read into a QueueFilter; 'to do' by default."""
    options = filter_options(workspace)
    clusters = cluster_names(workspace) if latest_run(workspace) else {}
    tags = tag_names(workspace)
    with st.expander("Filters", expanded=False):
        first = st.columns(4)
        chosen_clusters = first[0].multiselect("Failure mode", list(clusters), format_func=clusters.get,
                                               key="review_f_clusters")
        signals = first[1].multiselect("Signal", [count.signal.name for count in signal_counts(workspace)
                                                  if count.records], key="review_f_signals")
        chosen_tags = first[2].multiselect("Tag", list(tags), format_func=tags.get, key="review_f_tags")
        reviewed_by = first[3].multiselect("Reviewed by", reviewer_names(workspace), key="review_f_reviewers")
        second = st.columns([1, 1, 1, 2])
        files = second[0].multiselect("Source file", options.source_files, key="review_f_files")
        models = second[1].multiselect("Model", options.models, key="review_f_models")
        order = second[2].selectbox("Order", ORDERS, format_func=ORDER_LABELS.get, key="review_f_order")
        with second[3]:
            since, until = ui.time_range(options, key="review_f_days")
    state = st.segmented_control("Review state", list(STATES), format_func=STATE_LABELS.get, default="todo",
                                 key="review_f_state") or "any"
    return QueueFilter(tuple(chosen_clusters), tuple(signals), tuple(chosen_tags), tuple(files), tuple(models),
                       since, until, tuple(reviewed_by), state, order)


def claim_buttons(workspace: Workspace, f: QueueFilter, reviewer: str) -> None:
    """Claim the next batch of the queue for this reviewer, or give the claims back."""
    columns = st.columns([1, 1, 4], vertical_alignment="center")
    if columns[0].button(f"Claim next {CLAIM_SIZE}", key="review_claim",
                         help="Others' queues skip these records for 30 minutes, or until you judge them."):
        if not need_reviewer("a claim"):
            claimed = claim_batch(workspace, reviewer, CLAIM_SIZE, f if f.state == "todo" else replace(f, state="todo"))
            st.session_state[NOTICE_KEY] = f"Claimed {len(claimed)} records for {reviewer} for 30 minutes."
            st.rerun()
    if columns[1].button("Release my claims", key="review_release"):
        if not need_reviewer("a claim"):
            released = release_claims(workspace, reviewer)
            st.session_state[NOTICE_KEY] = f"Released {released} claims."
            st.rerun()


def queue_table(rows: pl.DataFrame, table_key: str) -> str | None:
    """One page of the queue; returns the record_id of the selected row, if any."""
    shown = rows.with_columns(pl.col("tags").list.join(", "), pl.col("signals").list.join(", "))
    event = st.dataframe(shown, key=table_key, hide_index=True, on_select="rerun", selection_mode="single-row",
                         column_config=QUEUE_COLUMNS, column_order=list(QUEUE_COLUMNS))
    selected = event.selection.rows
    return rows["record_id"][selected[0]] if selected and selected[0] < rows.height else None


def open_record(record_id: str | None, remember: bool = True) -> None:
    """Make `record_id` the record under review (kept in the URL, so it is linkable and survives a reload)."""
    current = st.query_params.get("record")
    if remember and current and current != record_id:
        st.session_state.setdefault(HISTORY_KEY, []).append(current)
    if record_id:
        st.query_params["record"] = record_id
    else:
        st.query_params.pop("record", None)


def record_to_open(selected: str | None) -> str | None:
    """A new table selection wins; otherwise the URL's `record` (a record id or the source's id)."""
    if selected != st.session_state.get(LAST_SELECTED_KEY):
        st.session_state[LAST_SELECTED_KEY] = selected
        if selected:
            open_record(selected)
    return st.query_params.get("record")


# --- One record under review -------------------------------------------------------------------


def record_context(workspace: Workspace, record: dict[str, Any]) -> None:
    """The signals that fired, the failure mode, the 3 most similar failures, and the metadata."""
    for signal in signals_of(workspace, record["record_id"]):
        st.warning(ui.plain(f"{signal['label']}: {signal['detail'] or ''}"), icon=":material/flag:")
    cluster = record_cluster(workspace, record["record_id"])
    if cluster is not None:
        st.text("Failure mode: " + (cluster["name"] or "unclustered"))
        similar = similar_records(workspace, record_id=record["record_id"], k=3)
        if similar.height:
            st.caption("Similar failures")
            st.dataframe(similar, hide_index=True, column_config=ui.SIMILAR_COLUMNS, column_order=list(ui.SIMILAR_COLUMNS))
    with st.expander("Details"):
        st.json(ui.call_details(record))


def others_reviews(workspace: Workspace, record_id: str, reviewer: str) -> None:
    """Other reviewers' answers and the record's history, unless this is a blind second review."""
    if is_blind(workspace, record_id, reviewer):  # without a name too: nobody peeks before judging
        st.info("Blind second review: other reviewers' answers stay hidden until you give your verdict.")
        return
    others = [state for state in reviewer_states(workspace, record_id) if state.reviewer != reviewer]
    state = record_state(workspace, record_id)
    if not others and state.adjudicated_by is None:
        return
    with st.expander(f"Other reviews ({len(others)})" + (" · disputed" if state.disputed else "")):
        if state.adjudicated_by:
            st.text(f"Final answer by {state.adjudicated_by}: {state.verdict}")
        names = tag_names(workspace)
        for other in others:
            shown_tags = ", ".join(names.get(tag, tag) for tag in other.tags) or "–"
            verdict = ui.VERDICT_LABELS.get(other.verdict, other.verdict or "–")
            st.text(f"{other.reviewer}: {verdict} · tags: {shown_tags}")
            if other.correction:
                st.code(other.correction, language=None, wrap_lines=True)
            if other.note:
                st.text(f"Note: {other.note}")
        events = list_events(workspace, record_id)
        st.dataframe(pl.DataFrame([{"when": event.event_at, "who": event.reviewer, "action": event.action,
                                    "after": json.dumps(event.after, ensure_ascii=False)} for event in events]),
                     hide_index=True)


FOCUS_SCRIPT = """<script>
(() => {
  const flag = "faultlineFocused_%s";
  for (const wait of [50, 200, 500, 1000]) {
    setTimeout(() => {
      const editor = document.querySelector('textarea[aria-label="Corrected answer"]');
      const active = document.activeElement;
      const typing = active && (active.tagName === "INPUT" || active.tagName === "TEXTAREA"
                                || active.isContentEditable);
      if (!editor || window[flag] || typing) return;
      window[flag] = true;
      editor.focus({preventScroll: true});
    }, wait);
  }
})();
</script>"""


def focus_editor(record_id: str, version: str) -> None:
    """Put the keyboard focus in the corrected-answer editor once per opened record (a constant
    script: the only thing varying in it is a hash), unless the reviewer is already typing elsewhere."""
    token = hashlib.sha256(f"{record_id}|{version}".encode()).hexdigest()[:16]
    st.html(FOCUS_SCRIPT % token, unsafe_allow_javascript=True)


def review_form(workspace: Workspace, record: dict[str, Any], f: QueueFilter, reviewer: str) -> None:
    """Verdict, tags, corrected answer (prefilled with the response), tool calls, note; Save and next.

    The widgets' keys carry the reviewer's last change, so after a save or an undo they start from
    the saved state again instead of what was typed before.
    """
    record_id = record["record_id"]
    state = reviewer_state(workspace, record_id, reviewer) if reviewer else None
    version = f"{record_id}_{reviewer}_{state.last_change.isoformat() if state and state.last_change else 'new'}"
    tags = {tag.tag_id: tag.name for tag in list_tags(workspace)
            if not tag.retired or (state and tag.tag_id in state.tags)}
    prefill = state.correction if state and state.correction is not None else record["response_text"] or ""
    calls_before = state.tool_calls if state and state.tool_calls is not None else record["tool_calls"]
    with st.form(f"review_form_{version}"):
        verdict = st.radio("Verdict", list(VERDICTS), format_func=ui.VERDICT_LABELS.get, horizontal=True,
                           index=VERDICTS.index(state.verdict) if state and state.verdict else None,
                           key=f"review_verdict_{version}")
        chosen_tags = st.multiselect("Tags", list(tags), default=list(state.tags) if state else [],
                                     format_func=tags.get, key=f"review_tags_{version}")
        correction = st.text_area("Corrected answer", value=prefill, height=220, key=f"review_correction_{version}",
                                  help="Prefilled with the model's response: fix what is wrong. Ctrl+Enter saves.")
        calls_text = None
        if record["tool_calls"]:
            calls_text = st.text_area("Corrected tool calls (JSON)", height=160, key=f"review_tool_calls_{version}",
                                      value=json.dumps(calls_before, indent=2, ensure_ascii=False))
        note = st.text_area("Note", value=(state.note or "") if state else "", height=68, key=f"review_note_{version}")
        submitted = st.form_submit_button("Save and next", type="primary")
    focus_editor(record_id, version)
    if not submitted or need_reviewer("a review"):
        return
    try:
        events = save_from_editor(workspace, record, reviewer, verdict=verdict, tags=chosen_tags,
                                  correction=correction, tool_calls_text=calls_text, note=note)
    except ReviewError as exc:
        st.error(ui.plain(str(exc)))
        return
    following = next_record(workspace, reviewer, f, after=record_id)
    st.session_state[NOTICE_KEY] = (f"Saved {record.get('source_id') or record_id} ({len(events)} changes)."
                                    + ("" if following else " The queue is done."))
    open_record(following or record_id)
    st.rerun()


def navigation(workspace: Workspace, record_id: str, f: QueueFilter, reviewer: str) -> None:
    """Previous (the record opened before), next (the next in the queue), and undo."""
    columns = st.columns(3)
    history = st.session_state.get(HISTORY_KEY, [])
    if columns[0].button("Previous", key="review_previous", disabled=not history, icon=":material/arrow_back:"):
        open_record(history.pop(), remember=False)
        st.rerun()
    if columns[1].button("Next", key="review_next", icon=":material/arrow_forward:"):
        following = next_record(workspace, reviewer or "", f, after=record_id)
        if following:
            open_record(following)
            st.rerun()
        st.info("Nothing more in this queue.")
    if columns[2].button("Undo my last action", key="review_undo", icon=":material/undo:"):
        undo_last(workspace)


def undo_last(workspace: Workspace) -> None:
    """Cancel the reviewer's latest action still in effect (a save, or a bulk action as a whole)."""
    if need_reviewer("an undo"):
        return
    undone = undo(workspace, reviewer_name())
    st.session_state[NOTICE_KEY] = (f"Undid your last action ({len(undone)} changes)." if undone
                                    else "Nothing of yours left to undo.")
    st.rerun()


def review_view(workspace: Workspace, key: str, f: QueueFilter, reviewer: str) -> None:
    """One record: the conversation and its context on the left, the review on the right."""
    record = get_record(workspace, key)
    if record is None:
        st.warning(ui.plain(f"No record has the id {key}."))
        return
    when = record["ts"].astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if record["ts"] else None
    st.subheader("Record")
    st.text(" · ".join(str(part) for part in (
        record["source_id"] or record["record_id"], when, record["model"], record["source_file"]) if part))
    left, right = st.columns([3, 2])
    with left:
        ui.show_conversation(record)
        record_context(workspace, record)
    with right:
        others_reviews(workspace, record["record_id"], reviewer)
        review_form(workspace, record, f, reviewer)
        navigation(workspace, record["record_id"], f, reviewer)


# --- Bulk actions ------------------------------------------------------------------------------


def bulk_actions(workspace: Workspace, f: QueueFilter, reviewer: str, rows: pl.DataFrame) -> None:
    """A verdict or a tag on a whole failure mode, the filtered queue or records picked from this page
    of it, after a confirmation with the count."""
    with st.expander("Bulk actions"):
        clusters = cluster_names(workspace) if latest_run(workspace) else {}
        tags = {tag.tag_id: tag.name for tag in list_tags(workspace, include_retired=False)}
        columns = st.columns(3)
        scopes = ["queue", "picked"] + (["cluster"] if clusters else [])
        scope = columns[0].radio("Apply to", scopes, key="review_bulk_scope",
                                 format_func={"queue": "The filtered queue", "picked": "Records I pick",
                                              "cluster": "A failure mode"}.get)
        cluster, picked = None, ()
        if scope == "cluster":
            cluster = columns[0].selectbox("Failure mode", list(clusters), format_func=clusters.get,
                                           key="review_bulk_cluster")
        elif scope == "picked":
            labels = {row["record_id"]: f"{row['source_id'] or row['record_id']}: {' '.join((row['request'] or '').split())[:60]}"
                      for row in rows.iter_rows(named=True)}
            picked = tuple(columns[0].multiselect("Records (this page of the queue)", list(labels),
                                                  format_func=labels.get, key="review_bulk_picked"))
        action = columns[1].radio("Action", ["verdict", "add_tag", "remove_tag"], key="review_bulk_action",
                                  format_func={"verdict": "Set verdict", "add_tag": "Add tag",
                                               "remove_tag": "Remove tag"}.get)
        if action == "verdict":
            value = columns[2].selectbox("Verdict", list(VERDICTS), format_func=ui.VERDICT_LABELS.get,
                                         key="review_bulk_verdict")
        else:
            value = columns[2].selectbox("Tag", list(tags), format_func=tags.get, key="review_bulk_tag")
        scope_filter = QueueFilter(clusters=(cluster,)) if scope == "cluster" else f
        request = {"scope": scope, "cluster": cluster, "picked": picked, "filter": scope_filter, action: value}
        if st.button("Preview", key="review_bulk_preview"):
            if need_reviewer("a bulk action"):
                return
            ids = list(picked) if scope == "picked" else queue_record_ids(workspace, scope_filter, reviewer)
            arguments = {action: value}
            try:
                count = bulk_preview(workspace, ids, reviewer, **arguments)
            except ReviewError as exc:
                st.error(ui.plain(str(exc)))
                return
            st.session_state[BULK_KEY] = {"request": request, "ids": ids, "arguments": arguments, "count": count}
        pending = st.session_state.get(BULK_KEY)
        if pending and pending["request"] == request:
            confirm_bulk(workspace, pending, reviewer, tags)
        if st.button("Undo my last action", key="review_bulk_undo", icon=":material/undo:",
                     help="Reverts your latest save or bulk action, a bulk action as a whole."):
            undo_last(workspace)


def confirm_bulk(workspace: Workspace, pending: dict[str, Any], reviewer: str, tags: dict[str, str]) -> None:
    """Say how many records change, then apply or cancel."""
    count, arguments = pending["count"], pending["arguments"]
    (action, value), = arguments.items()
    what = (f"set the verdict {ui.VERDICT_LABELS.get(value, value)}" if action == "verdict" else
            f"{'add' if action == 'add_tag' else 'remove'} the tag {tags.get(value, value)}")
    total = len(pending["ids"])
    st.warning(ui.plain(f"This will {what} on {count} of {total} records"
                        + (" (the others already have it)." if count < total else ".")))
    columns = st.columns([1, 1, 4])
    if columns[0].button(f"Apply to {count} records", key="review_bulk_apply", type="primary", disabled=count == 0):
        if need_reviewer("a bulk action"):
            return
        events = bulk_apply(workspace, pending["ids"], reviewer, **arguments)
        st.session_state.pop(BULK_KEY, None)
        st.session_state[NOTICE_KEY] = f"Changed {len(events)} records. Undo my last action reverts them all."
        st.rerun()
    if columns[1].button("Cancel", key="review_bulk_cancel"):
        st.session_state.pop(BULK_KEY, None)
        st.rerun()


# --- Progress, agreement, annotations ----------------------------------------------------------


def progress(workspace: Workspace) -> None:
    """Reviewed and remaining per failure mode and per reviewer, and reviews per day."""
    left, right = st.columns(2)
    with left:
        st.subheader("Per failure mode")
        st.dataframe(progress_by_cluster(workspace), hide_index=True)
    with right:
        st.subheader("Per reviewer")
        st.dataframe(progress_by_reviewer(workspace), hide_index=True)
    st.subheader("Reviews per day")
    per_day = reviews_per_day(workspace)
    if per_day.is_empty():
        st.info("No reviews yet.")
    else:
        st.bar_chart(per_day.to_pandas(), x="day", y="reviews", color="reviewer", height=240)


def kappa(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def agreement(workspace: Workspace) -> None:
    """Agreement overall and per pair, the second-review share, and the adjudication list."""
    report = agreement_report(workspace)
    overall = report[0]
    st.subheader("Agreement")
    columns = st.columns(4)
    columns[0].metric("Records reviewed twice", f"{overall.records:,}")
    columns[1].metric("Verdict kappa", kappa(overall.verdict_kappa))
    columns[2].metric("Verdict agreement", "–" if overall.verdict_agreement is None
                      else f"{overall.verdict_agreement:.0%}")
    columns[3].metric("Correction similarity", kappa(overall.correction_similarity),
                      help="Token F1 of the two corrections (word overlap, order ignored).")
    if len(report) > 1:
        st.dataframe(pl.DataFrame([{
            "reviewers": " & ".join(row.reviewers), "records": row.records, "verdict_kappa": row.verdict_kappa,
            "verdict_agreement": row.verdict_agreement, "correction_similarity": row.correction_similarity,
            "corrections_compared": row.corrections_compared} for row in report[1:]]), hide_index=True)
    if overall.tag_kappa:
        names = tag_names(workspace)
        st.caption("Kappa per tag (present or absent), first review against second")
        st.dataframe(pl.DataFrame([{"tag": names.get(tag, tag), "kappa": value}
                                   for tag, value in overall.tag_kappa.items()]), hide_index=True)
    share_setting(workspace)
    st.subheader("Adjudication")
    adjudication(workspace)


def share_setting(workspace: Workspace) -> None:
    """The share of failures that get a blind second review."""
    with st.form("review_share_form", border=False):
        columns = st.columns([1, 3], vertical_alignment="bottom")
        share = columns[0].number_input("Second review share (%)", min_value=0.0, max_value=100.0, step=1.0,
                                        value=round(second_review_share(workspace) * 100, 2), key="review_share")
        if columns[1].form_submit_button("Save share"):
            set_second_review_share(workspace, share / 100)
            st.session_state[NOTICE_KEY] = f"Second review share set to {share:g}%."
            st.rerun()


def adjudication(workspace: Workspace) -> None:
    """Disputed records: a lead picks one reviewer's answer or writes the final one."""
    disputed = disagreements(workspace)
    if not disputed:
        st.info("No disagreements to settle.")
        return
    by_id = {item["record_id"]: item for item in disputed}
    record_id = st.selectbox(f"Disputed records ({len(disputed)})", list(by_id), key="review_adjudicate_record",
                             format_func=lambda key: by_id[key]["source_id"])
    item = by_id[record_id]
    record = get_record(workspace, record_id)
    st.text("Request: " + ((record or {}).get("cluster_text") or ""))
    names = tag_names(workspace)
    columns = st.columns(len(item["reviews"]))
    for column, review in zip(columns, item["reviews"]):
        with column.container(border=True):
            st.text(f"{review.reviewer}: {ui.VERDICT_LABELS.get(review.verdict, review.verdict)}")
            st.text("Tags: " + (", ".join(names.get(tag, tag) for tag in review.tags) or "–"))
            st.code(review.correction or "(no correction)", language=None, wrap_lines=True)
            if st.button(f"Pick {review.reviewer}'s answer", key=f"review_pick_{record_id}_{review.reviewer}"):
                settle(workspace, record_id, pick=review.reviewer)
    with st.form(f"review_final_{record_id}"):
        st.caption("Or write the final answer")
        verdict = st.radio("Final verdict", list(VERDICTS), format_func=ui.VERDICT_LABELS.get, horizontal=True,
                           key=f"review_final_verdict_{record_id}")
        offered = {tag.tag_id: tag.name for tag in list_tags(workspace, include_retired=False)}
        offered |= {tag: names.get(tag, tag) for review in item["reviews"] for tag in review.tags}
        tags = st.multiselect("Final tags", list(offered), format_func=offered.get,
                              key=f"review_final_tags_{record_id}")
        correction = st.text_area("Final corrected answer", value=next(
            (review.correction for review in item["reviews"] if review.correction), (record or {}).get(
                "response_text") or ""), key=f"review_final_correction_{record_id}")
        if st.form_submit_button("Save final answer"):
            settle(workspace, record_id, verdict=verdict, tags=tags, correction=correction)


def settle(workspace: Workspace, record_id: str, **answer: Any) -> None:
    """Record the lead's final answer (one call to adjudicate), in the name of the sidebar's reviewer."""
    if need_reviewer("an adjudication"):
        return
    try:
        adjudicate(workspace, record_id, reviewer_name(), **answer)
    except ReviewError as exc:
        st.error(ui.plain(str(exc)))
        return
    st.session_state[NOTICE_KEY] = "Final answer saved."
    st.rerun()


def annotations(workspace: Workspace) -> None:
    """Export every review event as JSONL, or import such a file (idempotent), as on the command line."""
    def exported() -> bytes:
        path = ui.upload_folder() / "annotations.jsonl"
        export_annotations(workspace, path)
        return path.read_bytes()

    st.download_button("Export annotations (JSONL)", data=exported, file_name="annotations.jsonl",
                       mime="application/jsonl", key="review_export", on_click="ignore")
    upload = st.file_uploader("Import annotations", type=["jsonl"], key="review_import_file")
    if upload is not None and st.button("Import", key="review_import"):
        path = ui.save_uploads([upload], ui.upload_folder())[0]
        try:
            report = import_annotations(workspace, path)
        except ReviewError as exc:
            st.error(ui.plain(str(exc)))
            return
        st.session_state[NOTICE_KEY] = (
            f"Imported {report.events_added} of {report.events_read} events ({report.events_present} already "
            f"present, {len(report.tags_added)} new tags, {report.events_for_missing_records} events for "
            f"{len(report.missing_records)} records not in this workspace yet).")
        st.rerun()


def taxonomy(workspace: Workspace) -> None:
    """The failure tags: add one; rename, describe, retire or restore one (every change kept in its history)."""
    tags = list_tags(workspace)
    st.dataframe(pl.DataFrame([{"name": tag.name, "description": tag.description, "retired": tag.retired,
                                "id": tag.tag_id} for tag in tags]), hide_index=True)
    left, right = st.columns(2)
    with left.form("review_tag_add"):
        st.caption("New tag")
        name = st.text_input("Name", key="review_tag_new_name")
        description = st.text_input("Description", key="review_tag_new_description")
        if st.form_submit_button("Add tag"):
            change_tag(lambda by: add_tag(workspace, name, description, by=by), f"Added the tag {name.strip()}.")
    by_id = {tag.tag_id: tag for tag in tags}
    with right:
        chosen = st.selectbox("Change the tag", list(by_id), format_func=lambda key: by_id[key].name,
                              key="review_tag_chosen")
    if chosen is None:
        return
    tag = by_id[chosen]
    with right.form(f"review_tag_edit_{chosen}"):
        new_name = st.text_input("Name", value=tag.name, key=f"review_tag_name_{chosen}")
        new_description = st.text_input("Description", value=tag.description, key=f"review_tag_description_{chosen}")
        retired = st.checkbox("Retired (kept on old reviews, not offered for new ones)", value=tag.retired,
                              key=f"review_tag_retired_{chosen}")
        if st.form_submit_button("Save tag"):
            def edit(by: str) -> None:
                if " ".join(new_name.split()) != tag.name:
                    rename_tag(workspace, chosen, new_name, by=by)
                if new_description.strip() != tag.description:
                    describe_tag(workspace, chosen, new_description, by=by)
                if retired != tag.retired:
                    retire_tag(workspace, chosen, by=by, retired=retired)
            change_tag(edit, f"Saved the tag {new_name.strip()}.")
    with right.expander("History"):
        st.dataframe(pl.DataFrame(tag_history(workspace, chosen)), hide_index=True)


def change_tag(change: Any, message: str) -> None:
    """Run one taxonomy change in the reviewer's name, or say why it cannot be made."""
    if need_reviewer("a change to the taxonomy"):
        return
    try:
        change(reviewer_name())
    except UnknownTag as exc:
        st.error(ui.plain(str(exc)))
        return
    st.session_state[NOTICE_KEY] = message
    st.rerun()


# --- The page ----------------------------------------------------------------------------------


def review_tab(workspace: Workspace, reviewer: str) -> None:
    """The queue, the record under review, and bulk actions."""
    f = queue_filters(workspace)
    claim_buttons(workspace, f, reviewer)
    total = queue_count(workspace, f, reviewer or None)
    page = ui.page_picker(total, PAGE_SIZE, PAGE_KEY, "failures in this queue")
    rows = queue_page(workspace, f, reviewer or None, page, PAGE_SIZE)
    selected = queue_table(rows, f"review_table_{page}_{abs(hash(f))}")
    opened = record_to_open(selected)
    if opened:
        st.divider()
        review_view(workspace, opened, f, reviewer)
    elif total:
        st.caption("Select a row to review it, or press Next.")
        if st.button("Review the first in the queue", key="review_start"):
            open_record(next_record(workspace, reviewer, f) if reviewer else rows["record_id"][0])
            st.rerun()
    bulk_actions(workspace, f, reviewer, rows)


workspace = ui.current_workspace()
st.title("Review")
reviewer = reviewer_name()
if not reviewer:
    st.warning("Enter your name as Reviewer in the sidebar to review: every change is recorded with who made it.")
notice()
if not filter_options(workspace).source_files:
    st.info("No records yet: ingest logs on the Ingest page, or load the demo data from the Overview.")
else:
    tabs = st.tabs(["Review", "Progress", "Agreement", "Tags", "Annotations"])
    with tabs[0]:
        review_tab(workspace, reviewer)
    with tabs[1]:
        progress(workspace)
    with tabs[2]:
        agreement(workspace)
    with tabs[3]:
        taxonomy(workspace)
    with tabs[4]:
        annotations(workspace)
