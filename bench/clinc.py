"""The CLINC150 benchmark log (../shared/benchmarks): each call's user request and its intent."""

from __future__ import annotations

import json
from pathlib import Path


def requests_and_intents(data: Path) -> tuple[list[str], list[str]]:
    """The last user message of every call in clinc150_openai.jsonl, and its intent, in file order."""
    truth = json.loads((data / "clinc150_truth.json").read_text())["records"]
    texts, intents = [], []
    with open(data / "clinc150_openai.jsonl", encoding="utf-8") as lines:
        for line in lines:
            call = json.loads(line)
            user = [message for message in call["request"]["messages"] if message["role"] == "user"]
            texts.append(user[-1]["content"])
            intents.append(truth[call["id"]]["intent"])
    return texts, intents
