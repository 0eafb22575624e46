"""The review event log: every change appended, the current state derived, undo, bulk, two writers."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from mining.browse import get_record
from mining.review import (ReviewError, bulk_apply, bulk_preview, describe_action, last_action, list_events,
                           record_state, retire_tag, reviewer_state, save_from_editor, save_review, undo)
from review_data import load_calls

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def ids(workspace, write_log, openai_line) -> dict[str, str]:
    return load_calls(workspace, write_log, openai_line)


def test_save_appends_one_event_per_changed_field_and_state_is_derived(workspace, ids):
    record = ids["f-0"]
    first = save_review(workspace, record, "ann", verdict="hard_example", tags=["hallucination", "Wrong Answer"],
                        correction="The refund takes 5 days.", note="check policy", at=T0)
    assert [event.action for event in first] == ["verdict", "tags", "correction", "note"]
    assert len({event.batch_id for event in first}) == 1
    assert first[1].before == [] and first[1].after == ["hallucination", "wrong_answer"]

    second = save_review(workspace, record, "ann", verdict="hard_example", tags=["hallucination"], note="check policy",
                         at=T0 + timedelta(minutes=1))
    assert [(event.action, event.before, event.after) for event in second] == [
        ("tags", ["hallucination", "wrong_answer"], ["hallucination"])]

    state = reviewer_state(workspace, record, "ann")
    assert (state.verdict, state.tags, state.correction, state.note) == (
        "hard_example", ("hallucination",), "The refund takes 5 days.", "check policy")
    assert state.last_change == T0 + timedelta(minutes=1)
    assert len(list_events(workspace, record)) == 5
    assert workspace.cursor().execute("SELECT count(*) FROM review_events").fetchone()[0] == 5


def test_correction_with_a_tool_call_and_clearing(workspace, ids):
    record = ids["f-1"]
    call = [{"name": "lookup_order", "arguments": {"order": "4100"}}]
    save_review(workspace, record, "ann", correction="Let me look that up.", tool_calls=call, at=T0)
    state = reviewer_state(workspace, record, "ann")
    assert state.correction == "Let me look that up." and state.tool_calls == call
    save_review(workspace, record, "ann", correction="", tool_calls=[], at=T0 + timedelta(seconds=1))
    state = reviewer_state(workspace, record, "ann")
    assert state.correction is None and state.tool_calls is None


def test_reviewers_keep_their_own_answers_and_disagreement_shows(workspace, ids):
    record = ids["f-0"]
    save_review(workspace, record, "ann", verdict="hard_example", at=T0)
    assert record_state(workspace, record).verdict == "hard_example"
    save_review(workspace, record, "bob", verdict="not_a_failure", at=T0 + timedelta(minutes=1))
    assert reviewer_state(workspace, record, "ann").verdict == "hard_example"
    state = record_state(workspace, record)
    assert state.verdict is None and state.disputed and state.reviewers == ("ann", "bob")
    assert state.last_reviewer == "bob"


def test_undo_walks_back_ones_own_actions_only(workspace, ids):
    a, b = ids["f-0"], ids["f-1"]
    save_review(workspace, a, "ann", verdict="hard_example", tags=["refusal"], at=T0)
    save_review(workspace, a, "ann", verdict="unsure", at=T0 + timedelta(minutes=1))
    save_review(workspace, b, "bob", verdict="skip", at=T0 + timedelta(minutes=2))
    save_review(workspace, b, "ann", verdict="hard_example", at=T0 + timedelta(minutes=3))

    undone = undo(workspace, "ann", at=T0 + timedelta(minutes=4))
    assert [(e.action, e.record_id, e.payload["action"]) for e in undone] == [("undo", b, "verdict")]
    assert reviewer_state(workspace, b, "ann").verdict is None
    assert reviewer_state(workspace, b, "bob").verdict == "skip"  # someone else's review is untouched

    undo(workspace, "ann", at=T0 + timedelta(minutes=5))
    assert reviewer_state(workspace, a, "ann").verdict == "hard_example"
    undo(workspace, "ann", at=T0 + timedelta(minutes=6))  # the first save: verdict and tags at once
    state = reviewer_state(workspace, a, "ann")
    assert state.verdict is None and state.tags == ()
    assert undo(workspace, "ann", at=T0 + timedelta(minutes=7)) == []
    actions = [event.action for event in list_events(workspace)]
    assert actions.count("undo") == 4 and len(actions) == 9  # nothing was deleted


def test_last_action_is_what_undo_would_cancel_and_describe_names_it(workspace, ids):
    a, b = ids["f-0"], ids["f-1"]
    first = save_review(workspace, a, "ann", verdict="hard_example", tags=["refusal"], at=T0)
    save_review(workspace, b, "bob", verdict="skip", at=T0 + timedelta(minutes=1))
    action = last_action(workspace, "ann")
    assert action.batch_id == first[0].batch_id and action.record_ids == (a,) and action.calls == ("f-0",)
    assert action.fields == ("verdict", "tags") and not action.bulk and action.at == T0
    assert describe_action(action, now=T0) == "ann's save on call f-0 (verdict hard_example, tags) from 09:00 UTC"
    assert describe_action(action, now=T0 + timedelta(days=2)) == \
        "ann's save on call f-0 (verdict hard_example, tags) from 09:00 UTC on 2026-11-20"

    bulk = bulk_apply(workspace, [ids[f"f-{i}"] for i in range(5)], "ann", verdict="skip", at=T0 + timedelta(minutes=2))
    action = last_action(workspace, "ann")
    assert action.bulk and action.batch_id == bulk[0].batch_id and len(action.calls) == 5
    assert describe_action(action, now=T0) == \
        "ann's bulk action on 5 calls (f-0, f-1, f-2 and 2 more) (verdict skip) from 09:02 UTC"

    assert last_action(workspace, "ann", batch_id=first[0].batch_id).batch_id == first[0].batch_id  # an older one
    undone = undo(workspace, "ann", batch_id=first[0].batch_id, at=T0 + timedelta(minutes=3))
    assert [event.undoes for event in undone] == [event.event_id for event in first]  # exactly that one
    assert reviewer_state(workspace, ids["f-2"], "ann").verdict == "skip"  # the newer bulk action stays
    assert last_action(workspace, "ann", batch_id=first[0].batch_id) is None
    assert undo(workspace, "ann", batch_id=first[0].batch_id) == []  # no longer in effect: nothing to undo
    assert last_action(workspace, "ann").batch_id == bulk[0].batch_id
    assert last_action(workspace, "zoe") is None


def test_bulk_verdict_and_tag_then_undo_as_a_whole(workspace, ids):
    records = [ids[f"f-{i}"] for i in range(5)]
    save_review(workspace, records[0], "ann", verdict="hard_example", tags=["verbosity"], at=T0)
    assert bulk_preview(workspace, records, "ann", verdict="hard_example") == 4  # one already has it
    events = bulk_apply(workspace, records, "ann", verdict="hard_example", at=T0 + timedelta(minutes=1))
    assert len(events) == 4 and all(event.bulk for event in events) and len({e.batch_id for e in events}) == 1

    tagged = bulk_apply(workspace, records, "ann", add_tag="incomplete", at=T0 + timedelta(minutes=2))
    assert len(tagged) == 5
    assert reviewer_state(workspace, records[0], "ann").tags == ("incomplete", "verbosity")
    assert reviewer_state(workspace, records[3], "ann").tags == ("incomplete",)

    assert len(undo(workspace, "ann", at=T0 + timedelta(minutes=3))) == 5  # the tag, on all five
    assert reviewer_state(workspace, records[0], "ann").tags == ("verbosity",)
    assert reviewer_state(workspace, records[3], "ann").tags == ()
    assert reviewer_state(workspace, records[3], "ann").verdict == "hard_example"
    undo(workspace, "ann", at=T0 + timedelta(minutes=4))  # the bulk verdict, on the four it changed
    assert [reviewer_state(workspace, r, "ann").verdict for r in records] == ["hard_example"] + [None] * 4

    removed = bulk_apply(workspace, records, "ann", remove_tag="verbosity", at=T0 + timedelta(minutes=5))
    assert [event.record_id for event in removed] == [records[0]]


def test_bad_input_is_refused_and_writes_nothing(workspace, ids):
    with pytest.raises(ReviewError, match="no record"):
        save_review(workspace, "nope", "ann", verdict="hard_example")
    with pytest.raises(ReviewError, match="unknown verdict"):
        save_review(workspace, ids["f-0"], "ann", verdict="great")
    with pytest.raises(ReviewError, match="no tag"):
        save_review(workspace, ids["f-0"], "ann", verdict="hard_example", tags=["not a tag"])
    with pytest.raises(ReviewError, match="reviewer"):
        save_review(workspace, ids["f-0"], "  ", verdict="hard_example")
    with pytest.raises(ReviewError, match="bulk"):
        bulk_apply(workspace, [ids["f-0"]], "ann", verdict="unsure", add_tag="unsafe")
    assert list_events(workspace) == []


def test_a_retired_tag_stays_on_old_reviews_but_is_refused_on_new_ones(workspace, ids):
    save_review(workspace, ids["f-0"], "ann", tags=["unsafe"], at=T0)
    retire_tag(workspace, "unsafe", by="lead")
    save_review(workspace, ids["f-0"], "ann", tags=["unsafe", "refusal"], at=T0 + timedelta(minutes=1))
    assert reviewer_state(workspace, ids["f-0"], "ann").tags == ("refusal", "unsafe")
    with pytest.raises(ReviewError, match="retired"):
        save_review(workspace, ids["f-1"], "ann", tags=["unsafe"])
    with pytest.raises(ReviewError, match="retired"):
        bulk_apply(workspace, [ids["f-1"]], "ann", add_tag="unsafe")


def test_two_writers_at_once_lose_nothing(workspace, write_log, openai_line):
    ids = load_calls(workspace, write_log, openai_line, failing=10, passing=0)
    records = sorted(ids.values())
    rounds = 15
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def review(reviewer: str, verdicts: tuple[str, str]) -> None:
        try:
            start.wait()
            for n in range(rounds):
                for index, record in enumerate(records):
                    save_review(workspace, record, reviewer, verdict=verdicts[n % 2],
                                note=f"{reviewer} round {n} record {index}")
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=review, args=("ann", ("hard_example", "unsure"))),
               threading.Thread(target=review, args=("bob", ("not_a_failure", "skip")))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    counts = dict(workspace.cursor().execute(
        "SELECT reviewer, count(*) FROM review_events GROUP BY reviewer").fetchall())
    assert counts == {"ann": rounds * len(records) * 2, "bob": rounds * len(records) * 2}  # verdict + note each
    for record in records:
        index = records.index(record)
        ann, bob = reviewer_state(workspace, record, "ann"), reviewer_state(workspace, record, "bob")
        assert (ann.verdict, ann.note) == ("hard_example", f"ann round {rounds - 1} record {index}")
        assert (bob.verdict, bob.note) == ("not_a_failure", f"bob round {rounds - 1} record {index}")


def test_an_editor_left_as_prefilled_is_no_correction_but_a_return_to_it_is(workspace, ids):
    record = get_record(workspace, ids["f-0"])
    response = record["response_text"] or ""
    saved = save_from_editor(workspace, record, "ann", verdict="hard_example", tags=[], correction=response,
                             tool_calls_text=None, note="", at=T0)
    assert [event.action for event in saved] == ["verdict"]
    assert reviewer_state(workspace, record["record_id"], "ann").correction is None
    save_from_editor(workspace, record, "ann", verdict="hard_example", tags=[], correction="Better.",
                     tool_calls_text=None, note="", at=T0 + timedelta(minutes=1))
    back = save_from_editor(workspace, record, "ann", verdict="hard_example", tags=[], correction=response,
                            tool_calls_text=None, note="", at=T0 + timedelta(minutes=2))
    assert [event.action for event in back] == ["correction"]
    assert reviewer_state(workspace, record["record_id"], "ann").correction == response
    with pytest.raises(ReviewError, match="not JSON"):
        save_from_editor(workspace, record, "ann", verdict=None, tags=[], correction=response,
                         tool_calls_text="[{broken", note="")
