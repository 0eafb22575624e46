"""Evaluation speed: scoring a golden set, and asking an endpoint for its answers.

Run by hand (not a test): `python bench/evaluate_speed.py [--golden N] [--prompts N] [--latency MS]`.

(1) Scoring. A fresh workspace gets the demo data (3,000 calls, one clustering run); every failure is
reviewed with a correction and N of them (500 by default, stratified) become the golden set. A
candidate file answers each item with its reference reworded, an abstention, or the logged wrong
answer. Timed side by side: `normalized` checks (pure text, the baseline), `semantic:0.8` with the
answers' embeddings not cached yet (cold: each distinct answer is embedded once), and the same
run scored again (warm: every vector cached).

(2) Asking an endpoint. A local OpenAI-compatible server answers each request after a fixed latency
(50 ms by default, a hosted model's time to first byte is more); `--prompts` golden prompts are
asked with 1 (the baseline: one at a time), 4 and 16 requests at once, then with 4 at once from a
server failing 20% of first attempts with 503 (retries with backoff).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from chat_server import serve_chat  # noqa: E402


def prepare(folder: Path, golden: int):
    from mining.cluster import run_clustering
    from mining.demo import load_demo
    from mining.export.golden import HOLDOUT, add_golden, stratified_pick
    from mining.export.selection import ExportFilter, select_examples
    from mining.common import now_utc
    from mining.review.events import ReviewEvent, append, bulk_apply, new_id
    from mining.store import Workspace

    workspace = Workspace.open(folder / "workspace.duckdb")
    load_demo(workspace)
    run_clustering(workspace)
    failures = [row[0] for row in workspace.cursor().execute(
        "SELECT DISTINCT record_id FROM signals ORDER BY record_id").fetchall()]
    bulk_apply(workspace, failures, "bench", verdict="hard_example")
    at, batch = now_utc(), new_id()
    with workspace.transaction() as cursor:
        append(cursor, [ReviewEvent(new_id(), record_id, "bench", at, "correction",
                                    {"before": None, "after": {"text": f"Go to Settings > Billing and choose plan {n % 7}; "
                                                                       f"the change applies at once ({n}).",
                                                               "tool_calls": None}}, batch)
                        for n, record_id in enumerate(failures)])
    add_golden(workspace, stratified_pick(select_examples(workspace, ExportFilter()), golden), "bench", HOLDOUT)
    return workspace


def candidate_file(workspace, path: Path) -> int:
    import json

    from mining.evaluate.items import golden_set

    items = golden_set(workspace).items
    rng = random.Random(7)
    with path.open("w", encoding="utf-8") as handle:
        for item in items:
            roll = rng.random()
            answer = (f"Sure! {item.reference}" if roll < 0.6 else "I don't know." if roll < 0.75
                      else "Please restart the instance and try again.")
            handle.write(json.dumps({"id": item.source_id, "answer": answer}) + "\n")
    return len(items)


def scoring(workspace, path: Path) -> list[tuple[str, float, dict]]:
    from mining.evaluate.runs import evaluate_file, score_run

    results = []
    for label, name, checks in (("normalized (baseline)", "normalized", ["normalized"]),
                                ("semantic:0.8, cold", "semantic", ["semantic:0.8"])):
        started = time.perf_counter()
        summary = evaluate_file(workspace, name, path, checks=checks)
        results.append((label, time.perf_counter() - started, summary.scores["overall"]))
    started = time.perf_counter()
    summary = score_run(workspace, "semantic")
    results.append(("semantic:0.8, warm (rescore)", time.perf_counter() - started, summary.scores["overall"]))
    return results


def asking(workspace, prompts: int, latency: float) -> list[tuple[str, float, int]]:
    from mining.endpoint import EndpointConfig, Prompt, generate_answers
    from mining.evaluate.items import golden_set

    items = golden_set(workspace).items[:prompts]
    asked = [Prompt(item.record_id, item.messages, item.tools) for item in items]
    seen: set[str] = set()
    lock = threading.Lock()

    def answer(body: dict, flaky: bool) -> tuple[int, str]:
        key = body["messages"][-1]["content"]
        with lock:
            first = key not in seen
            seen.add(key)
        time.sleep(latency)
        if flaky and first and random.random() < 0.2:
            return 503, "overloaded"
        return 200, "An answer."

    results = []
    for label, concurrency, flaky in (("1 at a time (baseline)", 1, False), ("4 at once", 4, False),
                                      ("16 at once", 16, False), ("4 at once, 20% 503 first", 4, True)):
        seen.clear()
        with serve_chat(lambda body, flaky=flaky: answer(body, flaky)) as chat:
            config = EndpointConfig(chat.url, "bench", api_key_env=None, concurrency=concurrency, backoff_s=0.05)
            started = time.perf_counter()
            report = generate_answers(config, asked, set(), lambda result: None)
            results.append((label, time.perf_counter() - started, report.answered))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--golden", type=int, default=500)
    parser.add_argument("--prompts", type=int, default=200)
    parser.add_argument("--latency", type=float, default=50.0, help="the fake endpoint's latency, ms")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workspace = prepare(Path(tmp), args.golden)
        items = candidate_file(workspace, Path(tmp) / "candidates.jsonl")
        print(f"\nScoring {items} golden items\n\n| checks | wall | vs baseline | accuracy | omniscience |\n|---|---:|---:|---:|---:|")
        rows = scoring(workspace, Path(tmp) / "candidates.jsonl")
        for label, seconds, overall in rows:
            print(f"| {label} | {seconds:.2f} s | {seconds / rows[0][1]:.1f}x | {overall['accuracy']:.1%} | "
                  f"{overall['omniscience_index']:.1f} |")
        print(f"\nAsking an endpoint for {min(items, args.prompts)} answers, {args.latency:.0f} ms each\n\n"
              "| run | wall | answers/s | vs baseline |\n|---|---:|---:|---:|")
        runs = asking(workspace, args.prompts, args.latency / 1000)
        for label, seconds, answered in runs:
            print(f"| {label} | {seconds:.2f} s | {answered / seconds:.1f} | {runs[0][1] / seconds:.1f}x faster |")


if __name__ == "__main__":
    main()
