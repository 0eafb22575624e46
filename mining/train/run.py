"""One training run: SFT with LoRA on every linear layer, then DPO from the SFT model, from an export folder.

Why this recipe: a correction is a ready training example. SFT on prompt -> corrected answer, with
the loss on the answer tokens only (TRL's prompt-completion form: the prompt's labels are -100),
teaches the format and the content; DPO on correction (chosen) vs the model's error (rejected)
then teaches what a good answer is, starting from the SFT model, which is also DPO's reference.
LoRA on all linear layers (`target_modules="all-linear"`) of a small model is enough for a narrow
task and fits a laptop; the base model is a local folder and nothing is downloaded.

The output folder holds `sft/adapter/` (on the base model), `dpo/adapter/` (on base + the SFT
adapter merged), `merged/` on request, each stage's `checkpoints/` while it runs, and the training
card (mining/train/card.py). A stopped run keeps its last checkpoint; `resume` goes on from it, and
a stage whose adapter is already written is not trained again.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from mining.common import Progress
from mining.train.card import write_card
from mining.train.data import TrainingData, read_training_data
from mining.train.results import StageResult, TrainResult
from mining.train.settings import TrainingError, TrainSettings

ADAPTER = "adapter"
CHECKPOINTS = "checkpoints"
MERGED = "merged"


def train_from_export(export_folder: Path, out: Path, settings: TrainSettings, progress: Progress | None = None,
                      stop: threading.Event | None = None) -> TrainResult:
    """Train every stage of `settings` on the export in `export_folder`, writing into `out`.

    `stop`, when set, ends the run at the next step with a checkpoint saved. Raises TrainingError
    for anything a person must fix (no export, too few rows, no usable base model, an output folder
    of another run without `resume`).
    """
    progress = progress or (lambda fraction, message: None)
    data = read_training_data(export_folder, settings.stages)
    _check_output(out, settings)
    tokenizer = load_tokenizer(settings.base_model)
    out.mkdir(parents=True, exist_ok=True)
    result = TrainResult(out, [], hardware=_hardware())
    for number, stage in enumerate(settings.stages):
        share = (number / len(settings.stages), (number + 1) / len(settings.stages))
        stage_result = _run_stage(stage, data, out, settings, tokenizer, _scaled(progress, *share), stop)
        result.stages.append(stage_result)
        if stop is not None and stop.is_set():
            result.stopped = True
            break
    if not result.stopped and settings.merge:
        progress(0.98, "writing the merged model")
        _merged_model(out, settings).save_pretrained(out / MERGED)
        tokenizer.save_pretrained(out / MERGED)
    write_card(out, data, settings, result)
    progress(1.0, result.describe())
    return result


def _scaled(progress: Progress, start: float, end: float) -> Progress:
    return lambda fraction, message: progress(start + (end - start) * fraction, message)


def _check_output(out: Path, settings: TrainSettings) -> None:
    """An output folder holding another run is never trained over unless the run is resumed."""
    if out.exists() and not out.is_dir():
        raise TrainingError(f"{out} is a file; give a folder for the adapters")
    if out.is_dir() and any(out.iterdir()) and not settings.resume:
        raise TrainingError(f"{out} already holds a run; give an empty folder, or --resume to go on with that run")


def load_tokenizer(base_model: Path) -> Any:
    from transformers import AutoTokenizer

    if not (base_model / "config.json").is_file():
        raise TrainingError(f"{base_model}: not a model folder (no config.json); give the local folder of a "
                            "Hugging Face causal language model (nothing is downloaded)")
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(base_model), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise TrainingError(f"{base_model}: its tokenizer cannot be loaded ({exc})") from exc
    if not tokenizer.chat_template:
        raise TrainingError(f"{base_model}: the tokenizer has no chat template, so prompts cannot be rendered "
                            "as the model expects them; use a chat (instruct) model's folder")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def _load_model(path: Path, sft_adapter: Path | None = None) -> Any:
    """The base model, with the SFT adapter merged in when DPO starts from it."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(path), local_files_only=True)
    if sft_adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(sft_adapter)).merge_and_unload()
    return model


def lora_config(settings: TrainSettings) -> Any:
    """LoRA on every linear layer of the model (not the output head), as the product's recipe says."""
    from peft import LoraConfig

    return LoraConfig(r=settings.rank, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
                      target_modules="all-linear", task_type="CAUSAL_LM")


def _trainer_args(stage: str, out: Path, settings: TrainSettings) -> dict[str, Any]:
    """The settings both TRL trainers share: where checkpoints go, the device, logging every step."""
    import torch

    on_gpu = torch.cuda.is_available()
    return dict(output_dir=str(out / stage / CHECKPOINTS), report_to="none", use_cpu=not on_gpu,
                bf16=on_gpu and torch.cuda.is_bf16_supported(), learning_rate=settings.learning_rate,
                per_device_train_batch_size=settings.batch_size, max_length=settings.max_length,
                logging_steps=1, save_strategy="epoch", save_total_limit=2, seed=settings.seed,
                disable_tqdm=True)


def build_trainer(stage: str, data: TrainingData, out: Path, settings: TrainSettings, tokenizer: Any) -> Any:
    """The TRL trainer of one stage, ready to train (the tests read its prepared data and collator)."""
    from datasets import load_dataset
    from trl import DPOConfig, DPOTrainer, SFTConfig, SFTTrainer

    dataset = load_dataset("json", data_files=str(data.files[stage]), split="train")
    common = _trainer_args(stage, out, settings)
    if stage == "sft":
        args = SFTConfig(**common, num_train_epochs=settings.sft_epochs, completion_only_loss=True)
        return SFTTrainer(model=_load_model(settings.base_model), args=args, train_dataset=dataset,
                          processing_class=tokenizer, peft_config=lora_config(settings))
    args = DPOConfig(**common, num_train_epochs=settings.dpo_epochs, beta=settings.beta)
    model = _load_model(settings.base_model, out / "sft" / ADAPTER if "sft" in settings.stages else None)
    return DPOTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer,
                      peft_config=lora_config(settings))


def _run_stage(stage: str, data: TrainingData, out: Path, settings: TrainSettings, tokenizer: Any,
               progress: Progress, stop: threading.Event | None) -> StageResult:
    from transformers.trainer_utils import get_last_checkpoint

    result = StageResult(stage, data.rows[stage])
    adapter = out / stage / ADAPTER
    if (adapter / "adapter_config.json").is_file():
        result.skipped = True
        return result
    progress(0.0, f"{stage.upper()}: loading {settings.base_model.name}")
    from transformers.trainer_callback import PrinterCallback

    trainer = build_trainer(stage, data, out, settings, tokenizer)
    trainer.remove_callback(PrinterCallback)  # it prints every log as a dict; progress reports them instead
    trainer.add_callback(_progress_callback(stage, progress, stop))
    checkpoints = out / stage / CHECKPOINTS
    last = get_last_checkpoint(str(checkpoints)) if settings.resume and checkpoints.is_dir() else None
    result.resumed_from = Path(last).name if last else None
    started = time.perf_counter()
    trainer.train(resume_from_checkpoint=last)
    result.seconds = time.perf_counter() - started
    result.steps = trainer.state.global_step
    result.losses = [(entry["step"], float(entry["loss"])) for entry in trainer.state.log_history if "loss" in entry]
    result.tokens = _tokens_seen(trainer, stage)
    if stop is None or not stop.is_set():
        trainer.save_model(str(adapter))
    return result


def _tokens_seen(trainer: Any, stage: str) -> int:
    """Tokens the stage trained on: every example's tokens (for DPO, prompt + both answers) per epoch."""
    dataset = trainer.train_dataset
    if stage == "sft":
        per_epoch = sum(len(ids) for ids in dataset["input_ids"])
    else:
        per_epoch = sum(len(dataset[column][row]) for row in range(len(dataset))
                        for column in ("prompt_ids", "chosen_ids", "rejected_ids") if column in dataset.column_names)
    return int(per_epoch * trainer.args.num_train_epochs)


def _progress_callback(stage: str, progress: Progress, stop: threading.Event | None) -> Any:
    """Reports each step with its loss, and ends training at the next step (checkpoint saved) when stopped."""
    from transformers import TrainerCallback

    def stop_if_asked(control: Any) -> Any:
        if stop is not None and stop.is_set():
            control.should_save = True
            control.should_training_stop = True
        return control

    class Report(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs and state.max_steps:
                progress(state.global_step / state.max_steps,
                         f"{stage.upper()}: step {state.global_step} of {state.max_steps}, loss {logs['loss']:.3f}")
            return stop_if_asked(control)  # the trainer saves after logging: the step just reported is kept

        def on_step_end(self, args, state, control, **kwargs):
            return stop_if_asked(control)

    return Report()


def _merged_model(out: Path, settings: TrainSettings) -> Any:
    """Base + the SFT adapter + the DPO adapter, merged into plain weights."""
    model = _load_model(settings.base_model, out / "sft" / ADAPTER if "sft" in settings.stages else None)
    if "dpo" in settings.stages:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(out / "dpo" / ADAPTER)).merge_and_unload()
    return model


def load_trained(out: Path, base_model: Path, stage: str) -> Any:
    """The model as it stands after `stage` ("base", "sft" or "dpo") of the run in `out`, for generation."""
    if stage == "base":
        return _load_model(base_model)
    sft = out / "sft" / ADAPTER
    model = _load_model(base_model, sft if sft.is_dir() else None)
    if stage == "dpo":
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(out / "dpo" / ADAPTER)).merge_and_unload()
    return model


def _hardware() -> str:
    import torch

    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)} (torch {torch.__version__})"
    return f"CPU, {os.cpu_count()} cores (torch {torch.__version__})"
