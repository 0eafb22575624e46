"""A second public benchmark log, from Banking77 (PolyAI, CC BY 4.0): 3,080 real banking requests
of 77 intents, written as an OpenAI-shape log in which 8 intents fail 85% of the time and the
others 3%, with a truth file in clinc150_truth.json's format, for bench/cluster_quality.py.

    python bench/banking77.py PATH/banking_data/test.csv OUT_DIR [--seed 7]
    python bench/cluster_quality.py OUT_DIR --name banking77

The CSV is the test split of github.com/PolyAI-LDN/task-specific-datasets (banking_data/test.csv).
Why simulated outcomes on real requests: the requests, their wording and how close the intents sit
(card arrival, card delivery estimate, card linking...) are what makes failure modes hard to find
and their rates hard to estimate; which intents fail is set here so the truth is known. A failing
call gets one of four wrong answers and a thumbs down, whatever its intent, as a real model's
wrong answers cut across the kinds of request.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

FAILING_SHARE, PASSING_FAILURES = 0.85, 0.03
NAMED = ["card_arrival", "declined_transfer", "cash_withdrawal_charge"]  # the three the issue names
FAILING = 8
WRONG_ANSWERS = [
    "I'm sorry, I can't help with that.",
    "Your card is guaranteed within 2 hours or we pay you 50 pounds.",
    "Please call our 24/7 hotline on 0800 123 4567 and quote code BANK-77.",
    "There is no fee for that, nothing to worry about.",
]
GOOD_ANSWER = "Here is what I found in your account and our help pages."
START = datetime(2026, 10, 26, 8, 0, tzinfo=timezone.utc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with open(args.csv, encoding="utf-8", newline="") as file:
        rows = [(row["text"], row["category"]) for row in csv.DictReader(file)]
    rng = random.Random(args.seed)
    intents = sorted({intent for _, intent in rows})
    failing = NAMED + rng.sample([intent for intent in intents if intent not in NAMED], FAILING - len(NAMED))
    rng.shuffle(rows)
    args.out.mkdir(exist_ok=True)
    truth: dict[str, dict] = {}
    with open(args.out / "banking77_openai.jsonl", "w", encoding="utf-8") as log:
        for index, (text, intent) in enumerate(rows):
            call_id = "log-" + hashlib.sha256(f"{args.seed}:{index}:{text}".encode()).hexdigest()[:24]
            failed = rng.random() < (FAILING_SHARE if intent in failing else PASSING_FAILURES)
            answer = rng.choice(WRONG_ANSWERS) if failed else GOOD_ANSWER
            when = START + timedelta(minutes=7 * index)
            log.write(json.dumps({
                "id": call_id, "timestamp": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "request": {"model": "gpt-4o-mini-2024-07-18", "messages": [
                    {"role": "system", "content": "You are the support assistant of a bank. Be concise."},
                    {"role": "user", "content": text}]},
                "response": {"choices": [{"index": 0, "message": {"role": "assistant", "content": answer},
                                          "finish_reason": "stop"}]},
                "feedback": {"thumbs": "down" if failed else rng.choice(["up", None])},
            }) + "\n")
            truth[call_id] = {"intent": intent, "failed": failed}
    (args.out / "banking77_truth.json").write_text(json.dumps({
        "failing_intents": failing, "records": truth,
        "source": "Banking77 (PolyAI-LDN/task-specific-datasets, banking_data/test.csv, CC BY 4.0); "
                  f"failures simulated per intent (seed {args.seed})"}, indent=1), encoding="utf-8")
    print(f"{len(rows)} calls, failing intents {', '.join(failing)} -> {args.out}")


if __name__ == "__main__":
    main()
