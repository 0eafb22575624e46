"""Export speed: every dataset kind from a fully reviewed demo workspace, against a plain dump.

Run by hand (not a test): `python bench/export_speed.py [--calls N]`. A fresh workspace gets the
demo data (N calls, 3,000 by default) and one clustering run (so vectors are cached, as they are
after a week's work); every failure is then marked a hard example with a correction (one bulk
verdict, correction events appended directly), 5% of them held out as golden.

- (a) **baseline**: DuckDB's `COPY (SELECT record_id, input_messages, response_text, correction
  ...) TO 'file.jsonl'` of the same reviewed records: the fastest way to dump them, with none of
  the work an export does.
- (b) **Faultline**: `make_export` with sft, sft-openai, dpo, dpo-openai, kto, corrections and
  golden, JSONL and Parquet: selection, golden hold-out, leakage check on the cached vectors,
  redaction, building, validation, token counts, writing, card and manifest.
- (c) **Faultline + sft-tokenized**: (b) plus the pre-tokenised SFT kind with the packaged
  embedding model's tokenizer (given a chat template), which makes token counts exact.

Stage times come from the progress callback. Each figure is the best of `--rounds` runs (the
export writes a new version each time; the golden set is drawn by the first run only).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KINDS = ("sft", "sft-openai", "dpo", "dpo-openai", "kto", "corrections", "golden")
CHAT_TEMPLATE = ("{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] or '' }}[SEP]{% endfor %}"
                 "{% if add_generation_prompt %}<|assistant|>{% endif %}")


def prepare(folder: Path, calls: int):
    """The demo data, clustered, every failure reviewed with a correction."""
    from mining.cluster import run_clustering
    from mining.demo import load_demo
    from mining.common import now_utc
    from mining.review.events import ReviewEvent, append, bulk_apply, new_id
    from mining.store import Workspace

    workspace = Workspace.open(folder / "workspace.duckdb")
    load_demo(workspace, calls=calls)
    run_clustering(workspace)
    failures = [row[0] for row in workspace.cursor().execute(
        "SELECT DISTINCT record_id FROM signals ORDER BY record_id").fetchall()]
    bulk_apply(workspace, failures, "bench", verdict="hard_example")
    batch, at = new_id(), now_utc()
    events = [ReviewEvent(new_id(), record_id, "bench", at, "correction",
                          {"before": None, "after": {"text": f"The answer the model should have given ({n}). "
                                                             f"Write to help-{n}@example.com.", "tool_calls": None}},
                          batch) for n, record_id in enumerate(failures)]
    with workspace.transaction() as cursor:
        append(cursor, events)
    return workspace, len(failures)


def tokenizer_folder(folder: Path) -> str:
    from transformers import AutoTokenizer

    from mining.embed import EmbeddingSettings

    tokenizer = AutoTokenizer.from_pretrained(str(EmbeddingSettings().model_path), local_files_only=True)
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(folder / "tokenizer")
    return str(folder / "tokenizer")


def baseline(workspace, out: Path) -> float:
    from mining.review import record_state_sql

    started = time.perf_counter()
    workspace.cursor().execute(f"""
        COPY (SELECT r.record_id, r.input_messages, r.response_text, s.correction
              FROM ({record_state_sql()}) s JOIN records r USING (record_id)
              WHERE s.verdict = 'hard_example' ORDER BY r.record_id)
        TO '{out}' (FORMAT json)""")
    return time.perf_counter() - started


def faultline(workspace, out: Path, kinds: tuple[str, ...], golden_size: int, tokenizer: str | None):
    from mining.export.plan import ExportRequest
    from mining.export.writer import make_export

    marks: list[tuple[float, str]] = []

    def progress(fraction: float, message: str) -> None:
        marks.append((time.perf_counter(), message))

    started = time.perf_counter()
    plan, result = make_export(workspace, ExportRequest(kinds=kinds, golden_size=golden_size, tokenizer=tokenizer,
                                                        created_by="bench"), out, progress)
    total = time.perf_counter() - started
    stages: dict[str, float] = {}
    for (at, message), (next_at, _) in zip(marks, marks[1:] + [(started + total, "")]):
        stage = ("leakage" if "duplicate" in message or "embed" in message
                 else "writing" if message.endswith("rows planned") else message.split(" ")[0])
        stages[stage] = stages.get(stage, 0.0) + next_at - at
    rows = sum(len(kind.rows) for kind in plan.kinds.values())
    problems = sum(len(kind.problems) for kind in plan.kinds.values())
    return total, stages, rows, problems, len(plan.leaks), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        workspace, reviewed = prepare(folder, args.calls)
        print(f"prepared {args.calls:,} calls, {reviewed:,} reviewed failures in {time.perf_counter() - started:.1f} s")
        tokenizer = tokenizer_folder(folder)
        golden = max(1, reviewed // 20)
        best: dict[str, tuple] = {}
        for _ in range(args.rounds):
            base = baseline(workspace, folder / "dump.jsonl")
            best["baseline"] = min(best.get("baseline", (base,)), (base,))
            for label, kinds, tok in (("faultline", KINDS, None), ("faultline+tokenized", KINDS + ("sft-tokenized",),
                                                                   tokenizer)):
                run = faultline(workspace, folder / "out", kinds, golden, tok)
                if label not in best or run[0] < best[label][0]:
                    best[label] = run
        base = best["baseline"][0]
        print("\n| run | wall | rows written | vs baseline |\n|---|---:|---:|---:|")
        print(f"| baseline: DuckDB COPY of {reviewed:,} reviewed records | {base:.2f} s | {reviewed:,} | 1x |")
        for label in ("faultline", "faultline+tokenized"):
            total, stages, rows, problems, leaks, _ = best[label]
            print(f"| {label} | {total:.2f} s | {rows:,} | {total / base:.1f}x |")
        for label in ("faultline", "faultline+tokenized"):
            total, stages, rows, problems, leaks, result = best[label]
            shown = ", ".join(f"{stage} {seconds:.2f} s" for stage, seconds in stages.items() if seconds >= 0.005)
            print(f"\n{label}: {shown}; {problems} rows with problems, {leaks} near duplicates of golden items; "
                  f"files {sum(entry['bytes'] for entry in result.manifest['files'].values()) / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
