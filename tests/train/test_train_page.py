"""The Train page, run headless with AppTest: a lead trains on an export in the background, reads the
training card, and scores the trained models on the golden set; typed folders stay inside the app's."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from export_data import build, export_training_rows
from tiny_model import save_tiny_chat_model
from mining import jobs
from mining.evaluate.runs import list_runs
from mining.export.golden import add_golden
from paths import ROOT

PAGE = "views/train.py"


@pytest.fixture
def exported(workspace, tmp_path) -> tuple[Path, Path]:
    """An export of reviewed hard examples and a tiny base model, both inside the workspace's folder."""
    ids = build(workspace, tmp_path)
    add_golden(workspace, [ids["bill-2"], ids["net-1"]], "ana")
    export_training_rows(workspace, tmp_path / "exports")
    return tmp_path / "exports", save_tiny_chat_model(tmp_path / "base")


def start() -> AppTest:
    at = AppTest.from_file(ROOT / "app.py", default_timeout=120).run()
    at.switch_page(PAGE).run()
    assert not at.exception
    return at


def press(at: AppTest, label: str) -> None:
    next(button for button in at.button if button.label == label).click().run()
    assert not at.exception


def test_a_lead_trains_reads_the_card_and_scores_the_models_on_the_golden_set(workspace, exported, tmp_path):
    exports, base = exported
    at = start()
    assert at.selectbox(key="train_export").value.startswith("faultline-v1")
    at.text_input(key="train_base_model").input(str(base))
    at.text_input(key="train_run_folder").input(str(tmp_path / "runs" / "week-49"))
    at.number_input(key="train_sft_epochs").set_value(1.0)
    press(at, "Start training")
    assert jobs.wait(workspace, timeout=600).state == "finished"
    at.run()
    assert any(success.value.startswith("Trained SFT") for success in at.success)
    assert any("Export faultline-v1" in text.value for text in at.text)
    card = at.dataframe[0].value
    assert card["stage"].to_list() == ["SFT", "DPO"] and (card["steps"] > 0).all()
    at.text_input(key="train_eval_name").input("week-49")
    press(at, "Score on the golden set")
    state = jobs.wait(workspace, timeout=600)
    assert state.state == "finished", state.error
    assert set(list_runs(workspace)["name"]) == {"week-49-base", "week-49-sft", "week-49-dpo"}


def test_folders_outside_the_apps_folders_are_refused_and_nothing_starts(workspace, exported):
    at = start()
    at.text_input(key="train_base_model").input("/etc")
    press(at, "Start training")
    assert at.error and jobs.job_state(workspace) is None


def test_without_an_export_the_page_says_where_to_make_one(workspace):
    at = start()
    assert any("Export page" in info.value for info in at.info)


def test_a_training_card_that_is_not_faultlines_is_refused_as_text(workspace, exported, tmp_path):
    run = tmp_path / "runs" / "odd"
    run.mkdir(parents=True)
    (run / "training.json").write_text('{"export": "<img src=x onerror=alert(1)>"}', encoding="utf-8")
    at = start()
    at.text_input(key="train_run_folder").input(str(run))
    press(at, "Start training")  # a form's fields count once submitted; no base model: nothing starts
    assert jobs.job_state(workspace) is None
    assert any("not a training card Faultline can read" in warning.value for warning in at.warning)
    assert not any("<img" in text.value for text in at.text)
