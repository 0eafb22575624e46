"""The Review page, run headless with AppTest: the form, bulk actions, undo, agreement and adjudication."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import ui
from mining.adjudication import disagreements
from mining.review_events import list_events, save_review
from mining.review_state import record_state, reviewer_state
from mining.second_review import second_review_share, set_second_review_share
from review_data import add_cluster_run, load_calls

ROOT = Path(__file__).parents[1]
PAGE = "pages/review.py"


def start(reviewer: str | None = None, **query: str) -> AppTest:
    """The app, switched to the Review page with `query` in the URL; `reviewer` typed in the sidebar."""
    at = AppTest.from_file(ROOT / "app.py", default_timeout=120).run()
    assert not at.exception
    at.query_params.update(query)
    if reviewer is not None:
        at.session_state[ui.REVIEWER_KEY] = reviewer
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
    click(at, "Undo my last action", reviewer="ana")
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


def test_bulk_verdict_on_the_filtered_queue(workspace, calls):
    at = start("ana")
    widget(at.radio, "Action").set_value("verdict")
    at.run()
    widget(at.selectbox, "Verdict").set_value("not_a_failure")
    click(at, "Preview", reviewer="ana")
    assert any(ui.plain("on 6 of 6 records") in element.value for element in at.warning)
    click(at, "Apply to 6 records", reviewer="ana")
    assert all(reviewer_state(workspace, calls[f"f-{i}"], "ana").verdict == "not_a_failure" for i in range(6))


def test_agreement_shows_kappa_after_two_reviewers(workspace, calls):
    verdicts = {"ana": ["hard_example", "hard_example", "not_a_failure", "not_a_failure"],
                "ben": ["hard_example", "not_a_failure", "not_a_failure", "not_a_failure"]}
    for reviewer, given in verdicts.items():
        for i, verdict in enumerate(given):
            save_review(workspace, calls[f"f-{i}"], reviewer, verdict=verdict)
    at = start("lead")
    metric = widget(at.metric, "Verdict kappa")
    assert metric.value == "0.50"  # observed 3/4, expected 1/2
    assert widget(at.metric, "Records reviewed twice").value == "4"


def test_the_second_review_share_is_a_setting(workspace, calls):
    at = start("lead")
    widget(at.number_input, "Second review share (%)").set_value(25.0)
    click(at, "Save share", reviewer="lead")
    assert second_review_share(workspace) == 0.25


def test_a_lead_picks_one_answer_of_a_disputed_record(workspace, calls):
    save_review(workspace, calls["f-2"], "ana", verdict="hard_example", correction="ana's fix")
    save_review(workspace, calls["f-2"], "ben", verdict="not_a_failure")
    assert [item["record_id"] for item in disagreements(workspace)] == [calls["f-2"]]
    at = start("lead")
    click(at, "Pick ana's answer", reviewer="lead")
    state = record_state(workspace, calls["f-2"])
    assert state.adjudicated_by == "lead" and state.verdict == "hard_example" and state.correction == "ana's fix"
    assert disagreements(workspace) == []


def test_a_lead_writes_the_final_answer(workspace, calls):
    save_review(workspace, calls["f-2"], "ana", verdict="hard_example")
    save_review(workspace, calls["f-2"], "ben", verdict="not_a_failure")
    at = start("lead")
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
    seen = start("carl", record=calls["f-3"])  # a third reviewer after ben? still blind until 2 reviews
    assert any("Blind second review" in element.value for element in seen.info)
