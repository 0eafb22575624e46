"""The Review page never writes on the wrong call, and says what an undo will undo (AppTest).

Every button that writes is bound to what it showed when drawn: a press that arrives after the page
moved on (a filter changed, another tab saved, another lead edited) is refused with a message.
"""

from __future__ import annotations

from datetime import datetime, timezone

from mining.review import (bulk_apply, list_events, list_tags, record_state, rename_tag, resolve_tag, reviewer_state,
                           save_review)
from test_review_page import calls, click, preview_bulk_verdict, start, widget  # noqa: F401  (calls: the fixture)
from ui import plain

T = datetime(2026, 11, 20, 10, 2, tzinfo=timezone.utc)


def shown(elements) -> list[str]:
    return [element.value for element in elements]


def anywhere(at, text: str) -> bool:
    """Whether `text` (as ui.plain writes it) is in any message on the page."""
    return any(plain(text) in value for kind in ("success", "info", "warning", "error")
               for value in shown(getattr(at, kind)))


# --- Defect 7: a correction saved on the wrong call ---------------------------------------------


def test_a_filter_that_leaves_the_call_out_moves_the_review_on_and_the_typed_text_stays_behind(workspace, calls):
    at = start("ana", record=calls["f-0"])  # mode 0
    widget(at.text_area, "Corrected answer").input("typed for f-0")
    widget(at.multiselect, "Failure mode").set_value([1])  # f-4 and f-5 only
    at.run()
    assert anywhere(at, "Call f-0 is not in this queue, so the review moved on to the first call in it.")
    now = at.query_params["record"]
    assert now in (calls["f-4"], calls["f-5"])
    assert widget(at.text_area, "Corrected answer").value.startswith("bad answer ")  # its own prefill
    click(at, "Save and next", reviewer="ana")  # the form of the call on screen, never typed into
    assert anywhere(at, "Not saved: nothing changed on call f-")
    assert list_events(workspace) == []
    assert at.query_params["record"] == now


def test_a_save_that_arrives_with_a_filter_change_is_refused_and_gives_the_text_back(workspace, calls):
    at = start("ana", record=calls["f-0"])
    widget(at.text_area, "Corrected answer").input("typed for f-0")
    widget(at.radio, "Verdict").set_value("hard_example")
    widget(at.multiselect, "Failure mode").set_value([1])
    click(at, "Save and next", reviewer="ana")  # pressed before the page redrew: one run carries both
    assert list_events(workspace) == []
    assert anywhere(at, "Not done: you pressed Save and next on call f-0, but the page had moved on")
    assert anywhere(at, "(it now shows call f-")
    assert "typed for f-0" in shown(at.code)  # nothing typed is lost


def test_the_form_of_a_call_keeps_to_that_call(workspace, calls):
    at = start("ana", record=calls["f-0"])
    widget(at.radio, "Verdict").set_value("hard_example")
    widget(at.text_area, "Corrected answer").input("the fix for f-0")
    click(at, "Save and next", reviewer="ana")
    assert reviewer_state(workspace, calls["f-0"], "ana").correction == "the fix for f-0"
    following = at.query_params["record"]
    assert following != calls["f-0"]
    assert widget(at.text_area, "Corrected answer").value.startswith("bad answer ")  # not the text typed before
    assert reviewer_state(workspace, following, "ana").correction is None


def test_a_save_on_a_review_changed_in_another_tab_is_refused(workspace, calls):
    at = start("ana", record=calls["f-1"])
    widget(at.text_area, "Corrected answer").input("typed in this tab")
    save_review(workspace, calls["f-1"], "ana", verdict="unsure", at=T)  # the same reviewer, another tab
    click(at, "Save and next", reviewer="ana")
    state = reviewer_state(workspace, calls["f-1"], "ana")
    assert state.verdict == "unsure" and state.correction is None
    assert anywhere(at, "Not done: you pressed Save and next on call f-1")
    assert widget(at.radio, "Verdict").value == "unsure"  # the form shows the review as it is now


def test_a_bulk_apply_pressed_after_its_preview_changed_is_refused(workspace, calls):
    at = preview_bulk_verdict("not_a_failure")
    assert anywhere(at, "on 6 of 6 records")
    widget(at.selectbox, "Verdict").set_value("unsure")  # changed as Apply was pressed
    click(at, "Apply to 6 records", reviewer="ana")
    assert list_events(workspace) == []
    assert anywhere(at, "Not done: you pressed Apply to 6 records")


def test_a_bulk_preview_belongs_to_the_reviewer_who_made_it(workspace, calls):
    at = preview_bulk_verdict("not_a_failure")
    click(at, "Apply to 6 records", reviewer="ben")  # the name in the sidebar changed meanwhile
    assert list_events(workspace) == []
    assert anywhere(at, "Not done: you pressed Apply to 6 records")


def test_a_pick_of_an_answer_that_changed_since_it_was_shown_is_refused(workspace, calls):
    save_review(workspace, calls["f-2"], "ana", verdict="hard_example", correction="ana's fix", at=T)
    save_review(workspace, calls["f-2"], "ben", verdict="not_a_failure", at=T)
    at = start("lead", tab="Agreement")
    save_review(workspace, calls["f-2"], "ben", verdict="unsure", correction="ben's new fix")  # while the lead reads
    click(at, plain("Pick ben's answer"), reviewer="lead")
    assert record_state(workspace, calls["f-2"]).adjudicated_by is None
    assert anywhere(at, "Not done: you pressed Pick ben's answer on call f-2")
    click(at, plain("Pick ben's answer"), reviewer="lead")  # the answer as shown now
    state = record_state(workspace, calls["f-2"])
    assert state.adjudicated_by == "lead" and state.correction == "ben's new fix"


def test_a_final_answer_written_against_reviews_that_changed_is_refused(workspace, calls):
    save_review(workspace, calls["f-2"], "ana", verdict="hard_example", at=T)
    save_review(workspace, calls["f-2"], "ben", verdict="not_a_failure", at=T)
    at = start("lead", tab="Agreement")
    widget(at.radio, "Final verdict").set_value("unsure")
    widget(at.text_area, "Final corrected answer").input("the lead's answer")
    save_review(workspace, calls["f-2"], "ana", verdict="unsure", tags=["refusal"])  # still disputed: tags differ
    click(at, "Save final answer", reviewer="lead")
    assert record_state(workspace, calls["f-2"]).adjudicated_by is None
    assert "the lead's answer" in shown(at.code)


def test_a_tag_edit_after_another_lead_changed_the_tag_is_refused(workspace, calls):
    tag = list_tags(workspace)[0]
    at = start("lead")
    at.selectbox(key="review_tag_chosen").set_value(tag.tag_id)
    at.run()
    at.text_input(key=f"review_tag_name_{tag.tag_id}").input("my name for it")
    rename_tag(workspace, tag.tag_id, "another lead's name", by="other lead")
    click(at, "Save tag", reviewer="lead")
    assert resolve_tag(workspace, tag.tag_id).name == "another lead's name"
    assert anywhere(at, f"Not done: you pressed Save tag on the tag {tag.name}")
    assert "my name for it" in shown(at.code)


# --- Defect 8: undo says what it will undo, and asks before reaching back -----------------------


def test_undo_names_the_call_who_what_and_when(workspace, calls):
    save_review(workspace, calls["f-0"], "ana", verdict="hard_example", tags=["refusal"], at=T)
    at = start("ana", record=calls["f-0"])
    assert "Undo would cancel ana's save on call f-0 (verdict hard_example, tags) from 10:02 UTC on 2026-11-20." \
        in shown(at.text)


def test_this_sessions_save_is_undone_at_once_and_a_second_press_asks_first(workspace, calls):
    save_review(workspace, calls["f-1"], "ana", verdict="unsure", at=T)  # an earlier save, another session
    at = start("ana", record=calls["f-0"])
    widget(at.radio, "Verdict").set_value("hard_example")
    click(at, "Save and next", reviewer="ana")
    assert any(text.startswith("Undo would cancel ana's save on call f-0 (verdict hard_example) from ")
               for text in shown(at.text))

    click(at, "Undo my last action", reviewer="ana")  # this session's own last action: no question
    assert reviewer_state(workspace, calls["f-0"], "ana").verdict is None
    assert anywhere(at, "Undid ana's save on call f-0 (verdict hard_example)")

    click(at, "Undo my last action", reviewer="ana")  # the next one back is older: named, and asked
    assert reviewer_state(workspace, calls["f-1"], "ana").verdict == "unsure"
    assert anywhere(at, "This will undo an earlier action, not your last one in this session: "
                        "ana's save on call f-1 (verdict unsure) from 10:02 UTC on 2026-11-20.")
    click(at, "Cancel", reviewer="ana")
    assert reviewer_state(workspace, calls["f-1"], "ana").verdict == "unsure"
    assert not anywhere(at, "This will undo an earlier action")

    click(at, "Undo my last action", reviewer="ana")
    click(at, "Confirm undo", reviewer="ana")
    assert reviewer_state(workspace, calls["f-1"], "ana").verdict is None
    assert anywhere(at, "Undid ana's save on call f-1 (verdict unsure)")
    assert "Nothing of yours to undo." in shown(at.text)


def test_a_confirmation_undoes_the_action_it_named_even_if_a_newer_one_came_meanwhile(workspace, calls):
    save_review(workspace, calls["f-1"], "ana", verdict="unsure", at=T)
    at = start("ana", record=calls["f-1"])
    click(at, "Undo my last action", reviewer="ana")
    bulk_apply(workspace, [calls["f-3"], calls["f-4"]], "ana", verdict="skip")  # ana, in another tab
    click(at, "Confirm undo", reviewer="ana")
    assert reviewer_state(workspace, calls["f-1"], "ana").verdict is None  # the save it named
    assert reviewer_state(workspace, calls["f-3"], "ana").verdict == "skip"  # not the newer bulk action


def test_a_bulk_action_of_this_session_is_undone_as_a_whole_and_named(workspace, calls):
    at = start("ana")
    widget(at.radio, "Action").set_value("verdict")
    at.run()
    widget(at.selectbox, "Verdict").set_value("skip")
    click(at, "Preview", reviewer="ana")
    click(at, "Apply to 6 records", reviewer="ana")
    assert any(text.startswith("Undo would cancel ana's bulk action on 6 calls (f-") and "verdict skip" in text
               for text in shown(at.text))
    click(at, "Undo my last action", reviewer="ana")
    assert all(reviewer_state(workspace, record_id, "ana").verdict is None for record_id in calls.values())
