"""The `train` command: SFT then DPO with LoRA on all linear layers, from an export folder."""

from __future__ import annotations

import argparse
import json
import signal
import threading
from pathlib import Path
from typing import Callable, TypeVar

from mining.cli_base import EXIT_OK, AddCommand, CommandFailed, progress_bar
from mining.common import Progress, plural
from mining.evaluate.scores import format_figure
from mining.store import Workspace
from mining.train.golden_runs import GenerationSettings, evaluate_trained
from mining.train.run import train_from_export
from mining.train.settings import STAGES, TrainingError, TrainSettings

T = TypeVar("T")


def _stoppable(args: argparse.Namespace, work: Callable[[Progress, threading.Event], T]) -> T:
    """`work(progress, stop)` with a progress bar; Ctrl-C sets `stop`, and the work ends at its next step
    (training keeps a checkpoint, scoring keeps the runs already scored). TrainingError -> CommandFailed."""
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    update, close = progress_bar(not args.quiet and not args.json)
    try:
        return work(update, stop)
    except TrainingError as exc:
        raise CommandFailed(str(exc)) from exc
    finally:
        close()
        signal.signal(signal.SIGINT, previous)


def command_train(_workspace: object, args: argparse.Namespace) -> int:
    try:
        settings = TrainSettings(base_model=args.base_model, stages=tuple(args.stages.split(",")), rank=args.rank,
                                 alpha=args.alpha, learning_rate=args.lr, sft_epochs=args.sft_epochs,
                                 dpo_epochs=args.dpo_epochs, beta=args.beta, batch_size=args.batch_size,
                                 max_length=args.max_length, merge=args.merge, resume=args.resume, seed=args.seed)
    except TrainingError as exc:
        raise CommandFailed(str(exc)) from exc
    result = _stoppable(args, lambda progress, stop: train_from_export(args.export, args.out, settings, progress, stop))
    if args.json:
        print((args.out / "training.json").read_text(encoding="utf-8") if (args.out / "training.json").is_file()
              else json.dumps({"stopped": result.stopped}))
    else:
        print(result.describe())
    return EXIT_OK


def command_train_eval(workspace: Workspace, args: argparse.Namespace) -> int:
    summaries = _stoppable(args, lambda progress, stop: evaluate_trained(
        workspace, args.run, args.base_model, args.name, GenerationSettings(args.batch_size, args.max_new_tokens),
        progress, stop, args.by))
    if args.json:
        print(json.dumps([summary.as_json() for summary in summaries], indent=2))
        return EXIT_OK
    for summary in summaries:
        overall = summary.scores["overall"]
        print(f"{summary.name} ({plural(summary.scored, 'golden item')}): accuracy "
              f"{format_figure(overall['accuracy'], overall['accuracy_ci'], True)}, omniscience index "
              f"{format_figure(overall['omniscience_index'], overall['omniscience_ci'], False)}, hallucination rate "
              f"{format_figure(overall['hallucination_rate'], overall['hallucination_ci'], True)}")
    if len(summaries) > 1:
        print(f"compare them: faultline compare {summaries[0].name} {summaries[-1].name}")
    return EXIT_OK


def add_commands(add: AddCommand) -> None:
    """Register `train` and `train-eval` with the entry point's `add(name, handler, help)`."""
    train = add("train", command_train, "Train LoRA adapters on an export: SFT on the corrected answers, then DPO "
                                        "on correction vs error. Ctrl-C stops at the next step with a checkpoint.")
    train.set_defaults(needs_workspace=False)
    train.add_argument("export", type=Path, help="an export folder (NAME-vN/ with manifest.json, from `export`)")
    train.add_argument("--base-model", type=Path, required=True, metavar="PATH",
                       help="the local folder of a Hugging Face causal LM with a chat template (nothing is downloaded)")
    train.add_argument("--out", type=Path, required=True, metavar="DIR", help="an empty folder for adapters and the card")
    train.add_argument("--stages", default=",".join(STAGES), help="sft,dpo (default), sft or dpo")
    train.add_argument("--rank", type=int, default=16, help="LoRA rank (default 16)")
    train.add_argument("--alpha", type=int, default=32, help="LoRA alpha (default 32)")
    train.add_argument("--lr", type=float, default=2e-4, help="learning rate (default 2e-4)")
    train.add_argument("--sft-epochs", type=float, default=3.0, help="SFT epochs (default 3)")
    train.add_argument("--dpo-epochs", type=float, default=1.0, help="DPO epochs (default 1)")
    train.add_argument("--beta", type=float, default=0.1, help="DPO beta (default 0.1)")
    train.add_argument("--batch-size", type=int, default=4, help="examples per step (default 4)")
    train.add_argument("--max-length", type=int, default=1024, help="longest example in tokens (default 1024)")
    train.add_argument("--merge", action="store_true", help="also write the merged model (OUT/merged)")
    train.add_argument("--resume", action="store_true", help="go on from the last checkpoint in OUT")
    train.add_argument("--seed", type=int, default=0, help="the run's randomness (default 0)")
    train.add_argument("--json", action="store_true", help="print the training card's facts as JSON")
    train.add_argument("--quiet", "-q", action="store_true", help="no progress bar")

    evaluate = add("train-eval", command_train_eval, "Answer the golden set with the base, SFT and SFT+DPO models of "
                                                     "a training run, locally, and score each as an evaluation run.")
    evaluate.add_argument("run", type=Path, help="the training run's folder (--out of `train`)")
    evaluate.add_argument("--base-model", type=Path, required=True, metavar="PATH", help="the base model it trained")
    evaluate.add_argument("--name", "-n", required=True, help="runs are named NAME-base, NAME-sft, NAME-dpo")
    evaluate.add_argument("--batch-size", type=int, default=8, help="prompts answered at once (default 8)")
    evaluate.add_argument("--max-new-tokens", type=int, default=256, help="longest answer in tokens (default 256)")
    evaluate.add_argument("--by", metavar="NAME", help="who ran it")
    evaluate.add_argument("--json", action="store_true", help="a JSON list: each run's scores, as `evaluate --json`")
    evaluate.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
