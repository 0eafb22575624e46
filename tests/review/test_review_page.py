"""The Review page, run headless with AppTest: the form, bulk actions, undo, agreement and adjudication."""

from __future__ import annotations

import json
import re

import pytest
from streamlit.testing.v1 import AppTest

import ui
from mining.review import (disagreements, export_annotations, list_events, record_state, reviewer_state, save_review,
                           second_review_share, set_second_review_share)
from mining.review.queue import live_claims
from mining.store import Workspace
from review_data import add_cluster_run, load_calls
from paths import ROOT

PAGE = "views/review.py"
TABS_KEY = "review_tabs"  # views/review.py's, which runs as a page script, not as a module to import


def start(reviewer: str | None = None, tab: str | None = None, **query: str) -> AppTest:
    """The app, switched to the Review page with `query` in the URL; `reviewer` typed in the sidebar;
    `tab` open (Progress and Agreement are drawn only while open)."""
    at = AppTest.from_file(ROOT / "app.py", default_timeout=120).run()
    assert not at.exception
    at.query_params.update(query)
    if reviewer is not None:
        at.session_state[ui.REVIEWER_KEY] = reviewer
    if tab is not None:
        at.session_state[TABS_KEY] = tab
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def click(at: AppTest, label: str, reviewer: str | None = None) -> AppTest:
    """Press a button; AppTest runs the page alone, without app.py's sidebar, so set the name again."""
    if reviewer is not None:
        at.session_state[ui.REVIEWER_KEY] = reviewer
    next(widget for widget in at.button if widget.label == label).click().run()
    assert not at.exception, at.exception
    return at


def widget(elements, label: str):
    return next(element for element in elements if element.label == label)


@pytest.fixture
def calls(workspace, write_log, openai_line) -> dict[str, str]:
    """Six failing calls (f-0..f-5) and two passing ones, in two hand-made modes."""
    ids = load_calls(workspace, write_log, openai_line)
    add_cluster_run(workspace, [(0, 4, 2.0, "growing", [ids[f"f-{i}"] for i in range(4)]),
                                (1, 2, 1.0, "stable", [ids["f-4"], ids["f-5"]])])
    return ids


def test_the_queue_lists_failures_and_a_selected_row_opens_for_review(workspace, calls):
    at = start("ana")
    table = at.dataframe[0]
    assert table.value.shape[0] == 6
    at.session_state[table.key] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    opened = at.query_params["record"]
    assert opened == table.value["record_id"][0]
    texts = [element.value for element in at.text]
    assert any(text.startswith("question ") for text in texts)  # the transcript, as text
    assert any(text.startswith("Failure mode: mode ") for text in texts)
    correction = widget(at.text_area, "Corrected answer")
    assert correction.value.startswith("bad answer ")  # prefilled with the model's response


def test_the_form_saves_verdict_tags_and_correction_then_opens_the_next(workspace, calls):
    record_id = calls["f-0"]
    at = start("ana", record=record_id)
    assert widget(at.text_area, "Corrected answer").value == "bad answer 0"
    widget(at.radio, "Verdict").set_value("hard_example")
    widget(at.multiselect, "Tags").set_value(["hallucination", "wrong_answer"])
    widget(at.text_area, "Corrected answer").input("the right answer 0")
    widget(at.text_area, "Note").input("checked the docs")
    click(at, "Save and next", reviewer="ana")
    state = reviewer_state(workspace, record_id, "ana")
    assert state.verdict == "hard_example"
    assert sorted(state.tags) == ["hallucination", "wrong_answer"]
    assert state.correction == "the right answer 0" and state.note == "checked the docs"
    assert at.query_params["record"] != record_id  # save and next
    assert any(ui.plain("Saved f-0") in element.value for element in at.success)

    # Reopened (a new session, as after a reload), the form starts from the saved review.
    again = start("ana", record=record_id)
    assert widget(again.radio, "Verdict").value == "hard_example"
    assert sorted(widget(again.multiselect, "Tags").value) == ["hallucination", "wrong_answer"]
    assert widget(again.text_area, "Corrected answer").value == "the right answer 0"


def test_an_untouched_prefill_is_not_saved_as_a_correction(workspace, calls):
    at = start("ana", record=calls["f-1"])
    widget(at.radio, "Verdict").set_value("not_a_failure")
    click(at, "Save and next", reviewer="ana")
    state = reviewer_state(workspace, calls["f-1"], "ana")
    assert state.verdict == "not_a_failure" and state.correction is None


def test_without_a_reviewer_name_nothing_is_saved(workspace, calls):
    at = start(record=calls["f-0"])
    widget(at.radio, "Verdict").set_value("hard_example")
    click(at, "Save and next", reviewer="")
    assert any("Nothing was saved" in element.value for element in at.warning)
    assert list_events(workspace) == []


def test_undo_my_last_action(workspace, calls):
    save_review(workspace, calls["f-0"], "ana", verdict="unsure")
    save_review(workspace, calls["f-0"], "ana", verdict="hard_example", tags=["refusal"])
    at = start("ana", record=calls["f-0"])
    assert widget(at.radio, "Verdict").value == "hard_example"
    click(at, "Undo my last action", reviewer="ana")  # saved before this session: it asks first
    click(at, "Confirm undo", reviewer="ana")
    state = reviewer_state(workspace, calls["f-0"], "ana")
    assert state.verdict == "unsure" and state.tags == ()
    assert widget(at.radio, "Verdict").value == "unsure"  # the form follows the undone state


def test_bulk_tag_on_a_cluster_confirms_the_count_applies_and_undoes(workspace, calls):
    save_review(workspace, calls["f-0"], "ana", tags=["verbosity"])
    at = start("ana")
    widget(at.radio, "Apply to").set_value("cluster")
    at.run()
    widget(at.selectbox, "Failure mode").set_value(0)
    widget(at.radio, "Action").set_value("add_tag")
    at.run()
    widget(at.selectbox, "Tag").set_value("verbosity")
    click(at, "Preview", reviewer="ana")
    assert any(ui.plain("on 3 of 4 records") in element.value for element in at.warning)
    assert list(list_events(workspace)) and len(list_events(workspace)) == 1  # nothing written yet
    click(at, "Apply to 3 records", reviewer="ana")
    members = [calls[f"f-{i}"] for i in range(4)]
    assert all("verbosity" in reviewer_state(workspace, record_id, "ana").tags for record_id in members)
    assert any(ui.plain("Changed 3 records") in element.value for element in at.success)
    click(at, "Undo my last action", reviewer="ana")
    assert [record_id for record_id in members if "verbosity" in reviewer_state(workspace, record_id, "ana").tags] \
        == [calls["f-0"]]


def preview_bulk_verdict(verdict: str, reviewer: str = "ana") -> AppTest:
    """The Review page with a bulk verdict previewed on the whole queue, as `reviewer`."""
    at = start(reviewer)
    widget(at.radio, "Action").set_value("verdict")
    at.run()
    widget(at.selectbox, "Verdict").set_value(verdict)
    click(at, "Preview", reviewer=reviewer)
    return at


def test_signals_read_by_their_labels_in_the_queue_and_its_filter(workspace, calls):
    """The same name everywhere: the Failures page says "Negative feedback", so does the queue."""
    at = start("ana")
    shown = set(", ".join(at.dataframe[0].value["signals"]).split(", "))
    assert shown == {"Negative feedback"}
    signal_filter = widget(at.multiselect, "Signal")
    assert signal_filter.options == ["Negative feedback"]
    signal_filter.set_value(["negative_feedback"])
    at.run()
    assert not at.exception and len(at.dataframe[0].value) == 6


def test_the_bulk_actions_panel_stays_open_while_the_reviewer_chooses(workspace, calls):
    at = start("ana")
    panel = widget(at.expander, "Bulk actions")
    assert not panel.proto.expanded
    at.session_state["review_bulk_open"] = True  # the reviewer opens it (views/review.py BULK_OPEN_KEY)
    at.run()
    for label, value in (("Apply to", "picked"), ("Action", "add_tag"), ("Apply to", "queue")):
        widget(at.radio, label).set_value(value)
        at.run()
        assert widget(at.expander, "Bulk actions").proto.expanded, label  # still open after each choice


def test_bulk_verdict_on_the_filtered_queue(workspace, calls):
    at = preview_bulk_verdict("not_a_failure")
    assert any(ui.plain("on 6 of 6 records") in element.value for element in at.warning)
    click(at, "Apply to 6 records", reviewer="ana")
    assert all(reviewer_state(workspace, calls[f"f-{i}"], "ana").verdict == "not_a_failure" for i in range(6))


def test_bulk_tag_on_records_picked_from_the_queue(workspace, calls):
    at = start("ana")
    widget(at.radio, "Apply to").set_value("picked")
    widget(at.radio, "Action").set_value("add_tag")
    at.run()
    widget(at.multiselect, "Records (this page of the queue)").set_value([calls["f-1"], calls["f-4"]])
    widget(at.selectbox, "Tag").set_value("incomplete")
    click(at, "Preview", reviewer="ana")
    assert any(ui.plain("on 2 of 2 records") in element.value for element in at.warning)
    click(at, "Apply to 2 records", reviewer="ana")
    tagged = [i for i in range(6) if "incomplete" in reviewer_state(workspace, calls[f"f-{i}"], "ana").tags]
    assert tagged == [1, 4]


def test_agreement_shows_kappa_after_two_reviewers(workspace, calls):
    verdicts = {"ana": ["hard_example", "hard_example", "not_a_failure", "not_a_failure"],
                "ben": ["hard_example", "not_a_failure", "not_a_failure", "not_a_failure"]}
    for reviewer, given in verdicts.items():
        for i, verdict in enumerate(given):
            save_review(workspace, calls[f"f-{i}"], reviewer, verdict=verdict)
    at = start("lead", tab="Agreement")
    metric = widget(at.metric, "Verdict kappa")
    assert metric.value == "0.50"  # observed 3/4, expected 1/2
    assert widget(at.metric, "Records reviewed twice").value == "4"


def test_the_second_review_share_is_a_setting(workspace, calls):
    at = start("lead", tab="Agreement")
    widget(at.number_input, "Second review share (%)").set_value(25.0)
    click(at, "Save share", reviewer="lead")
    assert second_review_share(workspace) == 0.25


def test_a_lead_picks_one_answer_of_a_disputed_record(workspace, calls):
    save_review(workspace, calls["f-2"], "ana", verdict="hard_example", correction="ana's fix")
    save_review(workspace, calls["f-2"], "ben", verdict="not_a_failure")
    assert [item["record_id"] for item in disagreements(workspace)] == [calls["f-2"]]
    at = start("lead", tab="Agreement")
    click(at, ui.plain("Pick ana's answer"), reviewer="lead")
    state = record_state(workspace, calls["f-2"])
    assert state.adjudicated_by == "lead" and state.verdict == "hard_example" and state.correction == "ana's fix"
    assert disagreements(workspace) == []


def test_a_lead_writes_the_final_answer(workspace, calls):
    save_review(workspace, calls["f-2"], "ana", verdict="hard_example")
    save_review(workspace, calls["f-2"], "ben", verdict="not_a_failure")
    at = start("lead", tab="Agreement")
    widget(at.radio, "Final verdict").set_value("unsure")
    widget(at.text_area, "Final corrected answer").input("the lead's answer")
    click(at, "Save final answer", reviewer="lead")
    state = record_state(workspace, calls["f-2"])
    assert state.verdict == "unsure" and state.correction == "the lead's answer" and state.adjudicated_by == "lead"


def test_a_blind_second_reviewer_does_not_see_the_first_review(workspace, calls):
    set_second_review_share(workspace, 1.0)
    save_review(workspace, calls["f-3"], "ana", verdict="hard_example", correction="ana's secret fix")
    at = start("ben", record=calls["f-3"])
    assert any("Blind second review" in element.value for element in at.info)
    assert not any("ana's secret fix" in element.value for element in at.code)
    assert widget(at.radio, "Verdict").value is None
    seen = start("carl", record=calls["f-3"])  # anyone but ana, while hers is the only review
    assert any("Blind second review" in element.value for element in seen.info)


def test_annotations_import_from_the_page(workspace, calls, tmp_path, write_log, openai_line):
    other = Workspace.open(tmp_path / "other.duckdb")  # a colleague's workspace over the same logs
    load_calls(other, write_log, openai_line, name="other.jsonl")
    save_review(other, calls["f-4"], "zoe", verdict="hard_example", tags=["unsafe"], correction="zoe's fix")
    exported = tmp_path / "annotations.jsonl"
    export_annotations(other, exported)
    at = start("ana")
    at.file_uploader(key="review_import_file").set_value(("annotations.jsonl", exported.read_bytes(),
                                                          "application/jsonl"))
    at.run()
    click(at, "Import", reviewer="ana")
    state = reviewer_state(workspace, calls["f-4"], "zoe")
    assert state.verdict == "hard_example" and state.correction == "zoe's fix"
    assert any(ui.plain("Imported 3 of 3 events") in element.value for element in at.success)
    click(at, "Import", reviewer="ana")  # twice: nothing more
    assert any(ui.plain("Imported 0 of 3 events (3 already present") in element.value for element in at.success)
    assert len(list_events(workspace)) == 3


def test_a_tool_calling_record_gets_a_tool_call_editor(workspace, fixtures):
    from mining.ingest import ingest_paths

    ingest_paths(workspace, [fixtures / "openai_chat.jsonl"])
    at = start("ana", record="req_00011")
    editor = widget(at.text_area, "Corrected tool calls (JSON)")
    logged = json.loads(editor.value)
    assert "cancel_subscription" in editor.value
    fixed = [{**logged[0], "arguments": {"account_id": "acc-1"}}]
    editor.input(json.dumps(fixed))
    widget(at.radio, "Verdict").set_value("hard_example")
    click(at, "Save and next", reviewer="ana")
    record_id = workspace.cursor().execute("SELECT record_id FROM records WHERE source_id = 'req_00011'").fetchone()[0]
    assert reviewer_state(workspace, record_id, "ana").tool_calls == fixed


def test_tool_calls_that_are_not_json_are_refused(workspace, fixtures):
    from mining.ingest import ingest_paths

    ingest_paths(workspace, [fixtures / "openai_chat.jsonl"])
    at = start("ana", record="req_00011")
    widget(at.text_area, "Corrected tool calls (JSON)").input("[{not json")
    widget(at.radio, "Verdict").set_value("hard_example")
    click(at, "Save and next", reviewer="ana")
    assert any("not JSON" in element.value for element in at.error)
    assert list_events(workspace) == []


def test_next_and_previous(workspace, calls):
    at = start("ana", record=calls["f-5"])
    click(at, "Next", reviewer="ana")
    following = at.query_params["record"]
    assert following != calls["f-5"] and following in calls.values()
    click(at, "Previous", reviewer="ana")
    assert at.query_params["record"] == calls["f-5"]


def test_claim_a_batch_and_release_it(workspace, calls):
    at = start("ana")
    click(at, "Claim next 20", reviewer="ana")
    assert len(live_claims(workspace, "ana")) == 6  # the whole queue: six failures
    assert any(ui.plain("Claimed 6 records") in element.value for element in at.success)
    assert list(start("ben").dataframe[0].value["record_id"]) == []  # others' queues skip them
    click(at, "Release my claims", reviewer="ana")
    assert live_claims(workspace) == []


def test_progress_per_mode_reviewer_and_day(workspace, calls):
    save_review(workspace, calls["f-0"], "ana", verdict="hard_example")
    save_review(workspace, calls["f-4"], "ben", verdict="not_a_failure")
    at = start("ana", tab="Progress")
    tables = [frame.value for frame in at.dataframe]
    by_mode = next(table for table in tables if "remaining" in table.columns)
    assert by_mode["reviewed"].sum() == 2 and by_mode["remaining"].sum() == 4
    by_reviewer = next(table for table in tables if "open_claims" in table.columns)
    assert sorted(by_reviewer["reviewer"]) == ["ana", "ben"]


def test_log_text_on_the_review_page_is_plain_text(workspace, write_log, openai_line):
    html = "<img src=x onerror=alert(1)><b>bold</b>"
    from mining.ingest import ingest_paths

    ingest_paths(workspace, [write_log("html.jsonl", [openai_line("html-1", html, f"**{html}**", error=html)])])
    at = start("ana", record="html-1")
    texts = [element.value for element in at.text]
    assert html in texts and f"**{html}**" in texts
    assert widget(at.text_area, "Corrected answer").value == f"**{html}**"
    rendered = [element.value for kind in ("markdown", "caption", "error", "warning", "info", "success")
                for element in getattr(at, kind)]
    assert not any(re.search(r"(?<!\\)[<*]", value) for value in rendered)  # every < and * escaped
    assert ui.plain(html) in rendered  # the error, escaped


def test_the_queue_filters_by_mode_and_review_state(workspace, calls):
    save_review(workspace, calls["f-4"], "ana", verdict="hard_example")
    at = start("ana")
    assert at.dataframe[0].value.shape[0] == 5  # to do: the one ana judged is left out
    widget(at.segmented_control, "Review state").set_value("any")
    at.run()
    assert at.dataframe[0].value.shape[0] == 6
    widget(at.multiselect, "Failure mode").set_value([1])
    at.run()
    assert sorted(at.dataframe[0].value["source_id"]) == ["f-4", "f-5"]
    widget(at.segmented_control, "Review state").set_value("reviewed")
    at.run()
    assert list(at.dataframe[0].value["source_id"]) == ["f-4"]


def test_the_taxonomy_tab_adds_renames_and_retires_tags(workspace, calls):
    from mining.review import list_tags, resolve_tag

    at = start("lead", record=calls["f-0"])
    at.text_input(key="review_tag_new_name").input("stale policy")
    at.text_input(key="review_tag_new_description").input("quoted an outdated policy")
    click(at, "Add tag", reviewer="lead")
    added = resolve_tag(workspace, "stale policy")
    assert added.description == "quoted an outdated policy"
    at.selectbox(key="review_tag_chosen").set_value(added.tag_id)
    at.run()
    at.text_input(key=f"review_tag_name_{added.tag_id}").input("outdated policy")
    at.checkbox(key=f"review_tag_retired_{added.tag_id}").check()
    click(at, "Save tag", reviewer="lead")
    tag = resolve_tag(workspace, "stale policy")  # the former name still finds it
    assert tag.name == "outdated policy" and tag.retired
    offered = widget(at.multiselect, "Tags").options  # the review form offers it no more
    assert "hallucination" in offered and "outdated policy" not in offered and "stale policy" not in offered
    assert added.tag_id not in [tag.tag_id for tag in list_tags(workspace, include_retired=False)]


def test_outside_the_second_review_share_others_answers_are_shown(workspace, calls):
    set_second_review_share(workspace, 0.0)
    save_review(workspace, calls["f-3"], "ana", verdict="hard_example", tags=["refusal"], correction="ana's fix")
    at = start("ben", record=calls["f-3"])
    assert not any("Blind second review" in element.value for element in at.info)
    assert "ana's fix" in [element.value for element in at.code]
    assert "ana: Hard example · tags: refusal" in [element.value for element in at.text]
