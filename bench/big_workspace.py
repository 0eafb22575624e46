"""A big workspace stays fast: 1M records, ~100k failures, ~300k review events, every page timed.

Run by hand (not a test): `python bench/big_workspace.py [--library-only] [--reviews N]`. Needs
Debian's chromium (as the browser tests do) for the page timings.

The workspace is built once and kept in bench/data/big_workspace.duckdb (gitignored; delete it to
build again, a few minutes on 2 cores):

- the demo generator's 10,000 calls (mining.demo) are ingested, detected and clustered for real;
- each call is then copied in SQL under new ids (failing calls 45 times, the others 115 times), with
  its signals and its membership of the clustering run, to 1M records of which ~100k fail. The
  copies keep their text: clustering 100k failures for real takes far longer than this bench should,
  and the queue only needs each failure's mode;
- ~300k review events are written through the review log's own writer (mining.review.events.append)
  in one transaction: six reviewers' verdicts, tags, corrections and notes on ~100k failures, blind
  second reviews (some disagreeing), re-edited corrections, undone and redone verdicts, and a
  lead's adjudications.

Then it times (a) the library calls the Review page makes, in this process (server time), and
(b) every page in headless chromium against `streamlit run app.py` on 127.0.0.1, from the click on
the page's link until the app's script run has ended, and N save-and-next reviews. Both work on a
copy of the built workspace, so the saves do not pile up across runs.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "e2e")]

DATA = ROOT / "bench" / "data"
BUILT = DATA / "big_workspace.duckdb"
DEMO_CALLS = 10_000
FAILURE_COPIES = 45  # each failing demo call stands for this many records
OTHER_COPIES = 115
TARGET_EVENTS = 300_000
REVIEWERS = ("ana", "ben", "chloe", "dev", "eli", "fay")
LEAD = "lead"
BENCH_REVIEWER = "bench"
PAGE_TITLES = ("Overview", "Ingest", "Records", "Failures", "Failure modes", "Review", "Export", "Evaluate",
               "Train", "Report", "Quarantine")


def _say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- building ---------------------------------------------------------------------------------

def _copy_records(workspace: Any) -> None:
    """Copy every demo call under new ids (`<id>~<n>`), with its signals and clustering membership."""
    with workspace.transaction() as cursor:
        cursor.execute(f"""CREATE TEMP TABLE copies AS
            SELECT r.record_id, n FROM records r,
                   range(1, CASE WHEN r.record_id IN (SELECT record_id FROM signals) THEN {FAILURE_COPIES}
                                 ELSE {OTHER_COPIES} END) t(n)""")
        cursor.execute("""INSERT INTO records SELECT r.* REPLACE (
                r.record_id || '~' || c.n AS record_id, r.source_id || '~' || c.n AS source_id,
                r.ts - to_minutes(c.n) AS ts)
            FROM records r JOIN copies c USING (record_id)""")
        cursor.execute("""INSERT INTO signals SELECT s.* REPLACE (s.record_id || '~' || c.n AS record_id)
            FROM signals s JOIN copies c USING (record_id)""")
        for table in ("cluster_members", "kind_members"):
            cursor.execute(f"""INSERT INTO {table} SELECT m.* REPLACE (m.record_id || '~' || c.n AS record_id)
                FROM {table} m JOIN copies c USING (record_id)""")
        cursor.execute("""UPDATE clusters SET size = s.members, failures = s.failing FROM (
                SELECT run_id, cluster_id, count(*) AS members,
                       count(*) FILTER (WHERE record_id IN (SELECT record_id FROM signals)) AS failing
                FROM cluster_members GROUP BY ALL) s
            WHERE clusters.run_id = s.run_id AND clusters.cluster_id = s.cluster_id""")
        cursor.execute("DROP TABLE copies")


def _review_events(failures: list[str], start: Any) -> list[Any]:
    """About TARGET_EVENTS review events over the failures, in time order, as reviewers make them."""
    from mining.review.events import ReviewEvent, new_id

    rng = random.Random(11)
    tags = ("hallucination", "wrong_answer", "refusal", "verbosity", "format_violation", "tool_misuse",
            "instruction_not_followed", "unsafe", "incomplete", "should_have_abstained")
    events: list[ReviewEvent] = []
    clock = [start]

    def event(record_id: str, reviewer: str, kind: str, before: Any, after: Any, batch: str,
              undoes: str | None = None, **extra: Any) -> ReviewEvent:
        clock[0] += timedelta(seconds=rng.randint(1, 20))
        made = ReviewEvent(new_id(), record_id, reviewer, clock[0], kind, {"before": before, "after": after, **extra},
                           batch, undoes=undoes)
        events.append(made)
        return made

    def review(record_id: str, reviewer: str, verdict: str) -> dict[str, Any]:
        batch = new_id()
        given = {"verdict": verdict, "tags": [], "correction": None}
        event(record_id, reviewer, "verdict", None, verdict, batch)
        if verdict in ("hard_example", "unsure"):
            given["tags"] = sorted(rng.sample(tags, rng.randint(1, 2)))
            event(record_id, reviewer, "tags", [], given["tags"], batch)
        if verdict == "hard_example":
            given["correction"] = {"text": f"The answer the model should have given ({record_id}).", "tool_calls": None}
            event(record_id, reviewer, "correction", None, given["correction"], batch)
        if rng.random() < 0.1:
            event(record_id, reviewer, "note", None, "checked against the help centre", batch)
        return given

    verdicts, weights = ("hard_example", "not_a_failure", "unsure", "skip"), (55, 30, 10, 5)
    for record_id in failures:
        if len(events) >= TARGET_EVENTS:
            break
        first, second = rng.sample(REVIEWERS, 2)
        given = review(record_id, first, rng.choices(verdicts, weights)[0])
        if given["correction"] and rng.random() < 0.15:  # the correction edited again later
            text = {"text": given["correction"]["text"] + " Edited.", "tool_calls": None}
            event(record_id, first, "correction", given["correction"], text, new_id())
        if rng.random() < 0.05:  # a verdict undone, then given again
            last = next(e for e in reversed(events) if e.record_id == record_id and e.action == "verdict")
            event(record_id, first, "undo", last.after, None, new_id(), undoes=last.event_id, action="verdict")
            event(record_id, first, "verdict", None, rng.choices(verdicts, weights)[0], new_id())
        if given["verdict"] != "skip" and rng.random() < 0.3:  # a blind second review
            agree = rng.random() < 0.8
            other = review(record_id, second, given["verdict"] if agree else rng.choice(verdicts[:3]))
            if other["verdict"] != given["verdict"] and rng.random() < 0.6:
                event(record_id, LEAD, "adjudication", None,
                      {"verdict": given["verdict"], "tags": given["tags"],
                       "correction": (given["correction"] or {}).get("text"), "tool_calls": None},
                      new_id(), picked=first)
    return events


def build(path: Path) -> None:
    """The big workspace at `path` (see the module docstring); built beside it, then moved in place."""
    from mining.cluster import run_clustering
    from mining.demo import load_demo
    from mining.review.events import append
    from mining.store import Workspace

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    started = time.perf_counter()
    workspace = Workspace.open(partial)
    with workspace.lease():
        _say(f"ingesting {DEMO_CALLS:,} demo calls")
        load_demo(workspace, calls=DEMO_CALLS)
        _say("clustering their failures")
        run_clustering(workspace)
        _say("copying the calls to 1M records")
        _copy_records(workspace)
        cursor = workspace.cursor()
        failures = [row[0] for row in cursor.execute(
            "SELECT DISTINCT record_id FROM signals ORDER BY hash(record_id)").fetchall()]
        start = cursor.execute("SELECT max(ts) FROM records").fetchone()[0] - timedelta(days=30)
        events = _review_events(failures, start)
        _say(f"writing {len(events):,} review events")
        with workspace.transaction() as cursor:
            append(cursor, events)
        workspace.cursor().execute("CHECKPOINT")
    Workspace.close_all()
    partial.rename(path)
    for leftover in path.parent.glob(f"{partial.name}.*"):  # the turn-taking files of the partial's name
        leftover.unlink()
    _say(f"built {path} in {time.perf_counter() - started:.0f} s")


# --- timing the library -------------------------------------------------------------------------

def _timed(label: str, call: Callable[[], Any], times: dict[str, list[float]], repeat: int = 3) -> Any:
    result = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = call()
        times.setdefault(label, []).append(time.perf_counter() - started)
    return result


def time_library(path: Path, saves: int = 5) -> dict[str, list[float]]:
    """Server time of each library call the Review page makes over the workspace at `path`."""
    from mining.browse import get_record
    from mining.review import (QueueFilter, next_record, queue_count, queue_page, record_state, reviewer_state,
                               reviewer_states, save_from_editor)
    from mining.review.progress import progress_by_cluster
    from mining.store import Workspace

    times: dict[str, list[float]] = {}
    workspace = _timed("open (and migrate)", lambda: Workspace.open(path), times, 1)
    with workspace.lease():
        f = QueueFilter(state="todo")
        _timed("queue_count (todo)", lambda: queue_count(workspace, f, BENCH_REVIEWER), times)
        rows = _timed("queue_page (todo, 50 rows)", lambda: queue_page(workspace, f, BENCH_REVIEWER, 1, 50), times)
        _timed("queue_page (any, page 100)", lambda: queue_page(workspace, QueueFilter(), None, 100, 50), times)
        _timed("progress_by_cluster", lambda: progress_by_cluster(workspace), times)
        record_id = rows["record_id"][0]
        for _ in range(saves):
            record = _timed("get_record", lambda: get_record(workspace, record_id), times, 1)
            _timed("reviewer_state", lambda: reviewer_state(workspace, record_id, BENCH_REVIEWER), times, 1)
            _timed("reviewer_states", lambda: reviewer_states(workspace, record_id), times, 1)
            _timed("record_state", lambda: record_state(workspace, record_id), times, 1)
            saved = time.perf_counter()
            save_from_editor(workspace, record, BENCH_REVIEWER, verdict="hard_example", tags=["wrong_answer"],
                             correction="A better answer.", tool_calls_text=None, note="")
            following = next_record(workspace, BENCH_REVIEWER, f, after=record_id)
            times.setdefault("save_review + next_record", []).append(time.perf_counter() - saved)
            record_id = following
    Workspace.close_all()
    return times


# --- timing the pages in the browser -------------------------------------------------------------

_WATCH_RUNS = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    window.__runs = 0; window.__idleAt = performance.now();
    new MutationObserver(() => {
        const state = app.getAttribute('data-test-script-state');
        if (state === 'running') window.__runs += 1;
        if (state === 'notRunning') window.__idleAt = performance.now();
    }).observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}"""


def _rendered_after(page: Any, act: Callable[[], None]) -> float:
    """Seconds from `act` (a click) until the script run it started, and any rerun it asked for, ended."""
    page.evaluate("() => { window.__runs = 0; }")
    clicked = page.evaluate("() => performance.now()")
    act()
    page.wait_for_function("""() => window.__runs > 0 && document.querySelector('[data-testid="stApp"]')
                              .getAttribute('data-test-script-state') === 'notRunning'""", timeout=120_000)
    page.wait_for_timeout(700)  # a rerun the page asks for starts within this
    page.wait_for_function("""() => document.querySelector('[data-testid="stApp"]')
                              .getAttribute('data-test-script-state') === 'notRunning'""", timeout=120_000)
    if page.locator('[data-testid="stException"]').count():
        raise RuntimeError(f"the app raised: {page.locator('[data-testid=stException]').first.inner_text()}")
    return (page.evaluate("() => window.__idleAt") - clicked) / 1000


def time_pages(url: str, reviews: int) -> tuple[dict[str, list[float]], list[float]]:
    """Each page twice (the first visit fills caches), then `reviews` save-and-next on the Review page."""
    import re

    from browser import CHROMIUM, CHROMIUM_ARGS, open_nav
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=120_000)
    pages: dict[str, list[float]] = {}
    saves: list[float] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(120_000)
        page.goto(url)
        page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for()
        page.evaluate(_WATCH_RUNS)
        name = page.locator('[data-testid="stSidebar"]').get_by_role("textbox", name="Reviewer")
        _rendered_after(page, lambda: (name.fill(BENCH_REVIEWER), name.press("Enter")))
        for visit in range(2):
            for title in PAGE_TITLES:
                seconds = _rendered_after(page, lambda: open_nav(page, title))
                pages.setdefault(title, []).append(seconds)
                _say(f"{title}: {seconds:.2f} s (visit {visit + 1})")
        _rendered_after(page, lambda: open_nav(page, "Review"))
        _rendered_after(page, lambda: page.get_by_role("button", name="Review the first in the queue").click())
        for number in range(reviews):
            correction = page.get_by_role("textbox", name="Corrected answer")
            expect(correction).to_have_count(1)
            page.get_by_role("radio", name="Hard example").check(force=True)
            correction.fill(f"The answer the model should have given, number {number}.")
            page.wait_for_timeout(300)
            before = page.url
            seconds = _rendered_after(page, lambda: correction.press("Control+Enter"))
            expect(page.get_by_text(re.compile(r"^Saved .+ \(\d+ changes\)"))).to_be_visible()
            expect(page).not_to_have_url(before)
            saves.append(seconds)
            _say(f"save-and-next {number + 1}: {seconds:.2f} s")
        browser.close()
    return pages, saves


def _line(label: str, values: list[float]) -> str:
    return (f"{label:32} median {statistics.median(values) * 1000:7.0f} ms   slowest {max(values) * 1000:7.0f} ms"
            f"   ({len(values)} runs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--library-only", action="store_true", help="skip the browser")
    parser.add_argument("--reviews", type=int, default=10, help="save-and-next reviews timed in the browser")
    args = parser.parse_args()
    if not BUILT.exists():
        build(BUILT)
    with tempfile.TemporaryDirectory(dir=DATA) as scratch:
        workspace = Path(scratch) / "workspace.duckdb"
        shutil.copyfile(BUILT, workspace)
        library = time_library(workspace)
        print("\nServer time of the Review page's library calls:")
        for label, values in library.items():
            print(_line(label, values))
        if args.library_only:
            return
        from browser import serve

        with serve(workspace, Path(scratch) / "streamlit.log") as url:
            pages, saves = time_pages(url, args.reviews)
        print("\nPages in the browser, from the click to the end of the script run (first visit, second):")
        for title, values in pages.items():
            print(f"{title:16} " + "  ".join(f"{value:6.2f} s" for value in values))
        print(_line("save-and-next (browser)", saves))
        print(json.dumps({"pages": pages, "saves": saves, "library": library}))


if __name__ == "__main__":
    main()
