"""Reviewing speed in the real app: 20 save-and-next reviews on the demo data, in headless chromium.

Run by hand (not a test): `python bench/review_speed.py [--reviews N]`. Needs Debian's chromium
(as the browser tests do). A fresh workspace gets the demo data (3,000 calls) and one clustering
run; then `streamlit run app.py` serves it on 127.0.0.1 and a browser signs in as a reviewer,
opens the first record of the Review queue and, N times: marks it a hard example, replaces the
correction, and saves with Ctrl+Enter (Save and next). Each figure is one review's round trip:
from the first click to the next record's form being ready, which is the time the page makes a
reviewer wait. Typing speed is not counted (the text is filled in at once).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "e2e")]

from browser import CHROMIUM, CHROMIUM_ARGS, open_nav, serve  # noqa: E402


def prepare(path: Path) -> None:
    """The demo data, detected and clustered, in a workspace that is closed again for the server."""
    from mining.cluster import run_clustering
    from mining.demo import load_demo
    from mining.store import Workspace

    workspace = Workspace.open(path)
    load_demo(workspace)
    run_clustering(workspace)
    Workspace.close_all()


def review(url: str, count: int) -> list[float]:
    """Sign in, open the queue's first record, and time `count` reviews."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=90_000)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        name = page.locator('[data-testid="stSidebar"]').get_by_role("textbox", name="Reviewer")
        name.fill("bench")
        name.press("Enter")
        open_nav(page, "Review")
        page.get_by_role("button", name="Review the first in the queue").click()
        times = []
        running = page.locator('[data-testid="stStatusWidget"]')
        for number in range(count):
            page.wait_for_timeout(300)
            expect(running).to_have_count(0)  # the page has finished its rerun
            correction = page.get_by_role("textbox", name="Corrected answer")
            expect(correction).to_have_count(1)
            started = time.perf_counter()
            hard = page.get_by_role("radio", name="Hard example")
            expect(hard).to_have_count(1)
            hard.check(force=True)
            correction.fill(f"The answer the model should have given, number {number}.")
            before = page.url
            correction.press("Control+Enter")
            expect(page.get_by_text(re.compile(r"^Saved .+ \(\d+ changes\)"))).to_be_visible()
            expect(page).not_to_have_url(before)
            page.wait_for_timeout(300)
            expect(running).to_have_count(0)
            times.append(time.perf_counter() - started)
        browser.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reviews", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        workspace = Path(scratch) / "workspace.duckdb"
        prepare(workspace)
        with serve(workspace, Path(scratch) / "streamlit.log") as url:
            times = review(url, args.reviews)
    print(f"{len(times)} reviews: {sum(times):.1f} s in all, median {statistics.median(times):.2f} s, "
          f"slowest {max(times):.2f} s per save-and-next")
    print("each:", " ".join(f"{t:.2f}" for t in times))


if __name__ == "__main__":
    main()
