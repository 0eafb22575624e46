"""Before and after: the base model, the SFT model and the SFT+DPO model answer the golden set locally,
and each becomes an evaluation run, compared on the Evaluate page and in the report.

Why local generation and the same runs as any candidate: "did this week's data fix the modes it was
drawn from, and what regressed?" is answered by the golden set scored programmatically, per failure
mode with intervals, exactly as a candidate file is (mining/evaluate/runs.py). So each model's
answers are written to a JSONL file in the training folder (`answers/STAGE.jsonl`, one row per
golden item: id and answer) and scored as a file run named `NAME-base`, `NAME-sft`, `NAME-dpo`. The
file stays beside the adapters: what each model said can be read, and scored again.

Generation is greedy (the same answer every time) and batched, with the prompt rendered by the
model's own chat template and left padding, on a GPU when there is one.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mining.common import Progress
from mining.evaluate.items import GoldenItem, golden_set
from mining.evaluate.runs import RunError, RunSummary, evaluate_file
from mining.store import Workspace
from mining.train.run import ADAPTER, load_tokenizer, load_trained
from mining.train.settings import TrainingError

MODELS = ("base", "sft", "dpo")
ANSWERS = "answers"


@dataclass(frozen=True)
class GenerationSettings:
    """How the golden prompts are answered: examples per batch and the longest answer in tokens."""

    batch_size: int = 8
    max_new_tokens: int = 256


def evaluate_trained(workspace: Workspace, out: Path, base_model: Path, name: str,
                     generation: GenerationSettings = GenerationSettings(), progress: Progress | None = None,
                     stop: threading.Event | None = None, created_by: str | None = None) -> list[RunSummary]:
    """Score the base model and each stage trained in `out` on the golden set, as runs `NAME-MODEL`."""
    progress = progress or (lambda fraction, message: None)
    golden = golden_set(workspace)
    if not golden.items:
        raise TrainingError("the golden set has no item with a reference answer: add golden items and review them first")
    models = [model for model in MODELS if model == "base" or (out / model / ADAPTER / "adapter_config.json").is_file()]
    if len(models) == 1:
        raise TrainingError(f"{out}: no trained adapter (sft/adapter or dpo/adapter); train first with `faultline train`")
    tokenizer = load_tokenizer(base_model)
    summaries = []
    for number, model_name in enumerate(models):
        share = (number / len(models), (number + 1) / len(models))
        progress(share[0], f"{model_name}: answering {len(golden.items)} golden prompts")
        path = out / ANSWERS / f"{model_name}.jsonl"
        answered = answer_golden(load_trained(out, base_model, model_name), tokenizer, golden.items, generation,
                                 lambda done: progress(share[0] + (share[1] - share[0]) * done, f"{model_name}: answering"),
                                 stop)
        if stop is not None and stop.is_set():
            break
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps({"id": record_id, "answer": answer}) + "\n"
                                for record_id, answer in answered.items()), encoding="utf-8")
        try:
            summaries.append(evaluate_file(workspace, f"{name}-{model_name}", path, created_by=created_by))
        except RunError as exc:
            raise TrainingError(str(exc)) from exc
    progress(1.0, f"scored {', '.join(summary.name for summary in summaries)}")
    return summaries


def answer_golden(model: Any, tokenizer: Any, items: list[GoldenItem], generation: GenerationSettings,
                  progress: Any = None, stop: threading.Event | None = None) -> dict[str, str]:
    """Each golden item's answer (record id -> text) from `model`, greedy, in batches."""
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = model.to(device).eval()
    tokenizer.padding_side = "left"  # generation continues from the end of each prompt
    answers: dict[str, str] = {}
    for start in range(0, len(items), generation.batch_size):
        if stop is not None and stop.is_set():
            break
        batch = items[start:start + generation.batch_size]
        prompts = [tokenizer.apply_chat_template(item.messages, tools=item.tools, add_generation_prompt=True,
                                                 tokenize=False) for item in batch]
        encoded = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
        with torch.no_grad():  # ids and mask only: some tokenizers add token_type_ids a causal LM refuses
            output = model.generate(input_ids=encoded["input_ids"], attention_mask=encoded["attention_mask"],
                                    max_new_tokens=generation.max_new_tokens, do_sample=False,
                                    pad_token_id=tokenizer.pad_token_id)
        for item, tokens in zip(batch, output[:, encoded["input_ids"].shape[1]:]):
            answers[item.record_id] = tokenizer.decode(tokens, skip_special_tokens=True).strip()
        if progress is not None:
            progress(min(1.0, (start + len(batch)) / len(items)))
    return answers
