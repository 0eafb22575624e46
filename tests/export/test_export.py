"""The export library on a hand-made reviewed workspace: each kind's rows, golden set, leakage,
redaction, validation, versioned folders, the dataset card, history and replay from a manifest."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from export_data import PII_FIELDS, SECRETS, build
from mining.export.golden import add_golden, golden_ids, golden_items, remove_golden, stratified_pick
from mining.export.history import diff_exports, list_exports, previous_version
from mining.export.plan import ExportError, ExportRequest, plan_export, replay_request
from mining.export.selection import ExportFilter, select_examples
from mining.export.tokens import TokenizerError
from mining.export.writer import make_export, read_manifest
from mining.review import save_review
from mining.store import Workspace

ALL_KINDS = ("sft", "sft-openai", "dpo", "dpo-openai", "kto", "corrections", "golden")


@pytest.fixture
def ids(workspace: Workspace, tmp_path: Path) -> dict[str, str]:
    return build(workspace, tmp_path)


def rows(folder: Path, path: str) -> list[dict]:
    return [json.loads(line) for line in (folder / path).read_text(encoding="utf-8").splitlines()]


def by_source(result, kind: str, ids: dict[str, str]) -> dict[str, list[dict]]:
    """A kind's written rows grouped by the source id of the record they came from."""
    source_of = {record_id: source for source, record_id in ids.items()}
    config = result.manifest["kinds"][kind]
    written = rows(result.folder, f"{config['config']}/{config['split']}.jsonl")
    grouped: dict[str, list[dict]] = {}
    for record_id, row in zip(config["records"], written):
        grouped.setdefault(source_of[record_id], []).append(row)
    return grouped


def left_out(result, kind: str) -> dict[str, str]:
    return {row["id"]: row["reason"] for row in result.manifest["kinds"][kind]["left_out"]}


def export(workspace: Workspace, out: Path, kinds=ALL_KINDS, **options):
    return make_export(workspace, ExportRequest(kinds=tuple(kinds), **options), out)


def test_sft_rows_teach_the_correction_after_the_whole_prompt(workspace, ids, tmp_path):
    _, result = export(workspace, tmp_path / "out", ["sft"])
    sft = by_source(result, "sft", ids)
    [bill] = sft["bill-1"]
    assert bill["prompt"][0]["role"] == "system" and bill["prompt"][-1] == {
        "role": "user", "content": "How can I get a refund for an annual subscription I cancelled yesterday?"}
    assert bill["completion"] == [{"role": "assistant", "content": "The correct answer for bill-1."}]
    [multi] = sft["multi-0"]
    assert [m["role"] for m in multi["prompt"]] == ["system", "user", "assistant", "user"]
    [tool] = sft["tool-0"]
    assert json.loads(tool["tools"])[0]["function"]["name"] == "restart_vm"
    call = tool["completion"][0]["tool_calls"][0]["function"]
    assert call["name"] == "create_ticket" and json.loads(call["arguments"]) == {
        "priority": "high", "subject": "vm-7 keeps rebooting, reply to [EMAIL_1]"}
    assert left_out(result, "sft")["nocorr-0"].startswith("no correction yet")


def test_openai_messages_train_only_the_corrected_final_answer(workspace, ids, tmp_path):
    _, result = export(workspace, tmp_path / "out", ["sft-openai"])
    [multi] = by_source(result, "sft-openai", ids)["multi-0"]
    assistants = [m for m in multi["messages"] if m["role"] == "assistant"]
    assert [m["weight"] for m in assistants] == [0, 1]
    assert assistants[-1]["content"] == "The correct answer for multi-0." and multi["messages"][-1] is not None
    assert set(multi) == {"messages"}
    [tool] = by_source(result, "sft-openai", ids)["tool-0"]
    assert tool["tools"][1]["function"]["name"] == "create_ticket"
    final = tool["messages"][-1]
    assert final["tool_calls"][0]["id"] == "call_1" and final["tool_calls"][0]["type"] == "function"
    assert isinstance(final["tool_calls"][0]["function"]["arguments"], str)


def test_dpo_pairs_prefer_the_correction_to_the_models_answer(workspace, ids, tmp_path):
    _, result = export(workspace, tmp_path / "out", ["dpo", "dpo-openai"])
    [pair] = by_source(result, "dpo", ids)["net-2"]
    assert pair["chosen"] == [{"role": "assistant", "content": "The correct answer for net-2."}]
    assert pair["rejected"] == [{"role": "assistant", "content": "Wrong answer about net-2."}]
    reasons = left_out(result, "dpo")
    assert reasons["same-0"] == "the correction is the model's own answer"
    assert reasons["nocorr-0"].startswith("no correction yet")
    assert "ok-0" not in reasons  # not selected at all: the default filter is hard examples
    [openai_pair] = by_source(result, "dpo-openai", ids)["net-2"]
    assert set(openai_pair) == {"input", "preferred_output", "non_preferred_output"}
    assert openai_pair["input"]["messages"][-1]["content"].startswith("DNS for my custom domain")
    assert openai_pair["preferred_output"][0]["content"] == "The correct answer for net-2."
    [tool_pair] = by_source(result, "dpo-openai", ids)["tool-0"]
    assert tool_pair["input"]["tools"][0]["function"]["name"] == "restart_vm"
    assert tool_pair["non_preferred_output"][0]["tool_calls"][0]["function"]["name"] == "restart_vm"


def test_kto_labels_come_from_verdicts_and_thumbs(workspace, ids, tmp_path):
    verdicts = ExportFilter(verdicts=("hard_example", "not_a_failure", "unsure"))
    _, result = export(workspace, tmp_path / "out", ["kto"], filter=verdicts)
    kto = by_source(result, "kto", ids)
    assert [(row["completion"][0]["content"], row["label"]) for row in kto["net-1"]] == [
        ("Wrong answer about net-1.", False), ("The correct answer for net-1.", True)]
    assert [row["label"] for row in kto["ok-0"]] == [True]
    assert [row["label"] for row in kto["unsure-0"]] == [False]  # unsure: the user's thumbs down decides
    assert [row["label"] for row in kto["nocorr-0"]] == [False]
    assert [row["label"] for row in kto["same-0"]] == [False]


def test_correction_records_carry_full_provenance(workspace, ids, tmp_path):
    _, result = export(workspace, tmp_path / "out", ["corrections"])
    [record] = by_source(result, "corrections", ids)["bill-0"]
    assert record["id"] == "bill-0" and record["record_id"] == ids["bill-0"]
    assert record["source"]["format"] == "openai" and record["source"]["file"].endswith("export_calls.jsonl")
    assert record["time"].startswith("2026-11-01") and record["model"] == "gpt-test"
    assert record["model_output"]["text"] == "Wrong answer about bill-0."
    assert record["correction"]["text"] == "The correct answer for bill-0."
    assert record["tags"] == ["wrong_answer"] and record["cluster"] == {"id": 0, "name": "mode 0"}
    assert record["reviewers"] == ["ana", "bo"] and record["agreement"] == "agreed"
    assert {signal["signal"] for signal in record["signals"]} >= {"negative_feedback"}
    [tool] = by_source(result, "corrections", ids)["tool-0"]
    assert tool["correction"]["tool_calls"][0]["function"]["name"] == "create_ticket"


def test_filters_select_by_tag_mode_time_reviewer_and_agreement(workspace, ids):
    def selected(**filters) -> set[str]:
        source_of = {record_id: source for source, record_id in ids.items()}
        return {source_of[e.record_id] for e in select_examples(workspace, ExportFilter(**filters))}

    assert selected(tags=("tool_misuse",)) == {"tool-0"}
    assert selected(clusters=(1,)) == {"net-0", "net-1", "net-2", "net-3", "tool-0", "same-0", "nocorr-0"}
    assert selected(reviewers=("bo",)) == selected(agreed_only=True) == {"bill-0"}
    assert selected(since=datetime(2026, 11, 20, tzinfo=timezone.utc)) == {"multi-0", "tool-0", "pii-0"}
    assert selected(verdicts=("not_a_failure",)) == {"ok-0", "ok-1"}


def test_the_golden_holdout_is_stratified_across_modes_and_stays_out_of_training(workspace, ids, tmp_path):
    plan = plan_export(workspace, ExportRequest(kinds=("sft",), golden_size=2))
    assert golden_ids(workspace) == []  # a preview stores nothing
    modes = {example.record_id: example.cluster_id for example in plan.examples}
    assert sorted(modes[record_id] for record_id in plan.golden_added) == [0, 1]
    _, result = export(workspace, tmp_path / "out", ["sft", "golden"], golden_size=2)
    assert sorted(golden_ids(workspace)) == sorted(plan.golden_added)
    assert {item["method"] for item in golden_items(workspace)} == {"holdout"}
    trained = set(result.manifest["kinds"]["sft"]["records"])
    assert trained.isdisjoint(golden_ids(workspace))
    assert sorted(result.manifest["kinds"]["golden"]["records"]) == sorted(golden_ids(workspace))
    _, again = export(workspace, tmp_path / "out", ["golden"], golden_size=2)
    assert again.manifest["golden_added"] == [] and sorted(again.manifest["golden"]) == sorted(golden_ids(workspace))


def test_the_holdout_draws_golden_items_from_distinct_requests_so_training_keeps_its_rows(workspace, ids):
    """The demo's first preview had no training row: golden items sat among near duplicates of
    everything reviewed in their modes. A request asked three ways is never the one drawn."""
    plan = plan_export(workspace, ExportRequest(kinds=("sft",), golden_size=2))
    source_of = {record_id: source for source, record_id in ids.items()}
    assert not {source_of[record_id] for record_id in plan.golden_added} & {"golden-0", "near-0", "exact-0"}
    assert plan.leaks == [] and not any("leak guard" in warning for warning in plan.warnings)
    add_golden(workspace, [ids["golden-0"]], "ana")  # the same request chosen by hand: its twins are guarded
    guarded = plan_export(workspace, ExportRequest(kinds=("sft",)))
    assert {leak.source_id for leak in guarded.leaks} == {"near-0", "exact-0"}
    note = next(warning for warning in guarded.warnings if "leak guard" in warning)
    assert "kept 2 rows out" in note and "a smaller golden set" in note and "higher near-duplicate threshold" in note


def test_stratified_pick_gives_each_mode_its_share(workspace, ids):
    examples = select_examples(workspace, ExportFilter())
    picked = stratified_pick(examples, 5)
    modes = {example.record_id: example.cluster_id for example in examples}
    counts = [sum(1 for record_id in picked if modes[record_id] == mode) for mode in (0, 1)]
    assert len(picked) == 5 and min(counts) >= 1 and counts[0] >= counts[1]  # mode 0 is the larger one
    assert picked == stratified_pick(examples, 5)


def test_exact_and_near_duplicates_of_a_golden_input_never_reach_training(workspace, ids, tmp_path):
    add_golden(workspace, [ids["golden-0"]], "ana")
    plan, result = export(workspace, tmp_path / "out", ["sft", "dpo", "kto", "golden"])
    leaks = {leak.source_id: leak for leak in plan.leaks}
    assert set(leaks) == {"near-0", "exact-0"}
    assert leaks["exact-0"].exact and leaks["near-0"].similarity >= 0.92 and leaks["near-0"].golden_id == "golden-0"
    for kind in ("sft", "dpo", "kto"):
        trained = set(result.manifest["kinds"][kind]["records"])
        assert not trained & {ids["golden-0"], ids["near-0"], ids["exact-0"]}
        assert "near duplicate of golden item golden-0" in left_out(result, kind)["near-0"]
    assert {leak["id"] for leak in result.manifest["leaks"]} == {"near-0", "exact-0"}
    strict = plan_export(workspace, ExportRequest(kinds=("sft",), leak_threshold=0.9999))
    assert {leak.source_id for leak in strict.leaks} == {"exact-0"}  # the threshold decides near ones only
    remove_golden(workspace, [ids["golden-0"]])
    assert plan_export(workspace, ExportRequest(kinds=("sft",))).leaks == []


def test_every_kind_of_secret_in_every_field_is_masked_consistently(workspace, ids, tmp_path):
    plan, result = export(workspace, tmp_path / "out")
    written = "".join(path.read_text(encoding="utf-8") for path in result.folder.rglob("*.jsonl"))
    written += (result.folder / "README.md").read_text(encoding="utf-8")
    for kind, value in SECRETS.items():
        assert value not in written, kind
    [sft] = by_source(result, "sft", ids)["pii-0"]
    [record] = by_source(result, "corrections", ids)["pii-0"]
    fields = dict(zip(PII_FIELDS, (sft["prompt"][-1]["content"], record["model_output"]["text"],
                                   sft["completion"][0]["content"], record["note"])))
    for field, text in fields.items():
        for kind in SECRETS:  # the same value has the same placeholder in every field and file
            assert f"[{kind}_1]" in text, (field, kind)
    # question, request text (the question again), output, correction, note; + the tool call's argument
    assert plan.redaction == {kind: 5 for kind in SECRETS} | {"EMAIL": 6}
    assert plan.redaction_distinct == {kind: 1 for kind in SECRETS}
    [tool] = by_source(result, "corrections", ids)["tool-0"]
    assert "[EMAIL_1]" in tool["correction"]["tool_calls"][0]["function"]["arguments"]
    assert record["input"][-1]["content"] == fields["question"]
    assert result.manifest["redaction"]["masked"] == plan.redaction


def test_redaction_can_be_turned_off_with_a_warning(workspace, ids, tmp_path):
    plan, result = export(workspace, tmp_path / "out", ["corrections"], redact=False)
    assert any("redaction is OFF" in warning for warning in plan.warnings)
    assert SECRETS["EMAIL"] in (result.folder / "corrections/records.jsonl").read_text(encoding="utf-8")
    assert "Redaction was turned off" in (result.folder / "README.md").read_text(encoding="utf-8")


def test_rows_that_fail_validation_are_left_out_with_the_reason(workspace, ids, tmp_path):
    _, result = export(workspace, tmp_path / "out", ["sft", "sft-openai"])
    for kind in ("sft", "sft-openai"):
        problems = {row["id"]: row["reason"] for row in result.manifest["kinds"][kind]["left_out"] if row["problem"]}
        assert set(problems) == {"empty-0"}
        assert "empty content" in problems["empty-0"]
    tight = plan_export(workspace, ExportRequest(kinds=("sft",), max_tokens=30))
    over = [row for row in tight.kinds["sft"].left_out if "over the limit of 30" in row.reason]
    assert over and all(row.problem for row in over)
    assert all(tokens <= 30 for tokens in tight.kinds["sft"].tokens)
    assert len(over) + len(tight.kinds["sft"].rows) == len(
        plan_export(workspace, ExportRequest(kinds=("sft",))).kinds["sft"].rows) + 1  # + the empty one
    assert any("at least 10 examples" in warning
               for warning in plan_export(workspace, ExportRequest(kinds=("sft-openai",), filter=ExportFilter(
                   tags=("tool_misuse",)))).warnings)


def test_versions_card_manifest_and_history(workspace, ids, tmp_path):
    out = tmp_path / "out"
    add_golden(workspace, [ids["golden-0"]], "ana")
    _, first = export(workspace, out, name="support")
    assert first.folder == (out / "support-v1").resolve() and first.version == 1
    card = (first.folder / "README.md").read_text(encoding="utf-8")
    header = yaml.safe_load(card.split("---")[1])
    configs = {config["config_name"]: config["data_files"][0] for config in header["configs"]}
    assert configs["sft"] == {"split": "train", "path": "sft/train.jsonl"}
    assert configs["golden"]["split"] == "test" and header["task_categories"] == ["text-generation"]
    assert "| sft |" in card and "mode 0" in card and "wrong answer" in card
    manifest = read_manifest(first.folder)
    assert manifest["workspace_id"] and manifest["faultline_version"]
    assert {"sft/train.jsonl", "sft/train.parquet", "golden/test.jsonl"} <= set(manifest["files"])
    for path, entry in manifest["files"].items():
        assert (first.folder / path).stat().st_size == entry["bytes"]
    save_review(workspace, ids["net-3"], "ana", correction="A better answer for net-3.")
    save_review(workspace, ids["nocorr-0"], "ana", correction="Yes, from the Reservations page.")
    _, second = export(workspace, out, name="support")
    assert second.version == 2 and previous_version(workspace, second.export_id) == first.export_id
    diff = {d.kind: d for d in diff_exports(workspace, first.export_id, second.export_id)}
    assert diff["sft"].added == ("nocorr-0",) and diff["sft"].changed == ("net-3",) and diff["sft"].removed == ()
    history = list_exports(workspace, "support")
    assert history["version"].to_list() == [2, 1]
    items = workspace.cursor().execute(
        "SELECT count(*) FROM export_items WHERE export_id = ? AND kind = 'sft' AND status = 'written'",
        [second.export_id]).fetchone()[0]
    assert items == second.manifest["kinds"]["sft"]["rows"]


def test_replaying_a_manifest_gives_byte_identical_files(workspace, ids, tmp_path):
    add_golden(workspace, [ids["golden-0"]], "ana")
    _, first = export(workspace, tmp_path / "out", golden_size=3)
    save_review(workspace, ids["ok-1"], "ana", verdict="hard_example", correction="A new hard example.")
    _, replayed = make_export(workspace, replay_request(read_manifest(first.folder)), tmp_path / "out")
    assert replayed.version == 2 and replayed.manifest["selected"] == first.manifest["selected"]
    assert replayed.manifest["files"] == first.manifest["files"]
    for path in first.manifest["files"]:
        assert (first.folder / path).read_bytes() == (replayed.folder / path).read_bytes()


def test_requests_that_cannot_work_are_refused_with_the_reason(workspace, ids, tmp_path):
    with pytest.raises(ExportError, match="unknown dataset kind 'sft2'"):
        plan_export(workspace, ExportRequest(kinds=("sft2",)))
    with pytest.raises(ExportError, match="needs a tokenizer"):
        plan_export(workspace, ExportRequest(kinds=("sft-tokenized",)))
    with pytest.raises(TokenizerError, match="does not exist"):
        plan_export(workspace, ExportRequest(kinds=("sft-tokenized",), tokenizer=str(tmp_path / "missing")))
    with pytest.raises(ExportError, match="dataset name"):
        export(workspace, tmp_path / "out", ["sft"], name="../escape")
    assert not (tmp_path / "escape-v1").exists() and list_exports(workspace).is_empty()


def test_an_export_with_no_rows_makes_no_version_and_an_empty_manifest_is_not_replayed(workspace, ids, tmp_path):
    with pytest.raises(ExportError, match="nothing to write"):
        export(workspace, tmp_path / "out", ["sft"], filter=ExportFilter(tags=("unsafe",)))
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    assert list_exports(workspace).is_empty()
    _, written = export(workspace, tmp_path / "out", ["sft"])
    with pytest.raises(ExportError, match="selected no records"):
        replay_request({**written.manifest, "selected": []})
