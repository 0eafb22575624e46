"""The Export page, run headless with AppTest: preview, export and versions, redaction, errors, the golden set."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import ui
from mining.export.golden import golden_items
from mining.export.history import list_exports
from mining.review import save_review
from review_data import load_calls
from paths import ROOT

PAGE = "views/export.py"
EMAIL = "ana.lopez@example.com"


def start(reviewer: str | None = None) -> AppTest:
    """The app, switched to the Export page, with `reviewer` typed in the sidebar."""
    at = AppTest.from_file(ROOT / "app.py", default_timeout=120).run()
    assert not at.exception
    if reviewer is not None:
        at.session_state[ui.REVIEWER_KEY] = reviewer
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def click(at: AppTest, label: str, reviewer: str | None = "ana") -> AppTest:
    """Press a button; AppTest runs the page alone, without app.py's sidebar, so set the name again."""
    if reviewer is not None:
        at.session_state[ui.REVIEWER_KEY] = reviewer
    buttons = list(at.button) + list(at.get("form_submit_button"))
    next(widget for widget in buttons if widget.label == label).click().run()
    assert not at.exception, at.exception
    return at


def widget(elements, label: str):
    return next(element for element in elements if element.label == label)


def texts(at: AppTest) -> list[str]:
    return [element.value for element in at.text]


def metrics(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def table(at: AppTest, *columns: str):
    """The first dataframe that has all these columns, as pandas."""
    return next(frame.value for frame in at.dataframe if set(columns) <= set(frame.value.columns))


def alerts(elements) -> list[str]:
    """The text of st.warning / st.error / st.success / st.info elements, with ui.plain's escapes undone."""
    return [re.sub(r"\\(.)", r"\1", element.value).replace("  \n", "\n") for element in elements]


def json_bodies(at: AppTest) -> list:
    return [json.loads(element.value) for element in at.json]


@pytest.fixture
def reviewed(workspace, write_log, openai_line) -> dict[str, str]:
    """Six failing calls: f-0..f-3 hard examples with corrections (f-0's holds an e-mail address),
    f-4 a hard example without a correction yet, f-5 not reviewed."""
    ids = load_calls(workspace, write_log, openai_line)
    for i in range(4):
        correction = f"The right answer {i}." + (f" Write to {EMAIL} for help." if i == 0 else "")
        save_review(workspace, ids[f"f-{i}"], "ana", verdict="hard_example", correction=correction)
    save_review(workspace, ids["f-4"], "ana", verdict="hard_example")
    return ids


def out_dir(workspace) -> Path:
    return Path(workspace.path).parent / "exports"


def test_preview_shows_counts_and_the_validation_report_without_writing(workspace, reviewed):
    at = start("ana")
    assert widget(at.text_input, "Output folder").value == str(out_dir(workspace))
    assert widget(at.multiselect, "Dataset kinds").value == ["sft", "dpo", "kto", "corrections", "golden"]
    click(at, "Preview")
    assert metrics(at)["Records selected"] == "5"
    counts = table(at, "kind", "rows", "left_out", "problems").set_index("kind")
    assert counts.loc["sft", "rows"] == 4 and counts.loc["sft", "left_out"] == 1
    assert counts.loc["corrections", "rows"] == 4
    assert counts.loc["golden", "rows"] == 0  # no golden set yet
    report = table(at, "kind", "id", "reason", "problem")
    f4 = report[(report["kind"] == "sft") & (report["id"] == "f-4")]
    assert len(f4) == 1 and f4["problem"].iloc[0] == "no"
    assert "no correction yet" in f4["reason"].iloc[0]
    assert any("golden: no rows" in text for text in alerts(at.warning))
    first_sft_rows = next(body for body in json_bodies(at) if isinstance(body, list) and body and "prompt" in body[0])
    assert len(first_sft_rows) == 4 and first_sft_rows[0]["completion"][0]["role"] == "assistant"
    assert "Nothing has been written: press Export to write these files." in [c.value for c in at.caption]
    # A preview writes nothing: no folder, no export recorded.
    assert not out_dir(workspace).exists()
    assert list_exports(workspace).is_empty()
    assert "No exports yet." in texts(at)

    # A token limit too small for any row turns every row into a problem, listed as such.
    widget(at.number_input, "Token limit").set_value(5)
    at.run()
    assert "The options have changed since: press Preview to see what they give." in [c.value for c in at.caption]
    click(at, "Preview")
    report = table(at, "kind", "id", "reason", "problem")
    problems = report[report["problem"] == "yes"]
    assert set(problems["id"]) >= {"f-0", "f-1", "f-2", "f-3"}
    assert problems["reason"].str.contains("over the limit of 5").all()
    assert table(at, "kind", "rows", "left_out", "problems").set_index("kind").loc["sft", "rows"] == 0


def test_export_writes_versions_and_the_history_shows_what_changed(workspace, reviewed, tmp_path):
    target = tmp_path / "datasets"
    at = start("ana")
    widget(at.text_input, "Output folder").set_value(str(target))
    widget(at.text_input, "Dataset name").set_value("support")
    at.run()
    click(at, "Export")
    folder = target / "support-v1"
    assert (folder / "manifest.json").is_file() and (folder / "README.md").is_file()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert {"sft/train.jsonl", "sft/train.parquet", "corrections/records.jsonl"} <= set(manifest["files"])
    assert manifest["created_by"] == "ana"
    assert str(folder) in [code.value for code in at.code]
    assert [button.label for button in at.get("download_button")] == [ui.plain("Download support-v1.zip")]
    # The first rows are read back from the files, JSONL and Parquet alike.
    expanders = [expander.label for expander in at.expander]
    assert "First rows of sft/train.parquet" in expanders and "First rows of sft/train.jsonl" in expanders
    bodies = json_bodies(at)
    written = [json.loads(line) for line in (folder / "sft/train.jsonl").read_text().splitlines()]
    assert written[:5] in bodies
    assert any(body and body[0].get("prompt") == written[0]["prompt"] for body in bodies if isinstance(body, list))
    history = table(at, "name", "version", "rows")
    assert list(history["version"]) == [1]
    assert any("is the first version" in text for text in alerts(at.info))

    # f-4 gets its correction, f-1's correction is rewritten: v2 adds one record and changes one.
    save_review(workspace, reviewed["f-4"], "ana", correction="The right answer 4.")
    save_review(workspace, reviewed["f-1"], "ana", correction="A better answer 1.")
    click(at, "Export", reviewer="bo")
    assert (target / "support-v2" / "manifest.json").is_file()
    exports = list_exports(workspace)
    assert list(exports["version"]) == [2, 1] and list(exports["created_by"]) == ["bo", "ana"]
    assert widget(at.selectbox, "What changed in").value == exports["export_id"][0]
    assert "Changes from support v1 to support v2" in texts(at)
    diff = table(at, "kind", "added", "removed", "changed").set_index("kind")
    assert diff.loc["sft", "added"] == 1 and list(diff.loc["sft", "added_ids"]) == ["f-4"]
    assert diff.loc["sft", "changed"] == 1 and list(diff.loc["sft", "changed_ids"]) == ["f-1"]
    assert diff.loc["sft", "removed"] == 0 and diff.loc["sft", "unchanged"] == 3


def test_redaction_masks_an_email_in_a_correction_and_turning_it_off_warns(workspace, reviewed):
    at = start("ana")
    click(at, "Preview")
    previewed = json.dumps(json_bodies(at))
    assert EMAIL not in previewed and "[EMAIL_1]" in previewed
    masked = table(at, "kind", "masked")
    assert dict(zip(masked["kind"], masked["masked"]))["EMAIL"] >= 1
    assert not any("Redaction is off" in text for text in alerts(at.warning))

    widget(at.toggle, "Mask personal data and secrets").set_value(False)
    at.run()
    assert any("Redaction is off: personal data and secrets" in text for text in alerts(at.warning))
    click(at, "Preview")
    assert EMAIL in json.dumps(json_bodies(at))
    assert any("redaction is OFF" in text for text in alerts(at.warning))


def test_a_bad_request_shows_the_reason_and_writes_nothing(workspace, reviewed, tmp_path):
    at = start("ana")
    widget(at.multiselect, "Dataset kinds").set_value(["sft-tokenized"])
    at.run()
    click(at, "Preview")
    assert any("sft-tokenized needs a tokenizer" in text for text in alerts(at.error))
    assert not at.metric  # no preview is shown

    widget(at.text_input, "Tokenizer folder").set_value(str(tmp_path / "no-such-tokenizer"))
    at.run()
    click(at, "Preview")
    assert len(at.error) == 1 and "no-such-tokenizer" in alerts(at.error)[0]

    widget(at.multiselect, "Dataset kinds").set_value(["sft"])
    widget(at.text_input, "Tokenizer folder").set_value("")
    widget(at.text_input, "Dataset name").set_value("bad name/..")
    widget(at.text_input, "Output folder").set_value(str(tmp_path / "out"))
    at.run()
    click(at, "Export")
    assert any("dataset name" in text for text in alerts(at.error))
    assert list_exports(workspace).is_empty()
    assert not any((tmp_path / "out").glob("*"))


def test_golden_items_are_added_by_id_unknown_ids_reported_and_removed(workspace, reviewed):
    at = start("ana")
    assert "The golden set is empty." in texts(at)
    widget(at.text_area, "Record ids to add").set_value("f-0, f-1\nnope f-0")
    click(at, "Add to the golden set")
    items = golden_items(workspace)
    assert sorted(item["source_id"] for item in items) == ["f-0", "f-1"]
    assert {item["added_by"] for item in items} == {"ana"} and {item["method"] for item in items} == {"hand"}
    assert any("Added 2 records to the golden set." in text for text in alerts(at.success))
    assert any("No record has the id: nope" in text for text in alerts(at.warning))
    shown = table(at, "source_id", "method", "request")
    assert sorted(shown["source_id"]) == ["f-0", "f-1"]

    # Adding one again says so; a record id works as well as the source's id.
    widget(at.text_area, "Record ids to add").set_value(reviewed["f-1"])
    click(at, "Add to the golden set")
    assert any("Added 0 records to the golden set (1 was in it already)." in text for text in alerts(at.success))

    # The golden items are kept out of training kinds and become the golden kind.
    click(at, "Preview")
    counts = table(at, "kind", "rows", "left_out", "problems").set_index("kind")
    assert counts.loc["golden", "rows"] == 2 and counts.loc["sft", "rows"] == 2
    report = table(at, "kind", "id", "reason", "problem")
    assert set(report[report["reason"].str.startswith("golden item")]["id"]) == {"f-0", "f-1"}

    frame = next(frame for frame in at.dataframe if "source_id" in frame.value.columns)
    row = list(frame.value["source_id"]).index("f-0")
    at.session_state["export_golden_table"] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    at.run()
    click(at, "Remove 1 selected from the golden set")
    assert [item["source_id"] for item in golden_items(workspace)] == ["f-1"]
    assert any("Removed 1 record from the golden set." in text for text in alerts(at.success))


def test_a_golden_size_draws_items_in_the_preview_and_the_export_stores_them(workspace, reviewed, tmp_path):
    at = start("ana")
    widget(at.number_input, "Golden set size").set_value(2)
    widget(at.text_input, "Output folder").set_value(str(tmp_path / "out"))
    at.run()
    click(at, "Preview")
    drawn = next(text for text in texts(at) if text.startswith("Golden items drawn by the hold-out (2): "))
    assert metrics(at)["Golden items"] == "2"
    assert golden_items(workspace) == []  # a preview stores nothing
    click(at, "Export")
    stored = sorted(item["source_id"] for item in golden_items(workspace))
    assert len(stored) == 2 and {item["method"] for item in golden_items(workspace)} == {"holdout"}
    assert sorted(drawn.split(": ", 1)[1].split(", ")) == stored
    manifest = json.loads((tmp_path / "out" / "faultline-v1" / "manifest.json").read_text())
    assert manifest["kinds"]["golden"]["rows"] == 2 and manifest["kinds"]["sft"]["rows"] == 2
