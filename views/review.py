"""Review: work the queue of failures, judge one record at a time, act on many at once, and see
progress, agreement and the adjudication list.

The team's tabs (progress, agreement and adjudication, annotations, taxonomy) live in
views/review_team.py. Every action is one call into mining/ (mining.review: events, queue, ...).

Every button that writes is bound to what it showed when it was drawn (ui.bound_press): a save to the
call and review version its form was opened for, an undo to the action it named, a bulk apply to its
preview. A press that arrives after the page moved on is refused with a message, never applied to
whatever the page shows by then. Everything
a record holds came from a log and is untrusted: it is shown with st.text, st.code, st.json and
st.dataframe, and through ui.plain where an element reads markdown. The one piece of HTML on the
page is a constant script that puts the keyboard focus in the correction editor (FOCUS_SCRIPT).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import replace
from datetime import timezone
from typing import Any

import polars as pl
import streamlit as st

import access_ui
import table_ui
import ui
from mining.browse import filter_options, get_record
from mining.cluster import mode_names, similar_records
from mining.common import plural
from mining.detect import signal_counts, signal_labels, signals_of
from mining.review import (ORDERS, STATES, VERDICTS, Action, QueueFilter, ReviewError, bulk_apply,
                           bulk_preview, claim_batch, describe_action, in_queue, is_blind, last_action, list_events,
                           list_tags, next_record, queue_count, queue_page, queue_record_ids, record_cluster,
                           record_state, release_claims, reviewer_names, reviewer_state, reviewer_states,
                           save_from_editor, save_review, suggestion_for, suggestions, undo)
from mining.store import Workspace
from views.review_team import (LAST_ACTION_KEY, NOTICE_KEY, UNDO_PENDING_KEY, agreement, annotations, progress,
                               remember_action, tag_names, taxonomy)

PAGE_SIZE = 50
CLAIM_SIZE = 20
PAGE_KEY = "review_page"
LAST_SELECTED_KEY = "review_last_selected"
HISTORY_KEY = "review_history"
BULK_KEY = "review_bulk_pending"
BULK_OPEN_KEY = "review_bulk_open"
FILTER_SEEN_KEY = "review_filter_seen"  # the queue filter of the last run, to notice a change
STATE_FILTER_KEY = "review_f_state"
ACCEPT_KEY = "Alt+A"  # the one key that accepts the reader's suggestion
TABS_KEY = "review_tabs"  # which tab is open: only the open one of Progress and Agreement is drawn
STATE_LABELS = {"any": "Any", "todo": "To do", "unreviewed": "Unreviewed", "reviewed": "Reviewed",
                "disputed": "Disputed", "adjudicated": "Adjudicated"}
ORDER_LABELS = {"priority": "Priority (impact)", "uncertain": "Least sure first (the reader)", "newest": "Newest first",
                "oldest": "Oldest first"}
QUEUE_COLUMNS = {
    "source_id": st.column_config.TextColumn("Id"),
    "cluster_name": st.column_config.TextColumn("Failure mode"),
    "signals": st.column_config.ListColumn("Signals"),
    "request": st.column_config.TextColumn("Request", width=300),
    "response": st.column_config.TextColumn("Response", width=300),
    "suggested": st.column_config.TextColumn("Reader suggests", width="medium"),
    "my_verdict": st.column_config.TextColumn("My verdict", width="small"),
    "verdict": st.column_config.TextColumn("Verdict", width="small"),
    "tags": st.column_config.ListColumn("Tags"),
    "reviews": st.column_config.NumberColumn("Reviews", width="small"),
    "claimed_by": st.column_config.TextColumn("Claimed by", width="small"),
    "ts": st.column_config.DatetimeColumn("Time (UTC)", format="YYYY-MM-DD HH:mm", timezone="UTC"),
}


def notice() -> None:
    """The outcome of the last action, shown once after the rerun it caused."""
    message = st.session_state.pop(NOTICE_KEY, None)
    if message:
        st.success(ui.plain(message))


# --- The queue ---------------------------------------------------------------------------------


def queue_filters(workspace: Workspace) -> QueueFilter:
    """The filter widgets (in an expander), read into a QueueFilter; 'to do' by default."""
    options = filter_options(workspace)
    clusters = mode_names(workspace)
    tags = tag_names(workspace)
    with st.expander("Filters", expanded=False):
        first = st.columns(4)
        chosen_clusters = first[0].multiselect("Failure mode", list(clusters), format_func=clusters.get,
                                               key="review_f_clusters")
        labels = signal_labels(workspace)
        signals = first[1].multiselect("Signal", [count.signal.name for count in signal_counts(workspace)
                                                  if count.records], format_func=lambda name: labels.get(name, name),
                                       key="review_f_signals")
        chosen_tags = first[2].multiselect("Tag", list(tags), format_func=tags.get, key="review_f_tags")
        reviewed_by = first[3].multiselect("Reviewed by", reviewer_names(workspace), key="review_f_reviewers")
        second = st.columns([1, 1, 1, 2])
        files = second[0].multiselect("Source file", options.source_files, key="review_f_files")
        models = second[1].multiselect("Model", options.models, key="review_f_models")
        order = second[2].selectbox("Order", ORDERS, format_func=ORDER_LABELS.get, key="review_f_order")
        with second[3]:
            since, until = ui.time_range(options, key="review_f_days")
    state = st.segmented_control("Review state", list(STATES), format_func=STATE_LABELS.get, default="todo",
                                 key=STATE_FILTER_KEY) or "any"
    return QueueFilter(tuple(chosen_clusters), tuple(signals), tuple(chosen_tags), tuple(files), tuple(models),
                       since, until, tuple(reviewed_by), state, order)


def claim_buttons(workspace: Workspace, f: QueueFilter, reviewer: str) -> None:
    """Claim the next batch of the queue for this reviewer, or give the claims back."""
    columns = st.columns([1, 1, 4], vertical_alignment="center")
    if columns[0].button(f"Claim next {CLAIM_SIZE}", key="review_claim",
                         help="Others' queues skip these records for 30 minutes, or until you judge them."):
        if not ui.need_reviewer("a claim"):
            claimed = claim_batch(workspace, reviewer, CLAIM_SIZE, f if f.state == "todo" else replace(f, state="todo"))
            st.session_state[NOTICE_KEY] = f"Claimed {plural(len(claimed), 'record')} for {reviewer} for 30 minutes."
            st.rerun()
    if columns[1].button("Release my claims", key="review_release"):
        if not ui.need_reviewer("a claim"):
            released = release_claims(workspace, reviewer)
            st.session_state[NOTICE_KEY] = f"Released {plural(released, 'claim')}."
            st.rerun()


def with_suggestions(workspace: Workspace, rows: pl.DataFrame) -> pl.DataFrame:
    """The page's rows with what the small reader suggests for those nobody reviewed yet (its verdict,
    how sure, its tags), so newly ingested failures arrive labelled with the mode or tag they resemble."""
    found = suggestions(workspace, rows["record_id"].to_list())
    names = {tag.tag_id: tag.name for tag in list_tags(workspace)} if found else {}
    said = {record_id: f"{ui.VERDICT_LABELS.get(s.verdict, s.verdict)} {s.confidence:.0%}"
            + "".join(f" · {names.get(tag, tag)}" for tag, _ in s.tags) for record_id, s in found.items()}
    return rows.with_columns(pl.Series("suggested", [said.get(record_id) for record_id in rows["record_id"]],
                                       dtype=pl.String))


def queue_table(rows: pl.DataFrame, table_key: str, labels: dict[str, str]) -> str | None:
    """One page of the queue, signals by their labels; returns the record_id of the selected row, if any."""
    shown = rows.with_columns(pl.col("tags").list.join(", "),
                              pl.col("signals").list.eval(pl.element().replace(labels)).list.join(", "))
    event = table_ui.table(shown, key=table_key, on_select="rerun", selection_mode="single-row",
                           columns=QUEUE_COLUMNS, column_order=list(QUEUE_COLUMNS))
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


def record_to_open(selected: str | None, new_table: bool) -> str | None:
    """A row the reviewer just picked wins; otherwise the URL's `record` (a record id or the source's
    id). A table drawn afresh (see ui.table_key) has picked nothing, so it never overrides a link."""
    if not new_table and selected and selected != st.session_state.get(LAST_SELECTED_KEY):
        open_record(selected)
    st.session_state[LAST_SELECTED_KEY] = selected
    return st.query_params.get("record")


def call_label(record: dict[str, Any]) -> str:
    """How the page names a call: the id its source gave it, else the record id."""
    return record.get("source_id") or record["record_id"]


def follow_queue(workspace: Workspace, f: QueueFilter, reviewer: str, record: dict[str, Any] | None,
                 filter_changed: bool) -> dict[str, Any] | None:
    """The record under review once the queue is filtered. When the reviewer changed the filter and
    the new queue leaves the record out, the review moves on to the first call of the new queue (none
    when it is empty): the form on screen always belongs to a call of the queue on screen, and text
    typed for the old call stays with that call's form (its keys hold the record id), never moves."""
    if record is None or not filter_changed or in_queue(workspace, record["record_id"], f, reviewer or None):
        return record
    head = queue_record_ids(workspace, f, reviewer or None, limit=1)
    open_record(head[0] if head else None)
    st.info(ui.plain(f"Call {call_label(record)} is not in this queue, so the review "
                     + ("moved on to the first call in it." if head else "closed: the queue is empty.")))
    return get_record(workspace, head[0]) if head else None


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
            table_ui.table(similar, columns=ui.SIMILAR_COLUMNS, column_order=list(ui.SIMILAR_COLUMNS))
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
        table_ui.table(pl.DataFrame([{"when": event.event_at, "who": event.reviewer, "action": event.action,
                                      "after": json.dumps(event.after, ensure_ascii=False)} for event in events]))


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


def reader_suggestion(workspace: Workspace, record: dict[str, Any], tags: dict[str, str], version: str,
                      f: QueueFilter) -> None:
    """The small reader's verdict and tags for a call nobody reviewed yet, with a button that saves them.

    Why a button and not the form pre-filled: a Save press that lands on a form just redrawn for
    another call (the queue moved on) would then save a verdict nobody looked at; the Accept press
    is bound to the call and review version it was drawn for, as Save is (ui.bound_press)."""
    found = suggestion_for(workspace, record["record_id"])
    if found is None:
        return
    found = replace(found, tags=tuple((tag, p) for tag, p in found.tags if tag in tags))
    said = ", ".join(f"{tags[tag]} {p:.0%}" for tag, p in found.tags)
    text = (f"{ui.VERDICT_LABELS.get(found.verdict, found.verdict)} ({found.confidence:.0%} sure)"
            + (f", tags {said}" if said else ""))
    st.info(ui.plain(f"The reader, which learnt from the reviews so far, suggests: {text}."),
            icon=":material/auto_awesome:")
    st.button("Accept the suggestion", key=f"review_accept_{version}", icon=":material/done_all:",
              shortcut=ACCEPT_KEY, help=f"Saves this verdict and these tags as your review, then opens the next "
                                        f"call ({ACCEPT_KEY}).",
              **ui.bound_press("accept", version, f"Accept the suggestion on call {call_label(record)}"))
    if not ui.take_press("accept", version) or ui.need_reviewer("a review"):
        return
    events = save_review(workspace, record["record_id"], ui.reviewer_name(), verdict=found.verdict,
                         tags=[tag for tag, _ in found.tags])
    saved_and_next(workspace, record, ui.reviewer_name(), events, f)


def review_form(workspace: Workspace, record: dict[str, Any], f: QueueFilter, reviewer: str) -> None:
    """Verdict, tags, corrected answer (prefilled with the response), tool calls, note; Save and next.

    The form and its widgets are keyed by the record id, the reviewer and their last change: another
    call's form never inherits what was typed here, and after a save or an undo the form starts from
    the saved state again. Save is bound to that key (ui.bound_press): a press for a form the page no
    longer shows (the queue moved on, the review changed in another tab) saves nothing and says so.
    """
    record_id = record["record_id"]
    state = reviewer_state(workspace, record_id, reviewer) if reviewer else None
    version = f"{record_id}_{reviewer}_{state.last_change.isoformat() if state and state.last_change else 'new'}"
    tags = {tag.tag_id: tag.name for tag in list_tags(workspace)
            if not tag.retired or (state and tag.tag_id in state.tags)}
    prefill = state.correction if state and state.correction is not None else record["response_text"] or ""
    if not (state and state.verdict):
        reader_suggestion(workspace, record, tags, version, f)
    calls_before = state.tool_calls if state and state.tool_calls is not None else record["tool_calls"]
    typed = (("Corrected answer", f"review_correction_{version}"),
             ("Corrected tool calls (JSON)", f"review_tool_calls_{version}"), ("Note", f"review_note_{version}"))
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
        st.form_submit_button("Save and next", type="primary", key=f"review_save_{version}",
                              **ui.bound_press("save", version, f"Save and next on call {call_label(record)}", typed))
    focus_editor(record_id, version)
    if not ui.take_press("save", version) or ui.need_reviewer("a review"):
        return
    try:
        events = save_from_editor(workspace, record, reviewer, verdict=verdict, tags=chosen_tags,
                                  correction=correction, tool_calls_text=calls_text, note=note)
    except ReviewError as exc:
        st.error(ui.plain(str(exc)))
        return
    if not events:
        st.warning(ui.plain(f"Not saved: nothing changed on call {call_label(record)}. Choose a verdict or tags, "
                            "or edit the answer, first; Next moves on without saving."))
        return
    saved_and_next(workspace, record, reviewer, events, f)


def saved_and_next(workspace: Workspace, record: dict[str, Any], reviewer: str, events: list, f: QueueFilter) -> None:
    """After a save: remember it for undo, say what was saved, and open the next call of the queue."""
    remember_action(reviewer, events[0].batch_id)
    following = next_record(workspace, reviewer, f, after=record["record_id"])
    st.session_state[NOTICE_KEY] = (f"Saved {call_label(record)} ({plural(len(events), 'change')})."
                                    + ("" if following else " The queue is done."))
    open_record(following or record["record_id"])
    st.rerun()


def navigation(workspace: Workspace, record_id: str, f: QueueFilter, reviewer: str, undoable: Action | None) -> None:
    """Previous (the record opened before), next (the next in the queue), and undo."""
    columns = st.columns(2)
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
    undo_control(workspace, reviewer, "record", undoable)


def undo_control(workspace: Workspace, reviewer: str, place: str, target: Action | None) -> None:
    """What an undo would cancel, in words (which call, whose, which fields, when), and the button.
    This session's latest action is undone at once; anything older (a second press, or an action of
    another session) only after a confirmation that names it, so no press cancels an earlier save
    unnoticed. The button is bound to the action it named when drawn."""
    st.text(f"Undo would cancel {describe_action(target)}." if target else "Nothing of yours to undo.")
    batch_id = target.batch_id if target else ""
    st.button("Undo my last action", key=f"review_undo_{place}", icon=":material/undo:", disabled=target is None,
              help="Cancels your latest save or bulk action still in effect, a bulk action as a whole.",
              **ui.bound_press(f"undo_{place}", batch_id, "Undo my last action"))
    if target is not None and ui.take_press(f"undo_{place}", batch_id):
        if st.session_state.get(LAST_ACTION_KEY) == (reviewer, batch_id):
            undo_now(workspace, reviewer, target)
        st.session_state[UNDO_PENDING_KEY] = (place, batch_id)
    pending = st.session_state.get(UNDO_PENDING_KEY)
    if pending and pending[0] == place and reviewer:
        confirm_undo(workspace, reviewer, place, pending[1])


def confirm_undo(workspace: Workspace, reviewer: str, place: str, batch_id: str) -> None:
    """Name the earlier action an undo would cancel, then undo exactly that one, or cancel."""
    action = last_action(workspace, reviewer, batch_id)
    if action is None:
        st.session_state.pop(UNDO_PENDING_KEY, None)
        st.info("That action is no longer in effect: nothing to undo.")
        return
    st.warning(ui.plain(f"This will undo an earlier action, not your last one in this session: "
                        f"{describe_action(action)}."))
    columns = st.columns([1, 1, 3])
    columns[0].button("Confirm undo", key=f"review_undo_confirm_{place}", type="primary",
                      **ui.bound_press(f"undo_confirm_{place}", batch_id, "Confirm undo"))
    if columns[1].button("Cancel", key=f"review_undo_cancel_{place}"):
        st.session_state.pop(UNDO_PENDING_KEY, None)
        st.rerun()
    if ui.take_press(f"undo_confirm_{place}", batch_id):
        undo_now(workspace, reviewer, action)


def undo_now(workspace: Workspace, reviewer: str, action: Action) -> None:
    """Undo exactly `action` (by its batch id, never "whatever is latest by now") and say what was undone."""
    undone = undo(workspace, reviewer, batch_id=action.batch_id)
    if st.session_state.get(LAST_ACTION_KEY) == (reviewer, action.batch_id):
        st.session_state.pop(LAST_ACTION_KEY)
    st.session_state.pop(UNDO_PENDING_KEY, None)
    st.session_state[NOTICE_KEY] = (f"Undid {describe_action(action)}." if undone
                                    else "Nothing undone: that action was undone already.")
    st.rerun()


def review_view(workspace: Workspace, record: dict[str, Any], f: QueueFilter, reviewer: str,
                undoable: Action | None) -> None:
    """One record: the conversation and its context on the left, the review on the right."""
    when = record["ts"].astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if record["ts"] else None
    st.subheader("Record")
    st.text(" · ".join(str(part) for part in (
        record["source_id"] or record["record_id"], when, record["model"], record["source_file"]) if part))
    st.page_link("views/records.py", label="Open in Records", icon=":material/open_in_new:",
                 query_params={"record": record["record_id"]})
    left, right = st.columns([3, 2])
    with left:
        ui.show_conversation(record)
        record_context(workspace, record)
    with right:
        others_reviews(workspace, record["record_id"], reviewer)
        review_form(workspace, record, f, reviewer)
        navigation(workspace, record["record_id"], f, reviewer, undoable)


# --- Bulk actions ------------------------------------------------------------------------------


def bulk_actions(workspace: Workspace, f: QueueFilter, reviewer: str, rows: pl.DataFrame,
                 undoable: Action | None) -> None:
    """A verdict or a tag on a whole failure mode, the filtered queue or records picked from this page
    of it, after a confirmation with the count."""
    if not access_ui.allowed("bulk_review"):
        return
    # Keyed and tracked, so it stays open while the reviewer picks scope, action and records.
    with st.expander("Bulk actions", key=BULK_OPEN_KEY, on_change="rerun"):
        clusters = mode_names(workspace)
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
        # what the preview was for, the reviewer included: Apply only applies the preview on screen
        request = {"scope": scope, "cluster": cluster, "picked": picked, "filter": scope_filter, action: value,
                   "reviewer": reviewer}
        if st.button("Preview", key="review_bulk_preview"):
            if ui.need_reviewer("a bulk action"):
                return
            ids = list(picked) if scope == "picked" else queue_record_ids(workspace, scope_filter, reviewer)
            arguments = {action: value}
            try:
                count = bulk_preview(workspace, ids, reviewer, **arguments)
            except ReviewError as exc:
                st.error(ui.plain(str(exc)))
                return
            st.session_state[BULK_KEY] = {"request": request, "ids": ids, "arguments": arguments, "count": count,
                                          "token": uuid.uuid4().hex}
        pending = st.session_state.get(BULK_KEY)
        if pending and pending["request"] == request:
            confirm_bulk(workspace, pending, reviewer, tags)
        undo_control(workspace, reviewer, "bulk", undoable)


def confirm_bulk(workspace: Workspace, pending: dict[str, Any], reviewer: str, tags: dict[str, str]) -> None:
    """Say how many records change, then apply or cancel."""
    count, arguments = pending["count"], pending["arguments"]
    (action, value), = arguments.items()
    what = (f"set the verdict {ui.VERDICT_LABELS.get(value, value)}" if action == "verdict" else
            f"{'add' if action == 'add_tag' else 'remove'} the tag {tags.get(value, value)}")
    total = len(pending["ids"])
    st.warning(ui.plain(f"This will {what} on {count:,} of {plural(total, 'record')}"
                        + (" (the others already have it)." if count < total else ".")))
    columns = st.columns([1, 1, 4])
    apply_label = f"Apply to {plural(count, 'record')}"
    columns[0].button(apply_label, key="review_bulk_apply", type="primary", disabled=count == 0,
                      **ui.bound_press("bulk_apply", pending["token"], apply_label))
    if ui.take_press("bulk_apply", pending["token"]):
        if ui.need_reviewer("a bulk action"):
            return
        events = bulk_apply(workspace, pending["ids"], reviewer, **arguments)
        st.session_state.pop(BULK_KEY, None)
        remember_action(reviewer, events[0].batch_id if events else None)
        st.session_state[NOTICE_KEY] = f"Changed {plural(len(events), 'record')}. Undo my last action reverts them all."
        st.rerun()
    if columns[1].button("Cancel", key="review_bulk_cancel"):
        st.session_state.pop(BULK_KEY, None)
        st.rerun()


# --- The page ----------------------------------------------------------------------------------


def review_tab(workspace: Workspace, reviewer: str) -> dict[str, Any] | None:
    """The queue, the record under review, and bulk actions; returns the record on screen, if any."""
    filters_live = STATE_FILTER_KEY in st.session_state  # drawn in the run before: this page, not a page switch
    f = queue_filters(workspace)
    filter_changed = filters_live and st.session_state.get(FILTER_SEEN_KEY) not in (None, f)
    claim_buttons(workspace, f, reviewer)
    total = queue_count(workspace, f, reviewer or None)
    page = ui.page_picker(total, PAGE_SIZE, PAGE_KEY, "failures in this queue")
    rows = with_suggestions(workspace, queue_page(workspace, f, reviewer or None, page, PAGE_SIZE))
    table_key = ui.table_key("review_table", rows["record_id"], page, f, reviewer)
    new_table = table_key not in st.session_state
    opened = record_to_open(queue_table(rows, table_key, signal_labels(workspace)), new_table)
    record = get_record(workspace, opened) if opened else None
    if opened and record is None:
        st.warning(ui.plain(f"No record has the id {opened} in the workspace {workspace.path}."))
    record = follow_queue(workspace, f, reviewer, record, filter_changed)
    # what undo would cancel, looked up once per run for both undo buttons (any write reruns the page)
    undoable = last_action(workspace, reviewer) if reviewer else None
    st.session_state[FILTER_SEEN_KEY] = f  # only now: a run cut short by the next press still sees the change
    if record is not None:
        st.divider()
        review_view(workspace, record, f, reviewer, undoable)
    elif total:
        st.caption("Select a row to review it, or press Next.")
        if st.button("Review the first in the queue", key="review_start"):
            open_record(next_record(workspace, reviewer, f) if reviewer else rows["record_id"][0])
            st.rerun()
    bulk_actions(workspace, f, reviewer, rows, undoable)
    return record


ui.start_presses(carry=STATE_FILTER_KEY in st.session_state)  # the queue's widgets live: the run before was this page
workspace = ui.current_workspace()
st.title("Review")
reviewer = ui.reviewer_name()
if not reviewer:
    st.warning("Enter your name as Reviewer in the sidebar to review: every change is recorded with who made it.")
notice()
refusals = st.container()  # a press the page had moved on from is refused here, at the top
on_screen = None
if not filter_options(workspace).source_files:
    st.info("No records yet: ingest logs on the Ingest page, or load the demo data from the Overview.")
else:
    tabs = st.tabs(["Review", "Progress", "Agreement", "Tags", "Annotations"], key=TABS_KEY, on_change="rerun")
    with tabs[0]:
        on_screen = review_tab(workspace, reviewer)
    # The team's figures are drawn only while their tab is open: at tens of thousands of double
    # reviews agreement takes a second, which every save-and-next would otherwise wait for.
    if tabs[1].open:
        with tabs[1]:
            progress(workspace)
    if tabs[2].open:
        with tabs[2]:
            agreement(workspace)
    with tabs[3]:
        taxonomy(workspace)
    with tabs[4]:
        annotations(workspace)
ui.refuse_unclaimed_press(refusals, f" (it now shows call {call_label(on_screen)})" if on_screen else "")
