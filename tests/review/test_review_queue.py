"""The review queue: priority from the latest clustering run, filters, paging, claims, blind second reviews."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from mining.review import is_blind, save_review, set_second_review_share
from mining.review.queue import (QueueFilter, claim_batch, in_queue, live_claims, next_record, queue_count,
                                 queue_page, queue_record_ids, release_claims)
from review_data import add_cluster_run, load_calls

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def ids(workspace, write_log, openai_line) -> dict[str, str]:
    """f-0..f-5 failing, p-0, p-1 passing; modes: 1 stable (impact 2), 2 stable (impact 6), 3 growing
    (impact 1.5); f-5 is noise. No second reviews unless a test asks for them."""
    ids = load_calls(workspace, write_log, openai_line)
    set_second_review_share(workspace, 0.0)
    add_cluster_run(workspace, [(1, 2, 1.0, "stable", [ids["f-0"], ids["f-1"]]),
                                (2, 3, 2.0, "stable", [ids["f-2"], ids["f-3"]]),
                                (3, 1, 1.5, "growing", [ids["f-4"]]),
                                (-1, 0, 0.0, "", [ids["f-5"]])])
    return ids


def _sources(frame) -> list[str]:
    return frame["source_id"].to_list()


def test_in_queue_says_whether_a_filter_keeps_a_record(workspace, ids):
    assert in_queue(workspace, ids["f-0"], QueueFilter(clusters=(1,)), at=T0)
    assert not in_queue(workspace, ids["f-0"], QueueFilter(clusters=(2,)), at=T0)
    assert not in_queue(workspace, ids["p-0"], at=T0)  # a passing call is in no queue
    save_review(workspace, ids["f-2"], "ann", verdict="hard_example", at=T0)
    assert not in_queue(workspace, ids["f-2"], QueueFilter(state="todo"), "ann", at=T0)
    assert in_queue(workspace, ids["f-2"], QueueFilter(state="reviewed"), "ann", at=T0)
    claim_batch(workspace, "bob", 10, QueueFilter(clusters=(3,)), at=T0)
    assert not in_queue(workspace, ids["f-4"], reviewer="ann", at=T0)  # bob's claim: not in ann's queue


def test_priority_growing_modes_first_then_impact_then_unclustered(workspace, ids):
    frame = queue_page(workspace, at=T0)
    assert _sources(frame) == ["f-4", "f-3", "f-2", "f-1", "f-0", "f-5"]  # passing calls are not in the queue
    assert frame["cluster_id"].to_list() == [3, 2, 2, 1, 1, -1]
    assert frame["impact"].to_list() == [1.5, 6.0, 6.0, 2.0, 2.0, 0.0]
    assert frame["signals"].to_list()[0] == ["negative_feedback"]
    assert frame["todo"].to_list() == [True] * 6


def test_reviewed_records_go_after_unreviewed_ones(workspace, ids):
    save_review(workspace, ids["f-3"], "ann", verdict="hard_example", tags=["refusal"], at=T0)
    save_review(workspace, ids["f-4"], "ann", verdict="skip", at=T0)
    assert _sources(queue_page(workspace, at=T0)) == ["f-4", "f-2", "f-1", "f-0", "f-5", "f-3"]
    ann = queue_page(workspace, reviewer="ann", at=T0)  # her skip leaves her queue, not bob's
    assert _sources(ann) == ["f-2", "f-1", "f-0", "f-5", "f-4", "f-3"]
    assert ann["my_verdict"].to_list()[-2:] == ["skip", "hard_example"]
    assert _sources(queue_page(workspace, reviewer="bob", at=T0))[0] == "f-4"


def test_filters_and_paging(workspace, ids):
    save_review(workspace, ids["f-0"], "ann", verdict="hard_example", tags=["verbosity"], at=T0)
    save_review(workspace, ids["f-2"], "bob", verdict="not_a_failure", at=T0)

    def sources(**filters) -> list[str]:
        return _sources(queue_page(workspace, QueueFilter(**filters), at=T0))

    assert sources(clusters=(2,)) == ["f-3", "f-2"]
    assert sources(clusters=(-1, 3)) == ["f-4", "f-5"]
    assert sources(signals=("negative_feedback",)) == sources()
    assert sources(signals=("error",)) == []
    assert sources(tags=("verbosity",)) == ["f-0"]
    assert sources(reviewed_by=("bob",)) == ["f-2"]
    assert sources(state="reviewed") == ["f-2", "f-0"]
    assert sources(state="unreviewed") == ["f-4", "f-3", "f-1", "f-5"]
    assert sources(models=("gpt-test",)) == sources() and sources(models=("other",)) == []
    assert sources(source_files=("elsewhere.jsonl",)) == []
    assert sources(since=datetime(2026, 11, 3, tzinfo=timezone.utc),
                   until=datetime(2026, 11, 5, tzinfo=timezone.utc)) == ["f-3", "f-2"]
    assert queue_count(workspace, QueueFilter(state="todo"), at=T0) == 4
    pages = [_sources(queue_page(workspace, page=page, page_size=4, at=T0)) for page in (1, 2)]
    assert pages[0] + pages[1] == sources() and len(pages[1]) == 2
    assert queue_record_ids(workspace, QueueFilter(clusters=(1,)), at=T0) == [ids["f-1"], ids["f-0"]]
    with pytest.raises(ValueError, match="review state"):
        queue_page(workspace, QueueFilter(state="done"))  # type: ignore[arg-type]


def test_claims_split_the_work_and_expire(workspace, ids):
    ann = claim_batch(workspace, "ann", 2, at=T0)
    assert ann == [ids["f-4"], ids["f-3"]]
    bob_sees = _sources(queue_page(workspace, QueueFilter(state="todo"), reviewer="bob", at=T0))
    assert bob_sees == ["f-2", "f-1", "f-0", "f-5"]
    assert claim_batch(workspace, "bob", 2, at=T0) == [ids["f-2"], ids["f-1"]]
    assert _sources(queue_page(workspace, reviewer="ann", at=T0))[:2] == ["f-4", "f-3"]  # her batch first
    assert {claim["record_id"] for claim in live_claims(workspace, "ann", at=T0)} == set(ann)

    save_review(workspace, ids["f-4"], "ann", verdict="hard_example", at=T0 + timedelta(minutes=5))
    assert [claim["record_id"] for claim in live_claims(workspace, "ann", at=T0)] == [ids["f-3"]]

    later = T0 + timedelta(minutes=31)  # every claim of T0 has expired
    assert live_claims(workspace, at=later) == []
    assert claim_batch(workspace, "carol", 3, at=later) == [ids["f-3"], ids["f-2"], ids["f-1"]]
    assert "f-3" not in _sources(queue_page(workspace, reviewer="ann", at=later))
    assert release_claims(workspace, "carol", [ids["f-2"]]) == 1
    assert "f-2" in _sources(queue_page(workspace, reviewer="ann", at=later))
    assert release_claims(workspace, "carol") == 2
    assert live_claims(workspace, at=later) == []


def test_claim_with_filters_and_custom_expiry(workspace, ids):
    claimed = claim_batch(workspace, "ann", 5, QueueFilter(state="todo", clusters=(1,)), ttl=timedelta(minutes=5),
                          at=T0)
    assert claimed == [ids["f-1"], ids["f-0"]]
    assert len(live_claims(workspace, at=T0 + timedelta(minutes=4))) == 2
    assert live_claims(workspace, at=T0 + timedelta(minutes=6)) == []


def test_second_reviewer_works_blind(workspace, ids):
    set_second_review_share(workspace, 1.0)  # every record wants two reviews
    record = ids["f-4"]
    save_review(workspace, record, "ann", verdict="hard_example", tags=["hallucination"], at=T0)
    row = queue_page(workspace, reviewer="bob", at=T0).row(0, named=True)
    assert row["source_id"] == "f-4" and row["todo"] and row["blind"]
    assert row["verdict"] is None and row["tags"] is None and row["my_verdict"] is None
    assert is_blind(workspace, record, "bob") and not is_blind(workspace, record, "ann")
    tagged = QueueFilter(tags=("hallucination",))
    assert _sources(queue_page(workspace, tagged, reviewer="bob", at=T0)) == []  # no peeking through a filter
    assert _sources(queue_page(workspace, tagged, reviewer="ann", at=T0)) == ["f-4"]
    assert "f-4" not in _sources(queue_page(workspace, QueueFilter(state="todo"), reviewer="ann", at=T0))
    ann_row = queue_page(workspace, reviewer="ann", at=T0).filter(source_id="f-4").row(0, named=True)
    assert ann_row["verdict"] == "hard_example" and not ann_row["blind"]

    save_review(workspace, record, "bob", verdict="hard_example", tags=["hallucination"], at=T0)
    assert not is_blind(workspace, record, "carol")
    assert "f-4" not in _sources(queue_page(workspace, QueueFilter(state="todo"), reviewer="carol", at=T0))


def test_without_a_second_review_a_reviewed_record_is_done(workspace, ids):
    save_review(workspace, ids["f-4"], "ann", verdict="hard_example", at=T0)
    assert "f-4" not in _sources(queue_page(workspace, QueueFilter(state="todo"), reviewer="bob", at=T0))
    assert not is_blind(workspace, ids["f-4"], "bob")


def test_save_and_next_walks_the_queue(workspace, ids):
    first = next_record(workspace, "ann", at=T0)
    assert first == ids["f-4"]
    save_review(workspace, first, "ann", note="looking")  # no verdict yet: still to do, but move on
    assert next_record(workspace, "ann", after=first, at=T0) == ids["f-3"]
    for record in queue_record_ids(workspace, at=T0):
        save_review(workspace, record, "ann", verdict="hard_example", at=T0)
    assert next_record(workspace, "ann", at=T0) is None


def test_two_reviewers_claiming_at_once_get_different_records(workspace, write_log, openai_line):
    ids = load_calls(workspace, write_log, openai_line, failing=30, passing=0, name="many.jsonl")
    claimed: dict[str, list[str]] = {}
    start = threading.Barrier(2)

    def claim(reviewer: str) -> None:
        start.wait()
        claimed[reviewer] = [r for _ in range(5) for r in claim_batch(workspace, reviewer, 3, at=T0)]

    threads = [threading.Thread(target=claim, args=(name,)) for name in ("ann", "bob")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(claimed["ann"]) == len(claimed["bob"]) == 15
    assert set(claimed["ann"]).isdisjoint(claimed["bob"])
    assert set(claimed["ann"]) | set(claimed["bob"]) == {ids[f"f-{i}"] for i in range(30)}


def test_the_order_is_part_of_the_filter_and_save_and_next_follows_it(workspace, ids):
    newest = QueueFilter(order="newest")
    oldest = QueueFilter(order="oldest")
    assert queue_page(workspace, newest)["source_id"].to_list() == [f"f-{i}" for i in range(5, -1, -1)]
    assert queue_page(workspace, oldest)["source_id"].to_list() == [f"f-{i}" for i in range(6)]
    assert next_record(workspace, "ann", QueueFilter(state="todo", order="oldest"), after=ids["f-0"]) == ids["f-1"]
    with pytest.raises(ValueError, match="unknown order"):
        queue_count(workspace, QueueFilter(order="random"))
