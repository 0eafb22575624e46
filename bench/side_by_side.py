"""The app and scripts on one workspace at once: is every acknowledged write stored, is any refused?

Run by hand (not a test): `python bench/side_by_side.py [--minutes 5] [--baseline REF]`. Needs
Debian's chromium (as the browser tests do) and git (for the baseline).

For this tree, and then for the baseline commit REF (checked out with `git worktree` in a scratch
folder) side by side, on a fresh workspace holding the demo data (1,500 calls), for MINUTES:
- `streamlit run app.py` serves the workspace, and 3 browser sessions (3 chromium instances, one
  thread each) review in the Review page: mark a hard example, type a correction, Save and next;
  a save is acknowledged when the page says "Saved";
- 4 scripts run `python -m mining review ID --note ...` in a loop; acknowledged = exit code 0;
- a cron job runs `python -m mining ingest` of a file of 5 new calls every 20 s; acknowledged = exit
  code 0 and "5 added".
Then everything stops and the workspace is read: saves (distinct review batches) per reviewer and
the cron job's records. Reported per variant: acknowledged and stored writes, refusals (commands
that failed, saves the page refused), and each write's time, idle (the same command alone before
the app starts; one browser reviewer alone for 45 s) and under load: the difference is what the
write waited for its turn and for the two shared cores.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "e2e")]

from browser import CHROMIUM, CHROMIUM_ARGS, free_port, open_nav, settled, type_in_sidebar, wait_until_healthy  # noqa: E402

SESSIONS, SCRIPTS, CRON_EVERY, CRON_CALLS = 3, 4, 20.0, 5
IDLE_BROWSER_SECONDS = 45.0


@dataclass
class Tally:
    """What one kind of writer did: acknowledged writes, refusals and how long each took."""

    acknowledged: int = 0
    refused: int = 0
    seconds: list[float] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, ok: bool, seconds: float, reason: str = "") -> None:
        with self.lock:
            self.seconds.append(seconds)
            if ok:
                self.acknowledged += 1
            else:
                self.refused += 1
                key = reason.strip().splitlines()[-1][:120] if reason.strip() else "no message"
                self.reasons[key] = self.reasons.get(key, 0) + 1


def mining(root: Path, *args: str) -> tuple[subprocess.CompletedProcess, float]:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "mining", *args], cwd=root, capture_output=True, text=True,
                            env={**os.environ, "FAULTLINE_WAIT_SECONDS": "120"}, timeout=600)
    return result, time.perf_counter() - started


def prepare(root: Path, workspace: Path) -> list[str]:
    """The demo data in a fresh workspace, written by the variant's own command line; the ids of
    some of its calls, for the scripts to review."""
    result, _ = mining(root, "demo", "--calls", "1500", "-q", "-w", str(workspace))
    assert result.returncode == 0, result.stderr
    import duckdb

    with duckdb.connect(str(workspace), read_only=True) as connection:
        return [row[0] for row in connection.execute(
            "SELECT source_id FROM records WHERE source_id IS NOT NULL ORDER BY source_id LIMIT 200").fetchall()]


def idle_times(root: Path, workspace: Path, ids: list[str]) -> dict[str, float]:
    """Median time of each command alone, nothing else running."""
    review = [mining(root, "review", ids[n], "-w", str(workspace), "-r", "idle", "--note", "idle")[1] for n in range(5)]
    info = [mining(root, "info", "-w", str(workspace))[1] for _ in range(3)]
    return {"review": statistics.median(review), "info": statistics.median(info)}


def script(root: Path, workspace: Path, ids: list[str], number: int, until: float, tally: Tally) -> None:
    step = 0
    while time.monotonic() < until:
        record = ids[(number * 37 + step) % len(ids)]
        result, seconds = mining(root, "review", record, "-w", str(workspace), "-r", f"script-{number}",
                                 "--note", f"script {number} step {step}")
        tally.add(result.returncode == 0, seconds, result.stderr)
        step += 1
        if result.returncode != 0:
            time.sleep(0.5)  # a refused script retries after a moment, as a cron wrapper would


def cron(root: Path, workspace: Path, folder: Path, until: float, tally: Tally, template: dict) -> None:
    batch = 0
    while time.monotonic() < until:
        path = folder / f"cron-{batch:03d}.jsonl"
        lines = []
        for call in range(CRON_CALLS):
            line = json.loads(json.dumps(template))
            line["id"] = f"cron-{batch:03d}-{call}"
            lines.append(json.dumps(line))
        path.write_text("\n".join(lines) + "\n")
        result, seconds = mining(root, "ingest", str(path), "-q", "-w", str(workspace))
        tally.add(result.returncode == 0 and f"{CRON_CALLS} added" in result.stdout, seconds, result.stderr)
        batch += 1
        time.sleep(max(0.0, CRON_EVERY - seconds))


def session(url: str, name: str, until: float, tally: Tally) -> None:
    """One reviewer in one chromium: the first record of the queue, then Save and next until time is up.

    A save is acknowledged when the page says "Saved <the call on screen>"; it is refused when the
    page says it saved nothing ("Not done: ...", "Not saved: ...") or that the workspace was busy.
    """
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(180_000)
        expect.set_options(timeout=180_000)
        page.goto(url)
        type_in_sidebar(page, "Reviewer", name)
        open_nav(page, "Review")
        page.get_by_role("button", name="Review the first in the queue").click()
        header = page.locator('[data-testid="stText"]').filter(has_text=re.compile(r" · "))
        refusal = page.get_by_text(re.compile(r"^(Not done: |Not saved: |.*is busy: waited)"))
        step = 0
        while time.monotonic() < until:
            settled(page)
            correction = page.get_by_role("textbox", name="Corrected answer")
            expect(correction).to_have_count(1)  # settled: no faded form of the run before
            call = header.first.inner_text().split(" · ")[0]
            started = time.perf_counter()
            page.get_by_role("radio", name="Hard example").check(force=True)
            correction.fill(f"{name}, correction {step}.")
            page.get_by_role("button", name="Save and next").click()
            saved = page.get_by_text(re.compile(rf"^Saved {re.escape(call)} \(\d+ changes?\)"))
            expect(saved.or_(refusal).first).to_be_visible()
            ok = saved.count() > 0
            tally.add(ok, time.perf_counter() - started, "" if ok else refusal.first.inner_text())
            step += 1
        browser.close()


def stored(workspace: Path) -> dict[str, int]:
    """Saves per writer kind as the workspace holds them: review batches by reviewer, cron records."""
    import duckdb

    with duckdb.connect(str(workspace), read_only=True) as connection:
        batches = dict(connection.execute(
            "SELECT regexp_extract(reviewer, '^[a-z]+'), count(DISTINCT batch_id) FROM review_events"
            " WHERE reviewer <> 'idle' GROUP BY 1").fetchall())
        cron_records = connection.execute("SELECT count(*) FROM records WHERE source_id LIKE 'cron-%'").fetchone()[0]
    return {"browser": batches.get("browser", 0), "script": batches.get("script", 0), "cron": cron_records // CRON_CALLS}


def run_variant(root: Path, scratch: Path, minutes: float) -> dict:
    workspace = scratch / "workspace.duckdb"
    ids = prepare(root, workspace)
    idle = idle_times(root, workspace, ids)
    template = json.loads((ROOT / "tests" / "fixtures" / "openai_chat.jsonl").read_text().splitlines()[0])
    tallies = {"browser": Tally(), "script": Tally(), "cron": Tally()}
    port = free_port()
    log = scratch / "streamlit.log"
    with open(log, "wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.headless",
             "true", "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none", "--", "--workspace", str(workspace)],
            cwd=root, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, server, log)
        alone = Tally()  # one browser reviewer with nothing else running: what a save takes idle
        session(url, "idle-browser", time.monotonic() + IDLE_BROWSER_SECONDS, alone)
        idle["browser save"] = statistics.median(alone.seconds)
        until = time.monotonic() + minutes * 60
        threads = [threading.Thread(target=session, args=(url, f"browser-{n}", until, tallies["browser"]))
                   for n in range(SESSIONS)]
        threads += [threading.Thread(target=script, args=(root, workspace, ids, n, until, tallies["script"]))
                    for n in range(SCRIPTS)]
        threads.append(threading.Thread(target=cron, args=(root, workspace, scratch, until, tallies["cron"], template)))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {"idle": idle, "tallies": tallies, "stored": stored(workspace)}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def report(name: str, result: dict) -> None:
    idle = result["idle"]
    print(f"\n{name}: alone, median: review command {idle['review']:.2f} s, info command {idle['info']:.2f} s, "
          f"browser save {idle['browser save']:.2f} s")
    print(f"{'writer':8} {'acknowledged':>12} {'stored':>7} {'refused':>8} {'p50 s':>7} {'p95 s':>7}")
    for kind, tally in result["tallies"].items():
        print(f"{kind:8} {tally.acknowledged:>12} {result['stored'][kind]:>7} {tally.refused:>8} "
              f"{percentile(tally.seconds, 0.5):>7.2f} {percentile(tally.seconds, 0.95):>7.2f}")
        for reason, count in sorted(tally.reasons.items(), key=lambda item: -item[1])[:3]:
            print(f"    refused {count}x: {reason}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--baseline", default=None, help="a commit to run side by side (e.g. the last release)")
    args = parser.parse_args()
    print(f"load before: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as scratch:
        variants = [("this tree", ROOT)]
        if args.baseline:
            baseline = Path(scratch) / "baseline"
            subprocess.run(["git", "worktree", "add", "--detach", str(baseline), args.baseline], cwd=ROOT, check=True,
                           capture_output=True)
            variants.append((f"baseline {args.baseline}", baseline))
        try:
            for name, root in variants:
                folder = Path(scratch) / re.sub(r"\W+", "-", name)
                folder.mkdir()
                result = run_variant(root, folder, args.minutes)
                report(name, result)
                print(f"load after {name}: {os.getloadavg()[0]:.2f} (1 min)")
        finally:
            if args.baseline:
                subprocess.run(["git", "worktree", "remove", "--force", str(Path(scratch) / "baseline")], cwd=ROOT)
                shutil.rmtree(Path(scratch) / "baseline", ignore_errors=True)


if __name__ == "__main__":
    main()
