"""Review progress: reviewed and remaining per failure mode and per reviewer, reviews per day."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from mining.review import (adjudicate, claim_batch, progress_by_cluster, progress_by_reviewer, reviews_per_day,
                           save_review, undo)
from review_data import add_cluster_run, load_calls

DAY1 = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
DAY2 = DAY1 + timedelta(days=1)


def test_progress_per_cluster_reviewer_and_day(workspace, write_log, openai_line):
    ids = load_calls(workspace, write_log, openai_line)
    add_cluster_run(workspace, [(1, 2, 1.0, "stable", [ids["f-0"], ids["f-1"]]),
                                (2, 3, 2.0, "stable", [ids["f-2"], ids["f-3"], ids["f-4"]])])  # f-5: no run saw it
    save_review(workspace, ids["f-0"], "ann", verdict="hard_example", correction="Better.", at=DAY1)
    save_review(workspace, ids["f-2"], "ann", verdict="not_a_failure", at=DAY1)
    save_review(workspace, ids["f-3"], "ann", verdict="skip", at=DAY2)  # a skip reviews nothing
    save_review(workspace, ids["f-2"], "bob", verdict="hard_example", at=DAY2)
    save_review(workspace, ids["f-4"], "bob", verdict="unsure", at=DAY2)
    undo(workspace, "bob", at=DAY2)  # the unsure on f-4 no longer counts
    save_review(workspace, ids["f-1"], "carol", verdict="unsure", at=DAY2)
    adjudicate(workspace, ids["f-1"], "lead", verdict="hard_example", at=DAY2)
    claim_batch(workspace, "bob", 1)

    clusters = {row["cluster_id"]: row for row in progress_by_cluster(workspace).iter_rows(named=True)}
    assert {k: (v["failures"], v["reviewed"], v["hard_examples"], v["remaining"]) for k, v in clusters.items()} == {
        2: (3, 1, 0, 2), 1: (2, 2, 2, 0), -1: (1, 0, 0, 1)}  # f-2 is disputed: reviewed, no agreed verdict
    assert clusters[1]["cluster_name"] == "mode 1"

    reviewers = {row["reviewer"]: row for row in progress_by_reviewer(workspace).iter_rows(named=True)}
    assert {k: (v["reviewed"], v["hard_examples"], v["skipped"], v["corrections"], v["open_claims"])
            for k, v in reviewers.items()} == {"ann": (2, 1, 1, 1, 0), "bob": (1, 1, 0, 0, 1),
                                               "carol": (1, 0, 0, 0, 0)}

    per_day = [(row["day"], row["reviewer"], row["reviews"]) for row in reviews_per_day(workspace).iter_rows(named=True)]
    assert per_day == [(date(2026, 11, 20), "ann", 2), (date(2026, 11, 21), "bob", 1), (date(2026, 11, 21), "carol", 1)]
