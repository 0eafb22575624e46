"""Suggestions from a small reader (mining/review/suggest.py), on the three-mode log: a reviewer tags a few
calls of each mode and answers some differently; the reader suggests the rest, and knows how sure it is."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

import mining.review.suggest as suggest
from failure_modes_data import MODES, use_fp32_embeddings, write_failure_modes_log
from mining.ingest import ingest_paths
from mining.review import add_tag, save_review
from mining.store import Workspace

TAGS = {"refund": "billing", "login": "account_access", "shipping": "delivery"}  # names that are their own ids


@pytest.fixture
def loaded(workspace: Workspace, tmp_path: Path) -> dict[str, str]:
    """The log with varied wrong answers (source id -> record id), its tags, and no review yet."""
    ingest_paths(workspace, [write_failure_modes_log(tmp_path / "modes.jsonl", varied_answers=True)])
    use_fp32_embeddings(workspace)
    for tag in TAGS.values():
        add_tag(workspace, tag)
    suggest.forget_readers()
    return dict(workspace.cursor().execute("SELECT source_id, record_id FROM records").fetchall())


def review(workspace: Workspace, ids: dict[str, str], per_mode: int) -> list[str]:
    """The first `per_mode` calls of each mode reviewed: hard examples tagged with the mode's tag, except
    every third one, which the reviewer finds fine. Returns the reviewed source ids."""
    done = []
    for mode, texts in MODES.items():
        for index in range(per_mode):
            source = f"{mode}-{index:02d}"
            verdict = "not_a_failure" if index % 3 == 2 else "hard_example"
            save_review(workspace, ids[source], "ana", verdict=verdict,
                        tags=[TAGS[mode]] if verdict == "hard_example" else [])
            done.append(source)
    return done


def test_the_reader_suggests_each_unreviewed_calls_tag_from_a_few_reviews(workspace, loaded):
    reviewed = review(workspace, loaded, 6)
    rest = [source for source in loaded if source.split("-")[0] in MODES and source not in reviewed]
    found = suggest.suggestions(workspace, [loaded[source] for source in rest])
    assert len(found) == len(rest)
    # what the reviewer would have said: every third call (answered with a refusal) is fine, the rest
    # are hard examples with their mode's tag
    fine = {source for source in rest if int(source.split("-")[1]) % 3 == 2}
    verdicts_right = sum(found[loaded[source]].verdict == ("not_a_failure" if source in fine else "hard_example")
                         for source in rest)
    tags_right = sum([tag for tag, _ in found[loaded[source]].tags] == ([] if source in fine
                                                                      else [TAGS[source.split("-")[0]]])
                     for source in rest)
    assert verdicts_right >= 0.9 * len(rest) and tags_right >= 0.8 * len(rest), (verdicts_right, tags_right, len(rest))
    assert all(0.0 <= suggestion.confidence <= 1.0 and suggestion.verdict in ("hard_example", "not_a_failure")
               for suggestion in found.values())
    assert all(0.5 < probability <= 1.0 for suggestion in found.values() for _, probability in suggestion.tags)


def test_with_too_few_reviews_nothing_is_suggested_and_the_reader_learns_again_as_reviews_come(workspace, loaded):
    review(workspace, loaded, 3)  # 9 reviews: below MIN_REVIEWS
    assert suggest.suggestions(workspace, [loaded["refund-10"]]) == {}
    review(workspace, loaded, 4)  # 12
    first = suggest.current_reader(workspace)
    assert first is not None and first.reviews == 12
    save_review(workspace, loaded["refund-10"], "ana", note="looked at it")
    assert suggest.current_reader(workspace) is first  # fewer than RETRAIN_EVERY new events: the same reader
    review(workspace, loaded, 8)  # 24
    assert suggest.current_reader(workspace) is first  # still answering while the new one is fitted
    suggest.wait_for_refit(workspace, timeout=60)
    again = suggest.current_reader(workspace)
    assert again is not first and again.reviews == 24  # refund-10's note alone, with no verdict, teaches nothing


def test_the_reader_is_fitted_again_in_the_background_while_reviews_go_on(workspace, loaded, monkeypatch):
    review(workspace, loaded, 4)  # 12 reviews: the first reader, fitted in the request
    first = suggest.current_reader(workspace)
    fitting, release = threading.Event(), threading.Event()
    real_train = suggest.train_reader

    def slow_train(*args, **kwargs):
        fitting.set()
        assert release.wait(30)
        return real_train(*args, **kwargs)

    monkeypatch.setattr(suggest, "train_reader", slow_train)
    review(workspace, loaded, 8)  # 24: stale
    started = time.monotonic()
    assert suggest.current_reader(workspace) is first  # answered at once by the old reader
    assert time.monotonic() - started < 5 and fitting.wait(10)
    # reviews keep landing, and suggestions keep coming, while the fit reads the workspace
    save_review(workspace, loaded["refund-10"], "ana", verdict="hard_example", tags=[TAGS["refund"]])
    assert loaded["login-12"] in suggest.suggestions(workspace, [loaded["login-12"]])
    assert suggest.current_reader(workspace) is first  # one fit at a time
    release.set()
    suggest.wait_for_refit(workspace, timeout=60)
    again = suggest.current_reader(workspace)
    assert again is not first and again.reviews >= 24


def test_a_disputed_review_teaches_nothing(workspace, loaded):
    review(workspace, loaded, 5)
    save_review(workspace, loaded["refund-00"], "bo", verdict="not_a_failure")
    labels = suggest.reviewed_labels(workspace)
    assert loaded["refund-00"] not in labels and loaded["refund-01"] in labels


def test_a_reviewed_call_gets_no_suggestion_so_a_blind_second_review_stays_blind(workspace, loaded):
    review(workspace, loaded, 6)
    assert suggest.suggestion_for(workspace, loaded["refund-12"]) is not None  # nobody reviewed it
    save_review(workspace, loaded["refund-12"], "bo", verdict="hard_example", tags=["billing"])
    assert suggest.suggestion_for(workspace, loaded["refund-12"]) is None


def test_the_queue_and_the_form_agree_on_which_calls_get_a_suggestion(workspace, loaded):
    """A call with only a note or a skip is not a call nobody touched: neither place suggests for it
    (the queue once counted only verdicts and suggested where the form did not)."""
    review(workspace, loaded, 6)
    save_review(workspace, loaded["refund-12"], "bo", note="looked, not sure yet")
    save_review(workspace, loaded["login-12"], "bo", verdict="skip")
    asked = [loaded["refund-12"], loaded["login-12"], loaded["shipping-12"]]
    found = suggest.suggestions(workspace, asked)
    assert set(found) == {loaded["shipping-12"]}
    assert [suggest.suggestion_for(workspace, record_id) is not None for record_id in asked] == [False, False, True]


def test_the_review_form_shows_the_suggestion_and_one_press_accepts_it_for_that_call(workspace, loaded):
    """Not pre-filled: a Save press landing on a form just redrawn for another call would save a verdict
    nobody looked at (tests/e2e/test_review_integrity_browser.py races exactly that)."""
    from streamlit.testing.v1 import AppTest

    import ui
    from mining.review import reviewer_state
    from paths import ROOT

    review(workspace, loaded, 6)
    at = AppTest.from_file(ROOT / "app.py", default_timeout=120).run()
    at.query_params.update({"record": loaded["login-09"]})
    at.session_state[ui.REVIEWER_KEY] = "cy"
    at.switch_page("views/review.py").run()
    assert not at.exception
    assert any(info.value.startswith(ui.plain("The reader, which learnt")) and ui.plain("Hard example (") in info.value
               for info in at.info)
    assert next(radio for radio in at.radio if radio.label == "Verdict").value is None  # the form is the reviewer's
    at.session_state[ui.REVIEWER_KEY] = "cy"
    next(button for button in at.button if button.label == "Accept the suggestion").click().run()
    assert not at.exception
    state = reviewer_state(workspace, loaded["login-09"], "cy")
    assert state.verdict == "hard_example" and list(state.tags) == ["account_access"]
    assert at.query_params["record"] != loaded["login-09"]  # and on to the next call


def test_the_uncertain_order_puts_first_the_mode_nobody_reviewed(workspace, loaded):
    from mining.review import QueueFilter, queue_count, queue_record_ids

    assert queue_record_ids(workspace, QueueFilter(order="uncertain")) == queue_record_ids(workspace, QueueFilter())
    for mode in ("refund", "login"):  # shipping: nobody has reviewed a call of it
        for index in range(8):
            save_review(workspace, loaded[f"{mode}-{index:02d}"], "ana", verdict="hard_example", tags=[TAGS[mode]])
    source_of = {record_id: source for source, record_id in loaded.items()}
    first = queue_record_ids(workspace, QueueFilter(state="unreviewed", order="uncertain"), limit=18)
    shipping = sum(source_of[record_id].startswith("shipping-") for record_id in first)
    assert shipping >= 16, [source_of[record_id] for record_id in first]
    by_priority = queue_record_ids(workspace, QueueFilter(state="unreviewed"), limit=18)
    assert sum(source_of[record_id].startswith("shipping-") for record_id in by_priority) < shipping
    assert queue_count(workspace, QueueFilter(state="unreviewed", order="uncertain")) \
        == queue_count(workspace, QueueFilter(state="unreviewed")) == sum(map(len, MODES.values())) - 16  # failures


def test_the_queue_shows_what_the_reader_suggests_for_calls_nobody_reviewed(workspace, loaded):
    from streamlit.testing.v1 import AppTest

    import ui
    from paths import ROOT

    review(workspace, loaded, 6)
    at = AppTest.from_file(ROOT / "app.py", default_timeout=120).run()
    at.session_state[ui.REVIEWER_KEY] = "cy"
    at.switch_page("views/review.py").run()
    assert not at.exception
    queue = at.dataframe[0].value
    source_of = {record_id: source for source, record_id in loaded.items()}
    said = dict(zip(queue["source_id"], queue["suggested"]))
    assert said["shipping-12"].startswith("Hard example") and said["shipping-12"].endswith("· delivery")
    reviewed = dict(zip(queue["source_id"], queue["reviews"]))
    shown = {source for source, text in said.items() if isinstance(text, str)}  # the table shows none as NaN
    assert shown and not {source for source, count in reviewed.items() if count} & shown  # reviewed: none
    assert set(said) <= set(source_of.values())


def test_with_many_reviews_the_first_fit_runs_in_the_background_on_the_latest_reviews(workspace, loaded, monkeypatch):
    monkeypatch.setattr(suggest, "INLINE_FIT", 5)
    monkeypatch.setattr(suggest, "READER_SAMPLE", 12)
    saved = review(workspace, loaded, 8)  # 24 reviews: more than INLINE_FIT
    assert suggest.current_reader(workspace) is None  # the page run does not wait for the first fit
    suggest.wait_for_refit(workspace, timeout=60)
    reader = suggest.current_reader(workspace)
    assert reader is not None and reader.reviews == 12  # learnt from the 12 latest settled reviews
    latest = suggest.reviewed_labels(workspace, 12)
    assert set(latest) == {loaded[source] for source in saved[-12:]}
    assert len(suggest.reviewed_labels(workspace)) == 24
