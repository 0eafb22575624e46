"""Training on the demo, end to end: reviews -> export with a golden hold-out -> SFT then DPO on a small model.

Run by hand: `python bench/train_demo.py [--reviews 60] [--golden 3] [--layers 4 --hidden 256]`.

1. `faultline demo` (3,000 calls), clustered once (seed 0).
2. A reviewer marks the first REVIEWS failures of the three largest modes hard examples, each with
   a written correction: the case of the issue, where everything reviewed sits in a few modes.
3. A golden hold-out of GOLDEN items, drawn two ways side by side on the same reviews: by hash
   alone (before) and from each mode's most distinct requests (now, mining/export/golden.py). For
   each: SFT and DPO rows, and the rows the leak guard removed.
4. `train_from_export` on the export (now), SFT then DPO, LoRA on all linear layers, on a Llama
   built from a config (LAYERS x HIDDEN, random weights, the packaged MiniLM tokenizer: no
   download) — tokens per second per stage; and the same SFT as full fine-tuning (every weight
   trained, no LoRA) in the same process, as the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # tiny_model: the chat template and tokenizer the tests use


def review_demo(workspace, reviews: int) -> int:
    """Hard examples with corrections for the first `reviews` failures of the three largest modes."""
    from mining.cluster import latest_run, list_clusters
    from mining.review import save_review

    modes = sorted(list_clusters(workspace), key=lambda mode: -mode["size"])[:3]
    run_id = latest_run(workspace)["run_id"]
    members = [row[0] for mode in modes for row in workspace.cursor().execute(
        "SELECT record_id FROM cluster_members WHERE run_id = ? AND cluster_id = ? ORDER BY record_id",
        [run_id, mode["id"]]).fetchall()]
    for number, record_id in enumerate(members[:reviews]):
        save_review(workspace, record_id, "bench", verdict="hard_example", tags=["wrong_answer"],
                    correction=f"Here is the accurate answer to this request (reviewed answer {number}).")
    return min(reviews, len(members))


def plan_rows(plan) -> dict[str, int]:
    """SFT and DPO rows, and the SFT rows the leak guard kept out (near duplicates of golden items)."""
    guard = sum(1 for row in plan.kinds["sft"].left_out
                if row.reason.startswith(("same input as golden", "near duplicate of golden")))
    return {"sft": len(plan.kinds["sft"].rows), "dpo": len(plan.kinds["dpo"].rows), "sft rows removed by the guard": guard}


def full_fine_tuning_tokens_per_second(export_folder: Path, base: Path, out: Path, epochs: float) -> float:
    """The baseline: the same SFT with every weight trained (no adapters)."""
    from datasets import load_dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    tokenizer = AutoTokenizer.from_pretrained(str(base), local_files_only=True)
    dataset = load_dataset("json", data_files=str(export_folder / "sft" / "train.jsonl"), split="train")
    args = SFTConfig(output_dir=str(out), report_to="none", use_cpu=True, num_train_epochs=epochs,
                     per_device_train_batch_size=4, save_strategy="no", disable_tqdm=True, learning_rate=2e-4)
    trainer = SFTTrainer(model=AutoModelForCausalLM.from_pretrained(str(base), local_files_only=True), args=args,
                         train_dataset=dataset, processing_class=tokenizer)
    tokens = sum(len(ids) for ids in trainer.train_dataset["input_ids"]) * epochs
    started = time.perf_counter()
    trainer.train()
    return tokens / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reviews", type=int, default=60)
    parser.add_argument("--golden", type=int, default=3)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--epochs", type=float, default=1.0)
    args = parser.parse_args()
    import torch

    from mining.cluster import ClusterSettings, run_clustering
    from mining.demo import load_demo
    from mining.export.golden import golden_ids, holdout
    from mining.export.plan import ExportRequest, plan_export
    from mining.export.selection import ExportFilter, select_examples
    from mining.export.writer import make_export
    from mining.store import Workspace
    from mining.train import TrainSettings, train_from_export
    from tiny_model import chat_tokenizer, tiny_llama

    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        workspace = Workspace.open(folder / "demo.duckdb")
        load_demo(workspace)
        run_clustering(workspace, ClusterSettings(seed=0))
        reviewed = review_demo(workspace, args.reviews)
        kinds, chosen = ("sft", "dpo"), ExportFilter(verdicts=("hard_example",))
        examples = select_examples(workspace, chosen)
        by_hash = holdout(golden_ids(workspace), examples, args.golden)
        before = plan_rows(plan_export(workspace, ExportRequest(kinds=kinds, filter=chosen, golden=tuple(by_hash))))
        now_plan = plan_export(workspace, ExportRequest(kinds=kinds, filter=chosen, golden_size=args.golden))
        now = plan_rows(now_plan)
        print(f"{reviewed} reviews in the three largest modes, golden hold-out of {args.golden}:")
        print(f"  drawn by hash alone (before): {json.dumps(before)}")
        print(f"  drawn from distinct requests (now): {json.dumps(now)}")
        _, export = make_export(workspace, ExportRequest(kinds=kinds, filter=chosen, golden_size=args.golden),
                                folder / "exports")
        Workspace.close_all()

        torch.manual_seed(0)
        tokenizer = chat_tokenizer()
        base = folder / "base"
        model = tiny_llama(tokenizer, layers=args.layers, hidden=args.hidden)
        model.save_pretrained(base)
        tokenizer.save_pretrained(base)
        parameters = sum(parameter.numel() for parameter in model.parameters())
        started = time.perf_counter()
        result = train_from_export(export.folder, folder / "run", TrainSettings(
            base_model=base, sft_epochs=args.epochs, dpo_epochs=args.epochs))
        wall = time.perf_counter() - started
        baseline = full_fine_tuning_tokens_per_second(export.folder, base, folder / "full", args.epochs)
        load = "/".join(f"{value:.1f}" for value in os.getloadavg())
        print(f"model: Llama {args.layers} layers x {args.hidden}, {parameters / 1e6:.1f} M parameters; "
              f"{result.hardware}; load {load}")
        print(f"train (SFT then DPO, LoRA r16 on all linear layers): {wall:.1f} s in all")
        for stage in result.stages:
            print(f"  {stage.stage.upper()}: {stage.rows} rows, {stage.steps} steps, {stage.seconds:.1f} s, "
                  f"{stage.tokens_per_second:.0f} tokens/s, final loss {stage.losses[-1][1]:.3f}")
        sft = result.stages[0].tokens_per_second
        print(f"  full fine-tuning SFT (baseline, same process): {baseline:.0f} tokens/s; LoRA / full = {sft / baseline:.2f}x")


if __name__ == "__main__":
    main()
