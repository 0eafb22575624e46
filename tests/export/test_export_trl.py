"""Every written kind handed to its real consumer: `datasets.load_dataset` reads each config from the
dataset card (JSONL) and each Parquet file, and TRL's own SFT, DPO and KTO data preparation accept
them. The tokenizer is the packaged embedding model's (no download), given a small chat template;
the model is a tiny randomly initialised Llama, since only the data preparation is under test."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from datasets import load_dataset

from export_data import build
from tiny_model import chat_tokenizer, tiny_llama
from mining.export.golden import add_golden
from mining.export.plan import ExportRequest
from mining.export.selection import ExportFilter
from mining.export.writer import make_export
from mining.store import Workspace

transformers = pytest.importorskip("transformers")
trl = pytest.importorskip("trl")

KINDS = ("sft", "sft-openai", "sft-tokenized", "dpo", "dpo-openai", "kto", "corrections", "golden")


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tokenizer")
    chat_tokenizer().save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def exported(tmp_path_factory, tokenizer_dir):
    """One export of every kind, in both formats, from the hand-made reviewed workspace."""
    folder = tmp_path_factory.mktemp("trl")
    workspace = Workspace.open(folder / "workspace.duckdb")
    try:
        ids = build(workspace, folder)
        add_golden(workspace, [ids["golden-0"]], "ana")
        request = ExportRequest(kinds=KINDS, tokenizer=str(tokenizer_dir),
                                filter=ExportFilter(verdicts=("hard_example", "not_a_failure", "unsure")))
        plan, result = make_export(workspace, request, folder / "out")
    finally:
        Workspace.close_all()
    return plan, result


@pytest.fixture(scope="module")
def tokenizer(tokenizer_dir):
    return transformers.AutoTokenizer.from_pretrained(str(tokenizer_dir), local_files_only=True)


@pytest.fixture(scope="module")
def load(tmp_path_factory):
    """load_dataset with a cache of this module's own: datasets' cache key does not change when
    files of the same name are rewritten, so a shared cache could serve an earlier run's rows."""
    cache = str(tmp_path_factory.mktemp("hf_cache"))
    return lambda *args, **kwargs: load_dataset(*args, cache_dir=cache, **kwargs)


def without_nulls(value):
    """A row as written, whichever keys Arrow added as null to give every row one schema."""
    if isinstance(value, dict):
        return {key: without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [without_nulls(item) for item in value]
    return value


def tiny_model(tokenizer):
    return tiny_llama(tokenizer)


def trainer_args(config_class, tmp_path: Path, **extra):
    return config_class(output_dir=str(tmp_path), report_to="none", use_cpu=True, bf16=False, **extra)


@pytest.mark.parametrize("kind", KINDS)
def test_each_config_loads_from_the_card_and_from_parquet(load, exported, kind):
    plan, result = exported
    config = result.manifest["kinds"][kind]
    assert config["rows"] > 0
    from_card = load(str(result.folder), config["config"], split=config["split"])
    assert from_card.num_rows == config["rows"]
    parquet = load("parquet", data_files=str(result.folder / config["config"] / f"{config['split']}.parquet"),
                           split="train")
    assert parquet.num_rows == config["rows"] and set(parquet.column_names) == set(from_card.column_names)
    written = [without_nulls(row) for row in plan.kinds[kind].rows]
    read = [without_nulls(row) for row in from_card]
    if kind == "corrections":  # Arrow reads the ISO time as a timestamp (UTC, the zone dropped)
        for row, original in zip(read, written):
            assert row.pop("time").replace(tzinfo=timezone.utc) == datetime.fromisoformat(original.pop("time"))
    assert read == written
    if kind not in ("sft-openai", "dpo-openai", "corrections"):  # the others keep `tools` as objects in JSONL only
        assert [without_nulls(row) for row in parquet] == written


def test_trl_sft_masks_exactly_the_answer_tokens(load, exported, tokenizer, tmp_path):
    _, result = exported
    dataset = load(str(result.folder), "sft", split="train")
    trainer = trl.SFTTrainer(model=tiny_model(tokenizer), args=trainer_args(trl.SFTConfig, tmp_path),
                             train_dataset=dataset, processing_class=tokenizer)
    prepared = trainer.train_dataset
    assert prepared.num_rows == dataset.num_rows
    for source, row in zip(dataset, prepared):
        answer = source["completion"][0]
        rendered = (answer["content"] or "") + "".join(
            f"<call>{call['function']['name']} {call['function']['arguments']}" for call in answer.get("tool_calls") or [])
        expected = tokenizer.encode(rendered, add_special_tokens=False) + [tokenizer.sep_token_id]
        trained = [token for token, label in zip(row["input_ids"], row["labels"]) if label != -100]
        assert trained == expected
        first = row["labels"].index(trained[0])
        assert all(label == -100 for label in row["labels"][:first])  # every prompt token is masked


def test_pre_tokenised_rows_mask_the_prompt_and_trl_uses_them_as_they_are(load, exported, tokenizer, tmp_path):
    _, result = exported
    sft = load(str(result.folder), "sft", split="train")
    tokenized = load(str(result.folder), "sft_tokenized", split="train")
    assert tokenized.column_names == ["input_ids", "attention_mask", "labels"]
    for source, row in zip(sft, tokenized):
        prompt_ids = tokenizer.apply_chat_template(source["prompt"], add_generation_prompt=True, tokenize=True,
                                                   return_dict=True)["input_ids"]
        assert row["input_ids"][:len(prompt_ids)] == list(prompt_ids)
        assert row["labels"][:len(prompt_ids)] == [-100] * len(prompt_ids)
        assert row["labels"][len(prompt_ids):] == row["input_ids"][len(prompt_ids):]
        assert row["attention_mask"] == [1] * len(row["input_ids"])
    trainer = trl.SFTTrainer(model=tiny_model(tokenizer), args=trainer_args(trl.SFTConfig, tmp_path),
                             train_dataset=tokenized, processing_class=tokenizer)
    assert trainer.train_dataset["labels"] == tokenized["labels"]


def test_trl_dpo_prepares_the_pairs(load, exported, tokenizer, tmp_path):
    _, result = exported
    dataset = load(str(result.folder), "dpo", split="train")
    trainer = trl.DPOTrainer(model=tiny_model(tokenizer), ref_model=tiny_model(tokenizer),
                             args=trainer_args(trl.DPOConfig, tmp_path), train_dataset=dataset,
                             processing_class=tokenizer)
    prepared = trainer.train_dataset
    assert prepared.num_rows == dataset.num_rows
    for source, row in zip(dataset, prepared):
        assert row["chosen_ids"] != row["rejected_ids"]
        if source["chosen"][0]["content"]:
            assert tokenizer.decode(row["chosen_ids"], skip_special_tokens=True).startswith(
                tokenizer.decode(tokenizer.encode(source["chosen"][0]["content"], add_special_tokens=False)))


def test_trl_kto_prepares_labelled_answers(load, exported, tokenizer, tmp_path):
    _, result = exported
    dataset = load(str(result.folder), "kto", split="train")
    assert set(dataset["label"]) == {True, False}
    trainer = trl.KTOTrainer(model=tiny_model(tokenizer), ref_model=tiny_model(tokenizer),
                             args=trainer_args(trl.KTOConfig, tmp_path, per_device_train_batch_size=2),
                             train_dataset=dataset, processing_class=tokenizer)
    prepared = trainer.train_dataset
    assert prepared.num_rows == dataset.num_rows and prepared["label"] == dataset["label"]
    assert all(row["completion_ids"] for row in prepared)
