"""The review and annotations commands: one review from a script, export and import, exit codes."""

from __future__ import annotations

import json

import pytest

from mining.__main__ import main
from mining.review import reviewer_state
from mining.store import Workspace
from review_data import load_calls


@pytest.fixture
def path(workspace, write_log, openai_line):
    """A workspace file with calls f-0..f-5 failing and p-0, p-1 passing, closed so commands can open it."""
    load_calls(workspace, write_log, openai_line)
    Workspace.close_all()
    return str(workspace.path)


def _record_id(path: str, source_id: str) -> str:
    return Workspace.open(path).cursor().execute(
        "SELECT record_id FROM records WHERE source_id = ?", [source_id]).fetchone()[0]


def test_review_by_source_id_with_every_field(path, tmp_path, capsys):
    (tmp_path / "fix.txt").write_text("The answer it should have given.\n", encoding="utf-8")
    assert main(["-w", path, "review", "f-1", "--reviewer", "ann", "--verdict", "hard_example", "--tag",
                 "hallucination", "--tag", "Wrong Answer", "--correction-file", str(tmp_path / "fix.txt"),
                 "--note", "from a script", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["source_id"] == "f-1" and [e["action"] for e in out["events"]] == ["verdict", "tags", "correction",
                                                                                  "note"]
    assert out["state"]["tags"] == ["hallucination", "wrong_answer"]
    state = reviewer_state(Workspace.open(path), _record_id(path, "f-1"), "ann")
    assert state.correction == "The answer it should have given." and state.note == "from a script"  # no newline
    Workspace.close_all()

    record_id = _record_id(path, "f-1")
    Workspace.close_all()
    assert main(["-w", path, "review", record_id, "--reviewer", "ann", "--verdict", "unsure"]) == 0
    assert "f-1: 1 change recorded for ann; verdict unsure" in capsys.readouterr().out


def test_review_refuses_unknown_ids_tags_and_empty_reviews(path, capsys):
    assert main(["-w", path, "review", "nope", "--reviewer", "ann", "--verdict", "skip"]) == 1
    assert capsys.readouterr().err.strip() == "error: no record with id 'nope'"
    assert main(["-w", path, "review", "f-0", "--reviewer", "ann", "--tag", "not a tag"]) == 1
    assert capsys.readouterr().err.strip() == "error: no tag 'not a tag' in the taxonomy"
    assert main(["-w", path, "review", "f-0", "--reviewer", "ann"]) == 2
    assert capsys.readouterr().err.startswith("error: nothing to record")
    with pytest.raises(SystemExit) as exit_:
        main(["-w", path, "review", "f-0", "--reviewer", "ann", "--verdict", "great"])
    assert exit_.value.code == 2
    assert Workspace.open(path).cursor().execute("SELECT count(*) FROM review_events").fetchone()[0] == 0
    Workspace.close_all()


def test_annotations_export_then_import_elsewhere_twice(path, tmp_path, write_log, openai_line, capsys):
    assert main(["-w", path, "review", "f-0", "-r", "ann", "--verdict", "hard_example", "-c", "Fixed."]) == 0
    assert main(["-w", path, "review", "f-2", "-r", "bob", "--verdict", "not_a_failure"]) == 0
    file = str(tmp_path / "annotations.jsonl")
    capsys.readouterr()
    assert main(["-w", path, "annotations", "export", file, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["events"] == 3

    other = Workspace.open(tmp_path / "other.duckdb")
    load_calls(other, write_log, openai_line, failing=1, passing=0, name="part.jsonl")  # f-0 only
    Workspace.close_all()
    other_path = str(tmp_path / "other.duckdb")
    assert main(["-w", other_path, "annotations", "import", file]) == 0
    out = capsys.readouterr().out
    assert "3 events read, 3 added, 0 already present" in out
    assert "1 event is for 1 record this workspace does not hold" in out
    assert main(["-w", other_path, "annotations", "import", file, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["events_added"], report["events_present"]) == (0, 3)
    state = reviewer_state(Workspace.open(other_path), _record_id(other_path, "f-0"), "ann")
    assert (state.verdict, state.correction) == ("hard_example", "Fixed.")
    Workspace.close_all()

    (tmp_path / "bad.jsonl").write_text("{}\n", encoding="utf-8")
    assert main(["-w", other_path, "annotations", "import", str(tmp_path / "bad.jsonl")]) == 1
    assert "line 1 is not an annotation" in capsys.readouterr().err
