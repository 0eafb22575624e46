"""The failure taxonomy: the default tags, add, rename (old names kept), describe, retire."""

from __future__ import annotations

import pytest

from mining import store
from mining.review import (UnknownTag, add_tag, describe_tag, list_tags, rename_tag, resolve_tag, retire_tag,
                           reviewer_state, save_review, tag_history)
from mining.store import Workspace
from review_data import load_calls

DEFAULT = {"hallucination", "wrong answer", "refusal", "verbosity", "format violation", "tool misuse",
           "instruction not followed", "unsafe", "incomplete", "should have abstained"}


def test_a_new_workspace_has_the_default_taxonomy(workspace):
    tags = list_tags(workspace)
    assert {tag.name for tag in tags} == DEFAULT
    assert all(tag.description and not tag.retired for tag in tags)
    assert resolve_tag(workspace, "Should Have Abstained").tag_id == "should_have_abstained"


def test_add_rename_describe_and_history(workspace, write_log, openai_line):
    ids = load_calls(workspace, write_log, openai_line, failing=1, passing=0)
    tag = add_tag(workspace, "  Wrong   tool  arguments ", "The right tool, called wrongly.", by="lead")
    assert (tag.tag_id, tag.name) == ("wrong_tool_arguments", "Wrong tool arguments")
    save_review(workspace, ids["f-0"], "ann", tags=["Wrong tool arguments"])

    renamed = rename_tag(workspace, "wrong_tool_arguments", "bad tool arguments", by="lead")
    assert renamed.tag_id == tag.tag_id and renamed.name == "bad tool arguments"
    assert resolve_tag(workspace, "wrong tool arguments").tag_id == tag.tag_id  # the old name still finds it
    assert reviewer_state(workspace, ids["f-0"], "ann").tags == (tag.tag_id,)  # reviews follow the id

    assert describe_tag(workspace, "bad tool arguments", "Arguments wrong.").description == "Arguments wrong."
    history = tag_history(workspace, tag.tag_id)
    assert [(h["action"], h["before"], h["after"], h["changed_by"]) for h in history] == [
        ("add", None, "Wrong tool arguments", "lead"),
        ("rename", "Wrong tool arguments", "bad tool arguments", "lead"),
        ("describe", "The right tool, called wrongly.", "Arguments wrong.", None)]

    again = add_tag(workspace, "wrong tool arguments")  # a former name may be reused by a new tag
    assert again.tag_id == "wrong_tool_arguments_2"
    assert resolve_tag(workspace, "wrong tool arguments").tag_id == again.tag_id  # a current name wins


def test_names_must_be_unique_and_present(workspace):
    with pytest.raises(UnknownTag, match="already"):
        add_tag(workspace, "Hallucination")
    with pytest.raises(UnknownTag, match="already"):
        rename_tag(workspace, "refusal", "unsafe")
    with pytest.raises(UnknownTag, match="empty"):
        add_tag(workspace, "   ")
    with pytest.raises(UnknownTag, match="no tag"):
        rename_tag(workspace, "nothing", "something")


def test_retire_hides_a_tag_from_new_reviews_and_restore_brings_it_back(workspace):
    retire_tag(workspace, "verbosity", by="lead")
    assert "verbosity" not in {tag.name for tag in list_tags(workspace, include_retired=False)}
    assert resolve_tag(workspace, "verbosity").retired
    retire_tag(workspace, "verbosity", retired=False)
    assert "verbosity" in {tag.name for tag in list_tags(workspace, include_retired=False)}
    assert [h["action"] for h in tag_history(workspace, "verbosity")] == ["add", "retire", "restore"]


def test_a_workspace_from_before_reviews_gains_the_review_tables(tmp_path, monkeypatch):
    path = tmp_path / "old.duckdb"
    with monkeypatch.context() as patch:
        patch.setattr(store, "MIGRATIONS", [m for m in store.MIGRATIONS if m[0] <= 2])
        patch.setattr(store, "SCHEMA_VERSION", 2)
        assert Workspace.open(path).schema_version() == 2
        Workspace.close_all()
    workspace = Workspace.open(path)
    try:
        assert workspace.schema_version() >= 3
        assert {tag.name for tag in list_tags(workspace)} == DEFAULT
        assert workspace.cursor().execute("SELECT count(*) FROM review_events").fetchone()[0] == 0
    finally:
        Workspace.close_all()
