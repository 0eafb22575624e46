"""Before and after on the golden set (mining/train/golden_runs.py): the base, SFT and SFT+DPO models of a
training run answer the golden prompts locally, and each is scored as an evaluation run to compare."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from export_data import build
from mining.__main__ import main
from mining.evaluate.compare import compare_runs
from mining.evaluate.items import golden_set
from mining.evaluate.runs import list_runs
from mining.export.golden import add_golden
from mining.store import Workspace
from mining.train import TrainingError, TrainSettings, load_trained, train_from_export
from mining.train.golden_runs import GenerationSettings, answer_golden, evaluate_trained
from mining.train.run import load_tokenizer


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, export_folder, base_model) -> Path:
    out = tmp_path_factory.mktemp("golden") / "run"
    train_from_export(export_folder, out, TrainSettings(base_model=base_model, sft_epochs=1, batch_size=4))
    return out


@pytest.fixture
def with_golden(workspace: Workspace, tmp_path: Path) -> Workspace:
    ids = build(workspace, tmp_path)
    add_golden(workspace, [ids["golden-0"], ids["bill-2"], ids["net-1"], ids["ok-0"]], "ana")
    return workspace


def test_base_sft_and_dpo_each_answer_the_golden_set_and_are_scored(with_golden, trained_run, base_model):
    items = golden_set(with_golden).items
    summaries = evaluate_trained(with_golden, trained_run, base_model, "week-49", GenerationSettings(2, 8))
    assert [summary.name for summary in summaries] == ["week-49-base", "week-49-sft", "week-49-dpo"]
    assert all(summary.scored == len(items) and summary.source == "file" for summary in summaries)
    for model in ("base", "sft", "dpo"):
        rows = [json.loads(line) for line in (trained_run / "answers" / f"{model}.jsonl").read_text().splitlines()]
        assert [row["id"] for row in rows] == [item.record_id for item in items]
        assert all(isinstance(row["answer"], str) for row in rows)
    assert set(list_runs(with_golden)["name"]) >= {"week-49-base", "week-49-sft", "week-49-dpo"}
    comparison = compare_runs(with_golden, "week-49-base", "week-49-dpo")
    assert {delta.metric for delta in comparison.deltas} == {"accuracy", "omniscience_index", "hallucination_rate"}


def test_batched_generation_answers_as_one_prompt_at_a_time_does(with_golden, trained_run, base_model):
    """Left padding: a short prompt batched with a long one gets the same greedy answer as alone."""
    items = golden_set(with_golden).items
    model, tokenizer = load_trained(trained_run, base_model, "sft"), load_tokenizer(base_model)
    batched = answer_golden(model, tokenizer, items, GenerationSettings(batch_size=len(items), max_new_tokens=6))
    alone = answer_golden(model, tokenizer, items, GenerationSettings(batch_size=1, max_new_tokens=6))
    assert batched == alone and len(batched) == len(items)


def test_without_golden_items_or_adapters_it_says_what_to_do_first(workspace, trained_run, base_model, tmp_path):
    with pytest.raises(TrainingError, match="golden set has no item"):
        evaluate_trained(workspace, trained_run, base_model, "x")
    build(workspace, tmp_path)
    golden_record = workspace.cursor().execute("SELECT record_id FROM records WHERE source_id = 'bill-2'").fetchone()[0]
    add_golden(workspace, [golden_record], "ana")
    with pytest.raises(TrainingError, match="no trained adapter"):
        evaluate_trained(workspace, tmp_path, base_model, "x")


def test_the_train_eval_command(with_golden, trained_run, base_model, capsys):
    path = str(with_golden.path)
    Workspace.close_all()
    code = main(["--workspace", path, "train-eval", str(trained_run), "--base-model", str(base_model),
                 "--name", "cli", "--max-new-tokens", "4", "--quiet"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "cli-base (4 golden items): accuracy" in printed and "cli-dpo" in printed
    assert "faultline compare cli-base cli-dpo" in printed
