"""The export and golden commands: the folder on stdout, filters, --json, replay, the golden set by hand."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from export_data import build
from mining.__main__ import main
from mining.export.golden import golden_items
from mining.store import Workspace
from paths import ROOT


@pytest.fixture
def path(workspace, tmp_path):
    """The hand-made reviewed workspace, closed so that commands can open it."""
    build(workspace, tmp_path)
    Workspace.close_all()
    return str(workspace.path)


def test_export_prints_only_the_folder_it_wrote(path, tmp_path):
    out = tmp_path / "datasets"
    done = subprocess.run([sys.executable, "-m", "mining", "-w", path, "export", "--kind", "sft", "--kind", "dpo",
                           "--kind", "golden", "--out", str(out), "--golden-size", "2", "--by", "ana"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str((out / "faultline-v1").resolve())
    assert "sft" in done.stderr and "rows" in done.stderr and "masked" in done.stderr
    folder = Path(done.stdout.strip())
    assert {p.name for p in folder.iterdir()} == {"sft", "dpo", "golden", "README.md", "manifest.json"}
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["created_by"] == "ana" and len(manifest["golden"]) == 2


def test_export_filters_json_report_and_replay(path, tmp_path, capsys):
    out = tmp_path / "datasets"
    assert main(["-w", path, "export", "-k", "corrections", "--out", str(out), "--tag", "Tool misuse",
                 "--format", "jsonl", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["version"] == 1 and report["kinds"]["corrections"]["rows"] == 1
    assert list(report["files"]) == ["corrections/records.jsonl"]
    assert main(["-w", path, "export", "--manifest", report["folder"], "--out", str(out), "-q"]) == 0
    replayed = Path(capsys.readouterr().out.strip())
    assert replayed.name == "faultline-v2"
    assert (replayed / "corrections/records.jsonl").read_bytes() == (
        Path(report["folder"]) / "corrections/records.jsonl").read_bytes()


def test_export_refuses_bad_requests_with_one_line(path, tmp_path, capsys):
    assert main(["-w", path, "export", "--out", str(tmp_path)]) == 1
    assert capsys.readouterr().err.startswith("error: choose what to export with --kind")
    assert main(["-w", path, "export", "-k", "sft-tokenized", "--out", str(tmp_path)]) == 1
    assert "needs a tokenizer" in capsys.readouterr().err
    assert main(["-w", path, "export", "-k", "sft", "--tag", "nope", "--out", str(tmp_path)]) == 1
    assert capsys.readouterr().err.strip() == "error: no tag 'nope' in the taxonomy"
    assert main(["-w", path, "export", "-k", "sft", "--since", "last week", "--out", str(tmp_path)]) == 1
    assert "is not a date" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["-w", path, "export", "-k", "sft3", "--out", str(tmp_path)])
    assert exit_.value.code == 2
    assert not any(tmp_path.glob("faultline-v*"))


def test_a_mode_that_does_not_exist_is_named_not_an_empty_export(path, tmp_path, capsys):
    assert main(["-w", path, "export", "-k", "sft", "--cluster", "99", "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no failure mode 99") and "0, 1" in err and "-1 (unclustered)" in err
    assert not (tmp_path / "out").exists()
    assert main(["-w", path, "export", "-k", "sft", "--cluster", "0", "--cluster", "-1", "--out", str(tmp_path / "out"),
                 "-q"]) == 0  # a real mode and "unclustered" still pass


def test_an_export_folder_whose_parent_does_not_exist_is_refused_not_made(path, tmp_path, capsys):
    out = tmp_path / "typo" / "datasets"
    assert main(["-w", path, "export", "-k", "sft", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "does not exist" in err and str(out.parent) in err and not out.parent.exists()
    assert main(["-w", path, "export", "-k", "sft", "--out", str(tmp_path / "datasets"), "-q"]) == 0  # one new level


def test_golden_add_list_and_remove_by_source_id(path, capsys):
    assert main(["-w", path, "golden", "add", "net-1", "bill-2", "--by", "ana"]) == 0
    assert capsys.readouterr().out.strip() == "2 added to the golden set, 0 already in it; it now holds 2"
    assert main(["-w", path, "golden", "add", "net-1", "missing-9"]) == 1
    assert capsys.readouterr().err.strip() == "error: no record with id 'missing-9'"
    assert main(["-w", path, "golden", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert sorted(item["source_id"] for item in listed) == ["bill-2", "net-1"]
    assert {item["method"] for item in listed} == {"hand"} and {item["added_by"] for item in listed} == {"ana"}
    assert main(["-w", path, "golden", "remove", "net-1"]) == 0
    capsys.readouterr()
    assert [item["source_id"] for item in golden_items(Workspace.open(path))] == ["bill-2"]
    Workspace.close_all()
