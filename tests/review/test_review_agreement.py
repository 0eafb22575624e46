"""Second reviews, agreement (kappa against hand-computed figures), correction similarity, adjudication."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from mining.review import ReviewError, adjudicate, disagreements, record_state, reviewer_state, save_review, undo
from mining.review.agreement import agreement_report, cohen_kappa, token_f1
from mining.review.second_review import (DEFAULT_SHARE, needs_second_review, second_review_share, second_review_sql,
                                  set_second_review_share)
from review_data import load_calls

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
H, N, U = "hard_example", "not_a_failure", "unsure"


def test_cohen_kappa_by_hand():
    # ann: H H H H H H N N U U ; bob: H H H H H N N N U H
    # observed 8/10; expected (6*6 + 2*3 + 2*1) / 100 = 0.44; kappa = 0.36 / 0.56 = 9/14
    ann = [H] * 6 + [N] * 2 + [U] * 2
    bob = [H] * 5 + [N] * 3 + [U, H]
    assert cohen_kappa(list(zip(ann, bob))) == pytest.approx(9 / 14)
    assert cohen_kappa([(H, H), (N, N)]) == pytest.approx(1.0)
    assert cohen_kappa([(H, N), (N, H)]) == pytest.approx(-1.0)
    assert cohen_kappa([(H, H), (H, H)]) is None  # one answer for everything: chance explains it all
    assert cohen_kappa([]) is None


def test_token_f1():
    assert token_f1("The refund takes five days.", "the refund takes 5 days") == pytest.approx(0.8)
    assert token_f1("Reset the password", "reset the PASSWORD!") == 1.0
    assert token_f1("yes", "no") == 0.0
    assert token_f1("", "") == 1.0 and token_f1("", "text") == 0.0


def test_agreement_report_per_pair_and_overall(workspace, write_log, openai_line):
    ids = load_calls(workspace, write_log, openai_line, failing=10, passing=0)
    records = [ids[f"f-{i}"] for i in range(10)]
    ann = [H] * 6 + [N] * 2 + [U] * 2
    bob = [H] * 5 + [N] * 3 + [U, H]
    ann_tags = [["hallucination"]] * 4 + [[], ["verbosity"]] + [[]] * 4
    bob_tags = [["hallucination"]] * 3 + [[], ["hallucination"]] + [[]] * 5
    corrections = {0: ("The refund takes five days.", "the refund takes 5 days"),
                   1: ("Reset the password", "Reset the password")}
    for i, record in enumerate(records):
        ann_fix, bob_fix = corrections.get(i, (None, None))
        save_review(workspace, record, "ann", verdict=ann[i], tags=ann_tags[i], correction=ann_fix, at=T0)
        save_review(workspace, record, "bob", verdict=bob[i], tags=bob_tags[i], correction=bob_fix,
                    at=T0 + timedelta(hours=1))
    for record in records[:2]:  # a third reviewer, later, agreeing with ann on two "hard" records
        save_review(workspace, record, "carol", verdict=H, tags=["hallucination"], at=T0 + timedelta(hours=2))
    save_review(workspace, records[2], "dave", verdict="skip", at=T0 + timedelta(hours=3))  # not a judgement

    overall, *pairs = agreement_report(workspace)
    assert overall.reviewers is None and overall.records == 10  # first review against second
    assert overall.verdict_kappa == pytest.approx(9 / 14)
    assert overall.verdict_agreement == pytest.approx(0.8)
    # hallucination: ann on 1-4, bob on 1-3 and 5: observed 0.8, expected (4*4 + 6*6)/100 = 0.52 -> 7/12
    assert overall.tag_kappa["hallucination"] == pytest.approx(7 / 12)
    # verbosity: only ann, once: observed 0.9, expected (1*0 + 9*10)/100 = 0.9 -> 0
    assert overall.tag_kappa["verbosity"] == pytest.approx(0.0)
    assert overall.correction_similarity == pytest.approx(0.9) and overall.corrections_compared == 2

    by_pair = {pair.reviewers: pair for pair in pairs}
    assert set(by_pair) == {("ann", "bob"), ("ann", "carol"), ("bob", "carol")}
    assert by_pair[("ann", "bob")].verdict_kappa == pytest.approx(9 / 14)
    assert by_pair[("ann", "carol")].records == 2 and by_pair[("ann", "carol")].verdict_kappa is None
    assert by_pair[("ann", "carol")].verdict_agreement == 1.0


def test_second_review_choice_is_the_same_in_sql_and_python(workspace):
    assert second_review_share(workspace) == DEFAULT_SHARE
    record_ids = [f"record-{n}" for n in range(500)]
    in_sql = {row[0] for row in workspace.cursor().execute(
        f"SELECT id FROM unnest(?::VARCHAR[]) AS t(id) WHERE {second_review_sql('id', 0.1)}", [record_ids]).fetchall()}
    in_python = {record_id for record_id in record_ids if needs_second_review(record_id, 0.1)}
    assert in_sql == in_python and 25 <= len(in_python) <= 75
    assert {r for r in record_ids if needs_second_review(r, 0.2)} >= in_python  # a bigger share only adds
    set_second_review_share(workspace, 0.25)
    assert second_review_share(workspace) == 0.25
    with pytest.raises(ValueError):
        set_second_review_share(workspace, 1.5)


def test_disagreements_and_adjudication(workspace, write_log, openai_line):
    ids = load_calls(workspace, write_log, openai_line, failing=3, passing=0)
    a, b, c = ids["f-0"], ids["f-1"], ids["f-2"]
    save_review(workspace, a, "ann", verdict=H, tags=["hallucination"], correction="Fixed by ann", at=T0)
    save_review(workspace, a, "bob", verdict=N, at=T0 + timedelta(minutes=1))
    save_review(workspace, b, "ann", verdict=H, tags=["refusal"], at=T0)
    save_review(workspace, b, "bob", verdict=H, tags=["refusal"], at=T0 + timedelta(minutes=1))

    save_review(workspace, c, "ann", verdict=H, tags=["refusal"], at=T0)
    save_review(workspace, c, "bob", verdict=H, tags=["refusal", "unsafe"], at=T0)  # same verdict, other tags

    disputed = disagreements(workspace)
    assert [item["source_id"] for item in disputed] == ["f-0", "f-2"]
    assert record_state(workspace, c).verdict == H and record_state(workspace, c).disputed
    assert {(s.reviewer, s.verdict) for s in disputed[0]["reviews"]} == {("ann", H), ("bob", N)}
    assert record_state(workspace, b).verdict == H and not record_state(workspace, b).disputed

    event = adjudicate(workspace, a, "lead", pick="ann", at=T0 + timedelta(minutes=2))
    assert event.action == "adjudication" and event.payload["picked"] == "ann"
    assert event.before["verdict"] is None and event.after["verdict"] == H
    state = record_state(workspace, a)
    assert (state.verdict, state.tags, state.correction, state.adjudicated_by, state.disputed) == (
        H, ("hallucination",), "Fixed by ann", "lead", False)
    assert [item["source_id"] for item in disagreements(workspace)] == ["f-2"]
    assert reviewer_state(workspace, a, "bob").verdict == N  # the reviewers' own answers stay as given

    adjudicate(workspace, a, "lead", verdict=U, correction="The lead's answer", at=T0 + timedelta(minutes=3))
    state = record_state(workspace, a)
    assert (state.verdict, state.tags, state.correction) == (U, (), "The lead's answer")
    undo(workspace, "lead", at=T0 + timedelta(minutes=4))
    assert record_state(workspace, a).correction == "Fixed by ann"

    with pytest.raises(ReviewError, match="has not reviewed"):
        adjudicate(workspace, a, "lead", pick="zoe")
    with pytest.raises(ReviewError, match="no reviews"):
        adjudicate(workspace, "unknown", "lead", verdict=H)
    with pytest.raises(ReviewError, match="unknown verdict"):
        adjudicate(workspace, a, "lead", verdict="maybe")


def test_the_kept_agreement_report_follows_every_change_that_matters(workspace, write_log, openai_line):
    ids = load_calls(workspace, write_log, openai_line, failing=4, passing=0)
    save_review(workspace, ids["f-0"], "ann", verdict=H, at=T0)
    save_review(workspace, ids["f-0"], "bob", verdict=H, at=T0 + timedelta(minutes=1))
    first = agreement_report(workspace)
    assert first[0].records == 1 and first[0].verdict_agreement == 1.0
    save_review(workspace, ids["f-1"], "ann", verdict=H, at=T0 + timedelta(minutes=2))  # a first review only
    assert agreement_report(workspace) is first  # nothing it counts changed: the kept report answers
    save_review(workspace, ids["f-1"], "bob", verdict=N, at=T0 + timedelta(minutes=3))
    assert agreement_report(workspace)[0].records == 2
    save_review(workspace, ids["f-0"], "bob", verdict=N, at=T0 + timedelta(minutes=4))  # a change of mind
    assert agreement_report(workspace)[0].verdict_agreement == 0.0
    undo(workspace, "bob", at=T0 + timedelta(minutes=5))
    assert agreement_report(workspace)[0].verdict_agreement == 0.5
