"""Failure kinds: what went wrong in the answer, across the modes of what was asked.

End to end on the three-mode log whose failing calls answer one of three wrong answers in turn
(a help-centre brush-off, a made-up hotline, a refusal), so each kind cuts across every mode; and
the grouping rule itself on hand-made answers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from failure_modes_data import use_fp32_embeddings, write_failure_modes_log
from mining.browse import RecordFilter, count_records, list_records
from mining.cluster import (OTHER_KIND, ClusterSettings, kinds_of_mode, list_clusters, list_kinds, mode_kind_table,
                            run_clustering)
from mining.cluster.kinds import BATCH, MAX_KINDS, failure_kinds, smallest_kind
from mining.ingest import ingest_paths
from mining.report import render_markdown, weekly_report
from mining.report.period import period_between
from mining.store import Workspace

THUMBS = frozenset({"negative_feedback"})
LABELS = {"refusal": "Refusal", "truncated": "Truncated", "negative_feedback": "Negative feedback"}


@pytest.fixture
def kinded(workspace: Workspace, tmp_path: Path) -> Workspace:
    ingest_paths(workspace, [write_failure_modes_log(tmp_path / "modes.jsonl", varied_answers=True)])
    use_fp32_embeddings(workspace)
    run_clustering(workspace, ClusterSettings(seed=0))
    return workspace


def _kind_named(workspace: Workspace, words: str) -> dict:
    found = [kind for kind in list_kinds(workspace) if words in kind["name"]]
    assert len(found) == 1, [kind["name"] for kind in list_kinds(workspace)]
    return found[0]


def test_each_wrong_answer_is_one_kind_in_every_mode(kinded):
    hotline, brush_off, refusal = (_kind_named(kinded, words) for words in ("hotline", "help centre", "Refusal"))
    assert (hotline["basis"], brush_off["basis"], refusal["basis"]) == ("answer", "answer", "signals")
    assert refusal["signals"] == ["refusal"]
    assert {hotline["size"], brush_off["size"], refusal["size"]} == {18}  # 54 failures, 18 of each answer
    table = mode_kind_table(kinded, list_clusters(kinded))
    modes = [mode for mode in table.modes if mode["id"] >= 0]
    assert len(modes) == 3
    for kind in (hotline, brush_off, refusal):
        assert sorted(table.spread(kind["id"])) == sorted(mode["id"] for mode in modes)
        assert sum(table.counts.get((mode["id"], kind["id"]), 0) for mode in table.modes) == 18
    assert f"3 of 3 modes get: {refusal['name']} (18 calls)" in table.sentences()
    assert OTHER_KIND not in {kind["id"] for kind in list_kinds(kinded)}


def test_a_kind_opens_exactly_its_calls_in_records(kinded):
    hotline = _kind_named(kinded, "hotline")
    rows = list_records(kinded, RecordFilter(kinds=(hotline["id"],)), page_size=100)
    assert rows.height == 18
    assert all("hotline" in text for text in rows["response"].to_list())
    mode = list_clusters(kinded)[0]
    in_mode = [kind for kind in kinds_of_mode(kinded, mode["id"]) if kind["id"] == hotline["id"]][0]
    assert count_records(kinded, RecordFilter(kinds=(hotline["id"],), modes=(mode["id"],))) == in_mode["calls"]
    assert sum(kind["calls"] for kind in kinds_of_mode(kinded, mode["id"])) == mode["failures"]


def test_the_report_carries_the_mode_by_kind_table(kinded):
    first, last = kinded.cursor().execute("SELECT min(ts)::DATE, max(ts)::DATE FROM records").fetchone()
    report = weekly_report(kinded, period_between(first, last))
    assert report.modes.kinds is not None
    text = render_markdown(report)
    section = text.split("## What went wrong, across the modes")[1].split("## Examples")[0]
    assert "3 of 3 modes get: Refusal (18 calls)" in section
    assert "| Failure mode | " in section and "hotline" in section
    assert "Failure rate (95%)" in text


def test_signals_that_say_what_the_answer_did_make_the_kind_and_judgements_do_not():
    answers = ["Sure, here it is"] * 4 + ["I'm sorry, I can't"] * 4 + ["Your card ships in 2 hours."] * 4
    signals = [frozenset({"truncated"} | THUMBS)] * 2 + [frozenset({"truncated"})] * 2 + [frozenset({"refusal"})] * 4 \
        + [THUMBS] * 4
    kinds = failure_kinds(answers, signals, LABELS)
    names = {kind.name: kind for kind in kinds.kinds.values()}
    assert set(names) == {"Truncated", "Refusal", "Answers “Your card ships in 2 hours.”"}
    assert names["Truncated"].size == 4  # thumbs down on two of them does not split the kind
    assert kinds.labels.tolist()[:4] == [kinds.labels[0]] * 4


def test_alike_answers_join_and_rare_ones_are_other():
    hotline = [f"Call our hotline on 0800 123 {n:04d} and quote code BANK-{n}." for n in range(6)]
    rare = ["Your parcel is on the moon.", "Try turning it off and on."]
    kinds = failure_kinds(hotline + rare, [THUMBS] * 8, LABELS)
    assert kinds.labels[:6].tolist() == [0] * 6
    assert kinds.labels[6:].tolist() == [OTHER_KIND, OTHER_KIND]
    assert kinds.kinds[OTHER_KIND].name == "Other failures" and kinds.kinds[OTHER_KIND].size == 2
    assert kinds.kinds[0].name.startswith("Answers “Call our hotline on 0800 123")


def test_an_answer_finds_its_group_across_comparison_blocks():
    """Past BATCH distinct answers, a later answer still joins the group an earlier block started."""
    filler = [f"unrelated answer {n} {'x' * (n % 7)} token{n}" for n in range(BATCH + 10)]
    answers = ["The refund takes 90 days, guaranteed."] * 5 + filler + ["The refund takes 90 days guaranteed!"]
    kinds = failure_kinds(answers, [THUMBS] * len(answers), LABELS)
    assert kinds.labels[-1] == kinds.labels[0] != OTHER_KIND


def test_kinds_are_capped_and_small_ones_fold_into_other():
    answers, signals = [], []
    for group in range(MAX_KINDS + 3):
        answers += [" ".join(f"word{chr(97 + group)}{chr(97 + i)}" for i in range(5))] * 5
        signals += [THUMBS] * 5
    kinds = failure_kinds(answers, signals, LABELS)
    assert len([label for label in kinds.kinds if label != OTHER_KIND]) == MAX_KINDS
    assert kinds.kinds[OTHER_KIND].size == 15
    assert smallest_kind(54) == 3 and smallest_kind(5000) == 50
    assert np.all(np.bincount(kinds.labels[kinds.labels >= 0]) == 5)


def test_modes_and_kinds_are_independent_axes(kinded):
    """Each mode's failures split over all three kinds: the kind is not the mode again."""
    for cluster in list_clusters(kinded):
        if cluster["status"] != "gone":
            assert len(kinds_of_mode(kinded, cluster["id"])) == 3, cluster["name"]
