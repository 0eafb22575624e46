"""Parts of the Review page (not a page of its own): progress, agreement with adjudication,
annotations export / import, and the tag taxonomy: the team's view, apart from one reviewer's queue.

Everything shown came from logs or reviewers and is untrusted: st.text, st.code, st.dataframe, and
ui.plain where an element reads markdown. As on the rest of the Review page, every button that writes is
bound to what it showed when drawn (ui.bound_press): a pick to that reviewer's answer as shown, a final
answer to the reviews it was written against, a tag edit to the tag as it stood.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

import access_ui
import table_ui
import ui
from mining.common import plural
from mining.review import (VERDICTS, ReviewError, ReviewState, UnknownTag, add_tag, adjudicate, agreement_report,
                           describe_tag, disagreements, export_annotations, import_annotations, list_tags,
                           progress_by_cluster, progress_by_reviewer, rename_tag, retire_tag, reviews_per_day,
                           second_review_share, set_second_review_share, tag_history)
from mining.browse import get_record
from mining.store import Workspace

NOTICE_KEY = "review_notice"
LAST_ACTION_KEY = "review_my_last_action"  # (reviewer, batch id) of this session's latest action
UNDO_PENDING_KEY = "review_undo_pending"  # (where, batch id) of an undo waiting for its confirmation


def remember_action(reviewer: str, batch_id: str | None) -> None:
    """Note this session's latest action, the one undo may cancel without asking; a new action also
    drops an undo still waiting for confirmation, which named the state before it."""
    if batch_id:
        st.session_state[LAST_ACTION_KEY] = (reviewer, batch_id)
    st.session_state.pop(UNDO_PENDING_KEY, None)


def tag_names(workspace: Workspace) -> dict[str, str]:
    """tag id -> name, retired tags included (old reviews still show them)."""
    return {tag.tag_id: tag.name for tag in list_tags(workspace)}


def progress(workspace: Workspace) -> None:
    """Reviewed and remaining per failure mode and per reviewer, and reviews per day."""
    left, right = st.columns(2)
    with left:
        st.subheader("Per failure mode")
        table_ui.table(progress_by_cluster(workspace))
    with right:
        st.subheader("Per reviewer")
        table_ui.table(progress_by_reviewer(workspace))
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
        table_ui.table(pl.DataFrame([{
            "reviewers": " & ".join(row.reviewers), "records": row.records, "verdict_kappa": row.verdict_kappa,
            "verdict_agreement": row.verdict_agreement, "correction_similarity": row.correction_similarity,
            "corrections_compared": row.corrections_compared} for row in report[1:]]))
    if overall.tag_kappa:
        names = tag_names(workspace)
        st.caption("Kappa per tag (present or absent), first review against second")
        table_ui.table(pl.DataFrame([{"tag": names.get(tag, tag), "kappa": value}
                                     for tag, value in overall.tag_kappa.items()]))
    share_setting(workspace)
    st.subheader("Adjudication")
    adjudication(workspace)


def share_setting(workspace: Workspace) -> None:
    """The share of failures that get a blind second review."""
    if not access_ui.lead_only("second_review"):
        return
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
    if not access_ui.lead_only("adjudicate"):
        return
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
            shown = answer_version(record_id, [review])  # the answer as shown: a pick of a changed one is refused
            st.button(ui.plain(f"Pick {review.reviewer}'s answer"), key=f"review_pick_{record_id}_{review.reviewer}",
                      **ui.bound_press("pick", shown, f"Pick {review.reviewer}'s answer on call {item['source_id']}"))
            if ui.take_press("pick", shown):
                settle(workspace, record_id, pick=review.reviewer)
    written_against = answer_version(record_id, item["reviews"])
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
        st.form_submit_button("Save final answer", **ui.bound_press(
            "final", written_against, f"Save final answer on call {item['source_id']}",
            (("Final corrected answer", f"review_final_correction_{record_id}"),)))
    if ui.take_press("final", written_against):
        settle(workspace, record_id, verdict=verdict, tags=tags, correction=correction)


def answer_version(record_id: str, reviews: list[ReviewState]) -> str:
    """The reviews of a record as a lead saw them (who, and when they last changed): what a pick or
    a final answer is bound to, so a reviewer changing their answer meanwhile makes the lead look again."""
    return "|".join([record_id, *(f"{review.reviewer}@{review.last_change}" for review in reviews)])


def settle(workspace: Workspace, record_id: str, **answer: Any) -> None:
    """Record the lead's final answer (one call to adjudicate), in the name of the sidebar's reviewer."""
    if ui.need_reviewer("an adjudication"):
        return
    lead = ui.reviewer_name()
    try:
        event = adjudicate(workspace, record_id, lead, **answer)
    except ReviewError as exc:
        st.error(ui.plain(str(exc)))
        return
    remember_action(lead, event.batch_id)
    st.session_state[NOTICE_KEY] = "Final answer saved."
    st.rerun()


def annotations(workspace: Workspace) -> None:
    """Export every review event as JSONL, or import such a file (idempotent), as on the command line."""
    if not access_ui.lead_only("annotations"):
        return
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
            f"Imported {report.events_added:,} of {plural(report.events_read, 'event')} ({report.events_present:,} already "
            f"present, {len(report.tags_added)} new tags, {report.events_for_missing_records} events for "
            f"{plural(len(report.missing_records), 'record')} not in this workspace yet).")
        st.rerun()


def taxonomy(workspace: Workspace) -> None:
    """The failure tags: add one; rename, describe, retire or restore one (every change kept in its history)."""
    if not access_ui.lead_only("taxonomy"):
        return
    tags = list_tags(workspace)
    table_ui.table(pl.DataFrame([{"name": tag.name, "description": tag.description, "retired": tag.retired,
                                  "id": tag.tag_id} for tag in tags]))
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
    as_shown = "|".join([chosen, tag.name, tag.description, str(tag.retired)])  # another lead's edit meanwhile refuses
    with right.form(f"review_tag_edit_{chosen}"):
        new_name = st.text_input("Name", value=tag.name, key=f"review_tag_name_{chosen}")
        new_description = st.text_input("Description", value=tag.description, key=f"review_tag_description_{chosen}")
        retired = st.checkbox("Retired (kept on old reviews, not offered for new ones)", value=tag.retired,
                              key=f"review_tag_retired_{chosen}")
        st.form_submit_button("Save tag", **ui.bound_press("tag", as_shown, f"Save tag on the tag {tag.name}", (
            ("Name", f"review_tag_name_{chosen}"), ("Description", f"review_tag_description_{chosen}"))))
    if ui.take_press("tag", as_shown):
        def edit(by: str) -> None:
            if " ".join(new_name.split()) != tag.name:
                rename_tag(workspace, chosen, new_name, by=by)
            if new_description.strip() != tag.description:
                describe_tag(workspace, chosen, new_description, by=by)
            if retired != tag.retired:
                retire_tag(workspace, chosen, by=by, retired=retired)
        change_tag(edit, f"Saved the tag {new_name.strip()}.")
    with right.expander("History"):
        table_ui.table(pl.DataFrame(tag_history(workspace, chosen)))


def change_tag(change: Any, message: str) -> None:
    """Run one taxonomy change in the reviewer's name, or say why it cannot be made."""
    if ui.need_reviewer("a change to the taxonomy"):
        return
    try:
        change(ui.reviewer_name())
    except UnknownTag as exc:
        st.error(ui.plain(str(exc)))
        return
    st.session_state[NOTICE_KEY] = message
    st.rerun()
