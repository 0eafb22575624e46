"""Training on an export (mining/train): SFT on the answer tokens only, then DPO from the SFT model,
LoRA on every linear layer, adapters and a card written, a stopped run resumed, bad input refused.

The base model is a tiny randomly initialised Llama saved as a user's model folder (tests/tiny_model.py);
the export is the hand-made reviewed workspace of the export tests, written by the real exporter.
"""

from __future__ import annotations

import json
import shutil
import threading
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from export_data import build, export_training_rows
from tiny_model import LINEAR_LAYERS
from mining.__main__ import main
from mining.store import Workspace
from mining.train import MIN_ROWS, TrainingError, TrainSettings, load_trained, train_from_export
from mining.train.data import read_training_data
from mining.train.run import build_trainer

torch = pytest.importorskip("torch")
safetensors = pytest.importorskip("safetensors.torch")


def settings(base_model: Path, **changes) -> TrainSettings:
    return TrainSettings(**{"base_model": base_model, "sft_epochs": 2, "dpo_epochs": 1, "batch_size": 4, **changes})


@pytest.fixture(scope="module")
def trained(tmp_path_factory, export_folder, base_model) -> tuple[Path, object, list[str]]:
    """One whole run, SFT then DPO, with the merged model, and the progress messages it gave."""
    out = tmp_path_factory.mktemp("run") / "run"
    messages: list[str] = []
    result = train_from_export(export_folder, out, settings(base_model, merge=True),
                               lambda fraction, message: messages.append(message))
    return out, result, messages


def test_sft_then_dpo_write_lora_adapters_on_every_linear_layer(trained, base_model):
    out, result, messages = trained
    assert not result.stopped and [stage.stage for stage in result.stages] == ["sft", "dpo"]
    base = load_trained(out, base_model, "base")
    linear = {name for name, module in base.named_modules() if isinstance(module, torch.nn.Linear)} - {"lm_head"}
    assert {name.rsplit(".", 1)[-1] for name in linear} == LINEAR_LAYERS and len(linear) == 2 * len(LINEAR_LAYERS)
    for stage in ("sft", "dpo"):
        config = json.loads((out / stage / "adapter" / "adapter_config.json").read_text())
        assert set(config["target_modules"]) == linear and config["r"] == 16 and config["lora_alpha"] == 32
        weights = safetensors.load_file(str(out / stage / "adapter" / "adapter_model.safetensors"))
        trained_b = [tensor for name, tensor in weights.items() if "lora_B" in name]
        assert trained_b and all(tensor.abs().sum() > 0 for tensor in trained_b)  # B starts at zero: it learnt
    assert any(message.startswith("SFT: step") and "loss" in message for message in messages)
    assert any(message.startswith("DPO: step") for message in messages)


def test_the_merged_model_is_base_plus_both_adapters(trained, base_model):
    out, _, _ = trained
    from transformers import AutoModelForCausalLM

    merged = AutoModelForCausalLM.from_pretrained(str(out / "merged"), local_files_only=True)
    after_dpo = load_trained(out, base_model, "dpo")
    base = load_trained(out, base_model, "base")
    name = "model.layers.0.mlp.down_proj.weight"
    merged_weights, dpo_weights = merged.state_dict()[name], after_dpo.state_dict()[name]
    assert torch.allclose(merged_weights, dpo_weights, atol=1e-6)
    assert not torch.allclose(merged_weights, base.state_dict()[name])
    prompt = torch.tensor([[101, 2054, 2003, 102]])
    assert merged.generate(prompt, max_new_tokens=3, do_sample=False).shape[1] > prompt.shape[1]


def test_sft_trains_on_the_answer_tokens_only(export_folder, base_model, tmp_path):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(base_model), local_files_only=True)
    chosen = settings(base_model)
    data = read_training_data(export_folder, chosen.stages)
    trainer = build_trainer("sft", data, tmp_path, chosen, tokenizer)
    rows = [json.loads(line) for line in data.files["sft"].read_text().splitlines()]
    batch = trainer.data_collator([trainer.train_dataset[number] for number in range(len(rows))])
    for row, ids, labels in zip(rows, batch["input_ids"].tolist(), batch["labels"].tolist()):
        prompt = tokenizer.apply_chat_template(row["prompt"], add_generation_prompt=True, tokenize=True,
                                               return_dict=True)["input_ids"]
        assert ids[:len(prompt)] == list(prompt)
        assert labels[:len(prompt)] == [-100] * len(prompt)  # every prompt token is masked
        answer = [label for label in labels[len(prompt):] if label != -100]
        assert answer and answer == [token for token, label in zip(ids[len(prompt):], labels[len(prompt):])
                                     if label != -100]
        assert answer[-1] == tokenizer.sep_token_id  # the end of the turn is learnt too


def test_dpo_starts_from_the_sft_model_which_is_also_its_reference(trained, export_folder, base_model):
    out, _, _ = trained
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(base_model), local_files_only=True)
    chosen = settings(base_model, resume=True)
    trainer = build_trainer("dpo", read_training_data(export_folder, chosen.stages), out, chosen, tokenizer)
    name = "model.layers.1.self_attn.q_proj.weight"
    after_sft = load_trained(out, base_model, "sft").state_dict()[name]
    underneath = {key.replace("base_model.model.", "").replace("base_layer.", ""): value
                  for key, value in trainer.model.state_dict().items() if "lora_" not in key}
    assert torch.allclose(underneath[name], after_sft)  # the frozen weights DPO trains on, and compares with
    assert not torch.allclose(after_sft, load_trained(out, base_model, "base").state_dict()[name])


def test_the_card_names_the_data_the_model_and_the_losses(trained, export_folder):
    out, result, _ = trained
    facts = json.loads((out / "training.json").read_text())
    manifest = json.loads((export_folder / "manifest.json").read_text())
    assert facts["export"]["files_sha256"]["sft"] == manifest["files"]["sft/train.jsonl"]["sha256"]
    assert facts["export"]["name"] == f"{manifest['name']}-v{manifest['version']}"
    assert facts["hyperparameters"]["target_modules"] == "all-linear" and facts["hyperparameters"]["rank"] == 16
    assert [stage["steps"] for stage in facts["stages"]] == [stage.steps for stage in result.stages]
    assert all(stage["losses"] and stage["tokens_per_second"] > 0 for stage in facts["stages"])
    card = (out / "TRAINING.md").read_text()
    assert facts["export"]["manifest_sha256"] in card and facts["hardware"] in card and "loss.svg" in card
    svg = ElementTree.fromstring((out / "loss.svg").read_text())
    assert len(svg.findall("{http://www.w3.org/2000/svg}polyline")) == 2  # one curve per stage


def test_a_stopped_run_keeps_a_checkpoint_and_resumes_from_it(export_folder, base_model, tmp_path):
    out = tmp_path / "run"
    stop = threading.Event()

    def stop_after_three_steps(fraction: float, message: str) -> None:
        if message.startswith("SFT: step 3 "):
            stop.set()

    first = train_from_export(export_folder, out, settings(base_model, stages=("sft",)), stop_after_three_steps, stop)
    assert first.stopped and first.stages[0].steps == 3 and "--resume" in first.describe()
    assert not (out / "sft" / "adapter").exists() and (out / "sft" / "checkpoints" / "checkpoint-3").is_dir()
    with pytest.raises(TrainingError, match="already holds a run"):
        train_from_export(export_folder, out, settings(base_model, stages=("sft",)))
    second = train_from_export(export_folder, out, settings(base_model, stages=("sft",), resume=True))
    rows = read_training_data(export_folder, ("sft",)).rows["sft"]
    assert second.stages[0].resumed_from == "checkpoint-3"
    assert second.stages[0].steps == 2 * -(-rows // 4)  # the whole run's steps, not three more from zero
    assert (out / "sft" / "adapter" / "adapter_config.json").is_file()
    again = train_from_export(export_folder, out, settings(base_model, stages=("sft",), resume=True))
    assert again.stages[0].skipped  # a finished stage is not trained twice


def test_what_cannot_be_trained_is_refused_with_the_reason(export_folder, base_model, tmp_path):
    with pytest.raises(TrainingError, match="no manifest.json"):
        train_from_export(tmp_path, tmp_path / "run", settings(base_model))
    with pytest.raises(TrainingError, match="not a model folder"):
        train_from_export(export_folder, tmp_path / "run", settings(tmp_path))
    edited = tmp_path / "edited"
    shutil.copytree(export_folder, edited)
    with open(edited / "sft" / "train.jsonl", "a", encoding="utf-8") as file:
        file.write('{"prompt": [], "completion": []}\n')
    with pytest.raises(TrainingError, match="changed since it was exported"):
        train_from_export(edited, tmp_path / "run", settings(base_model))
    with pytest.raises(TrainingError, match="SFT runs before DPO"):
        settings(base_model, stages=("dpo", "sft"))


def test_an_export_with_too_few_rows_says_why_and_what_would_help(base_model, tmp_path):
    """The demo's first preview: reviews all in the golden set's modes, so nothing left to train on."""
    workspace = Workspace.open(tmp_path / "workspace.duckdb")
    try:
        build(workspace, tmp_path)
        result = export_training_rows(workspace, tmp_path / "out", "not_a_failure")
    finally:
        Workspace.close_all()
    with pytest.raises(TrainingError) as refused:
        train_from_export(result.folder, tmp_path / "run", settings(base_model))
    assert f"needs at least {MIN_ROWS}" in str(refused.value) and "Review more" in str(refused.value)


def test_the_train_command(export_folder, base_model, tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", str(export_folder), "--base-model", str(base_model), "--out", str(out), "--stages", "sft",
                 "--sft-epochs", "1", "--rank", "4", "--quiet"])
    assert code == 0
    assert capsys.readouterr().out.startswith("Trained SFT")
    assert json.loads((out / "sft" / "adapter" / "adapter_config.json").read_text())["r"] == 4
    assert main(["train", str(export_folder), "--base-model", str(base_model), "--out", str(out), "--quiet"]) == 1
    assert "already holds a run" in capsys.readouterr().err
