"""The dataset card: README.md with the YAML header the Hugging Face hub reads, and prose for people.

Why both: `load_dataset(folder, "sft")` finds each kind's file through the header's `configs`, and
a stranger handed the folder learns from the prose what is inside, where it came from, how it was
reviewed, filtered, de-leaked and redacted, and what it cannot be trusted for. The card holds no
dates or hashes (those are in manifest.json), so the same export gives the same card.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from mining.export.plan import ExportPlan
from mining.cluster import NOISE
from mining.export.selection import Example


def _yaml(value: Any) -> str:
    """A YAML scalar; JSON's quoting is valid YAML and never misread (e.g. `no`, `1.0`)."""
    return json.dumps(value, ensure_ascii=False)


def _size_category(rows: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if rows < limit:
            return label
    return "n>1M"


def _header(plan: ExportPlan, files: dict[str, list[str]], title: str) -> list[str]:
    largest = max((len(kind.rows) for kind in plan.kinds.values()), default=0)
    lines = ["---", f"license: {_yaml(plan.request.license)}", f"pretty_name: {_yaml(title)}",
             "task_categories:", "- text-generation", "tags:", "- faultline", "- error-analysis",
             "- fine-tuning", "size_categories:", f"- {_yaml(_size_category(largest))}", "configs:"]
    for name, kind_plan in plan.kinds.items():
        if name not in files:
            continue
        lines += [f"- config_name: {kind_plan.kind.config}", "  data_files:",
                  f"  - split: {kind_plan.kind.split}", f"    path: {_yaml(files[name][0])}"]
    return lines + ["---"]


def _table(headings: list[str], rows: list[list[Any]]) -> list[str]:
    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")
    return (["| " + " | ".join(headings) + " |", "|" + "---|" * len(headings)]
            + ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows])


def _filter_words(filters: dict[str, Any]) -> list[str]:
    """The filters that restrict anything, as "verdicts: hard_example, not_a_failure"."""
    words = []
    for key, value in filters.items():
        if key == "record_ids" or value in (None, [], False):
            continue
        shown = ", ".join(str(item) for item in value) if isinstance(value, list) else "yes" if value is True else value
        words.append(f"{key.replace('_', ' ')}: {shown}")
    return words


def _mode(example: Example) -> str:
    return "unclustered" if example.cluster_id == NOISE else (example.cluster_name or f"mode {example.cluster_id}")


def _breakdown(plan: ExportPlan, label: str, keys_of, tag_names: dict[str, str]) -> list[str]:
    by_record: dict[str, Example] = {example.record_id: example for example in plan.examples + plan.golden}
    rows: dict[str, Counter] = {}
    for name, kind_plan in plan.kinds.items():
        for record_id in kind_plan.record_ids:
            for key in keys_of(by_record[record_id]) or ["(none)"]:
                rows.setdefault(tag_names.get(key, key), Counter())[name] += 1
    kinds = list(plan.kinds)
    ordered = sorted(rows.items(), key=lambda item: (-sum(item[1].values()), item[0]))
    return _table([label] + kinds, [[key] + [counts[kind] for kind in kinds] for key, counts in ordered])


def dataset_card(plan: ExportPlan, title: str, files: dict[str, list[str]], tag_names: dict[str, str]) -> str:
    """The card's text. `files`: each written kind's files (the first one is the config's data file)."""
    request, examples = plan.request, plan.examples
    lines = _header(plan, files, title)
    times = sorted(example.ts for example in examples if example.ts)
    sources = Counter(f"{example.source_file} ({example.source_format})" for example in examples)
    models = Counter(example.model or "unknown" for example in examples)
    reviewers = sorted({reviewer for example in examples for reviewer in example.reviewers})
    agreement = Counter(example.agreement for example in examples)
    lines += ["", f"# {title}", "",
              "Hard examples from the production logs of an LLM application: the calls where the model failed, "
              "grouped into recurring failure modes, reviewed by people who wrote the answer the model should have "
              "given. Made with Faultline; `manifest.json` beside this card lists every record, filter and file hash, "
              "and makes this export again.", "", "## What is inside", ""]
    lines += _table(["config", "what", "split", "rows", "left out", "files"],
                    [[kind_plan.kind.config, kind_plan.kind.summary, kind_plan.kind.split, len(kind_plan.rows),
                      len(kind_plan.left_out), ", ".join(f"`{path}`" for path in files.get(name, [])) or "none"]
                     for name, kind_plan in plan.kinds.items()])
    lines += ["", "Load a config with `datasets`:", "", "```python", "from datasets import load_dataset",
              "", f'ds = load_dataset("path/to/{title.replace(" ", "-")}", "{next(iter(plan.kinds.values())).kind.config}")',
              "```", "", "Training rows teach only the corrected answer: TRL prompt/completion rows (loss on the "
              "completion), OpenAI rows with `weight: 0` on earlier assistant turns, pre-tokenised rows with `labels` "
              "-100 on every prompt token. Preference pairs put the reviewer's correction as chosen and the model's "
              "answer as rejected. Tool-call arguments and TRL's `tools` are JSON strings.", "",
              "## Where it came from", "",
              f"{len(examples):,} reviewed records selected"
              + (f", logged between {times[0]:%Y-%m-%d} and {times[-1]:%Y-%m-%d}" if times else "") + ".", ""]
    lines += _table(["source", "records"], [[source, count] for source, count in sources.most_common()])
    lines += ["", "Models that gave the original answers: "
              + ", ".join(f"{model} ({count})" for model, count in models.most_common()) + ".", "",
              "Filters: " + ("; ".join(_filter_words(request.filter.as_json())) or "none")
              + (f"; {len(request.filter.record_ids)} records pinned by id" if request.filter.record_ids else "") + ".",
              "", "## How it was reviewed", "",
              f"{len(reviewers)} reviewer{'s' if len(reviewers) != 1 else ''}. Agreement: "
              + ", ".join(f"{count} {state}" for state, count in sorted(agreement.items()))
              + " (agreed: two or more reviewers judged alike; adjudicated: a lead settled a disagreement).", "",
              "### Rows per failure mode", ""]
    lines += _breakdown(plan, "failure mode", lambda e: [_mode(e)], {})
    lines += ["", "### Rows per failure tag", ""]
    lines += _breakdown(plan, "tag", lambda e: list(e.tags), tag_names)
    lines += ["", "## Golden set and leakage", "",
              f"{len(plan.golden)} golden items are held out for evaluation (chosen by hand or by a hold-out stratified "
              "across failure modes) and never appear in a training config. "
              f"{len(plan.leaks)} further records were kept out of training because their input is the same as, or a "
              f"near duplicate of (cosine similarity of the request embeddings >= {request.leak_threshold}), a golden "
              "input; `manifest.json` names each with its golden twin.", "", "## Redaction", ""]
    if request.redact:
        masked = ", ".join(f"{kind.lower()} {count} ({plan.redaction_distinct.get(kind, 0)} distinct)"
                           for kind, count in plan.redaction.items()) or "nothing was found"
        lines += ["Before writing, personal data and secrets were masked with consistent placeholders (the same value "
                  "gets the same `[KIND_N]` in every file of this export): e-mail addresses, phone numbers, card numbers, "
                  "IBANs, IP addresses, API keys, tokens and secrets. Masked: " + masked + ".",
                  "Masking is pattern-based: names, addresses and free-form personal details are not detected."]
    else:
        lines += ["**Redaction was turned off for this export: the text is as logged and may hold personal data and "
                  "secrets.**"]
    lines += ["", "## Validation", "",
              "Every row was checked the way its trainer reads it (roles in order, a final assistant answer to learn, "
              "no empty content, chosen different from rejected, OpenAI's data-preparation checks) and against a limit "
              f"of {request.max_tokens:,} tokens per example ("
              f"{'counted with the given tokenizer' if plan.exact_tokens else 'estimated at 4 characters per token'}). "
              "Rows with problems were left out; `manifest.json` lists each with its reason.", ""]
    lines += _table(["config", "rows with problems", "of them over the token limit"],
                    [[p.kind.config, len(p.problems), p.over_limit] for p in plan.kinds.values()])
    lines += [""]
    lines += [f"- {warning}" for warning in plan.warnings] or ["- no warnings"]
    lines += ["", "## Known limits", "",
              "- The data is what one application's users asked; it says nothing about other tasks or other users.",
              "- Corrections are one reviewer's answer unless the agreement column above says otherwise.",
              "- The model answers were logged in production; a fine-tuned model may fail differently.", ""]
    return "\n".join(lines)
