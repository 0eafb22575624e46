"""Work killed half way (kill -9) is put right by the next process that takes the workspace.

Each test kills a real command at the moment the defect needs: right after an ingest's records
commit, in the middle of a clustering run, in the middle of writing an export.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from mining.__main__ import main
from mining.detect import detect, failure_record_ids
from mining.export.partials import OWNER_FILE
from mining.recovery import recover
from mining.store import Workspace
from paths import ROOT


def killed_while(patch: str, *command: str) -> subprocess.CompletedProcess:
    """Run `python -m mining COMMAND` with `patch` applied first; the patch kills the process."""
    code = textwrap.dedent(f"""
        import os, signal, sys
        {patch}
        from mining.__main__ import main
        sys.exit(main(sys.argv[1:]))
    """)
    result = subprocess.run([sys.executable, "-c", code, *command], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == -9, result.stderr  # it really was killed where the patch says
    return result


KILL = "lambda *args, **kwargs: os.kill(os.getpid(), signal.SIGKILL)"


def test_records_whose_ingest_was_killed_before_detection_get_their_signals(tmp_path, fixtures):
    reference = tmp_path / "reference.duckdb"
    assert main(["ingest", str(fixtures / "openai_chat.jsonl"), "-q", "-w", str(reference)]) == 0
    expected = sorted(failure_record_ids(Workspace.open(reference)))
    Workspace.close_all()
    assert expected  # the log has failures to lose

    path = tmp_path / "killed.duckdb"
    killed_while(f"import mining.ingest.pipeline as pipeline; pipeline.detect = {KILL}",
                 "ingest", str(fixtures / "openai_chat.jsonl"), "-q", "-w", str(path))
    workspace = Workspace.open(path)
    assert workspace.cursor().execute("SELECT count(*) FROM records").fetchone()[0] == 36
    assert failure_record_ids(workspace) == []  # the state the kill left: records, no signals
    Workspace.close_all()

    again = subprocess.run([sys.executable, "-m", "mining", "ingest", str(fixtures / "openai_chat.jsonl"), "-q",
                            "-w", str(path)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "0 added" in again.stdout and "failure signals were out of date" in again.stderr
    assert sorted(failure_record_ids(Workspace.open(path))) == expected
    Workspace.close_all()


def test_a_settings_change_killed_before_detection_is_detected_on_the_next_start(workspace, fixtures):
    from mining.detect import SETTINGS_KEY, signal_settings
    from mining.ingest import ingest_paths
    from mining.settings import set_setting

    ingest_paths(workspace, [fixtures / "openai_chat.jsonl"])
    before = set(failure_record_ids(workspace))
    settings = signal_settings(workspace)
    settings.enabled = {name: False for name in settings.enabled}
    set_setting(workspace, SETTINGS_KEY, settings.__dict__)  # stored; detection never ran
    assert set(failure_record_ids(workspace)) == before
    assert any("out of date" in note for note in recover(workspace))
    assert failure_record_ids(workspace) == []
    assert recover(workspace) == []  # nothing left to repair


def test_a_clustering_run_killed_half_way_is_marked_failed_on_the_next_start(tmp_path, fixtures):
    path = tmp_path / "w.duckdb"
    assert main(["ingest", str(fixtures / "openai_chat.jsonl"), "-q", "-w", str(path)]) == 0
    Workspace.close_all()
    killed_while(f"import mining.cluster.run as cluster; cluster.vectors_for = {KILL}", "cluster", "-q", "-w", str(path))
    workspace = Workspace.open(path)
    (status,), = workspace.cursor().execute("SELECT status FROM cluster_runs").fetchall()
    assert status == "running"
    Workspace.close_all()
    result = subprocess.run([sys.executable, "-m", "mining", "info", "-w", str(path)], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "1 clustering run(s) marked failed" in result.stderr
    workspace = Workspace.open(path)
    status, message = workspace.cursor().execute("SELECT status, message FROM cluster_runs").fetchone()
    assert status == "failed" and message.startswith("interrupted")
    Workspace.close_all()


def test_a_running_clustering_run_of_a_live_process_is_left_alone(workspace):
    from mining.processes import this_process

    with workspace.transaction() as cursor:
        cursor.execute("INSERT INTO cluster_runs (run_id, started_at, algorithm, model_id, scope, status, owner)"
                       " VALUES ('live', now(), 'hdbscan', 'm', 'failures', 'running', ?)", [this_process()])
    assert recover(workspace) == []
    assert workspace.cursor().execute("SELECT status FROM cluster_runs").fetchone()[0] == "running"


def test_an_export_killed_half_way_leaves_no_partial_folder_after_the_next(tmp_path, fixtures):
    path = tmp_path / "w.duckdb"
    out = tmp_path / "exports"
    assert main(["ingest", str(fixtures / "openai_chat.jsonl"), "-q", "-w", str(path)]) == 0
    assert main(["review", "req_00001", "-w", str(path), "-r", "ann", "--verdict", "hard_example",
                 "--correction", "The right answer."]) == 0
    Workspace.close_all()
    killed_while(f"import mining.export.writer as writer; writer.dataset_card = {KILL}",
                 "export", "--kind", "sft", "--name", "fixes", "--out", str(out), "-q", "-w", str(path))
    partials = [child for child in out.iterdir() if ".partial-" in child.name]
    assert len(partials) == 1 and (partials[0] / OWNER_FILE).exists()
    assert main(["export", "--kind", "sft", "--name", "fixes", "--out", str(out), "-q", "-w", str(path)]) == 0
    Workspace.close_all()
    assert [child.name for child in out.iterdir()] == ["fixes-v1"]
    manifest = json.loads((out / "fixes-v1" / "manifest.json").read_text())
    assert manifest["version"] == 1


def test_a_partial_folder_of_a_live_export_is_kept(tmp_path):
    from mining.export.partials import remove_abandoned_exports
    from mining.processes import this_process

    partial = tmp_path / ".fixes-v1.partial-abc"
    partial.mkdir()
    (partial / OWNER_FILE).write_text(this_process())
    assert remove_abandoned_exports(tmp_path) == [] and partial.exists()
    (partial / OWNER_FILE).unlink()
    os.utime(partial, (0, 0))  # no owner and an hour old: abandoned by an older version
    assert remove_abandoned_exports(tmp_path) == [partial] and not partial.exists()


def test_detection_leaves_nothing_stale(workspace, fixtures):
    from mining.detect import signals_stale
    from mining.ingest import ingest_paths

    assert not signals_stale(workspace)
    ingest_paths(workspace, [fixtures / "openai_chat.jsonl"])
    assert not signals_stale(workspace)
    detect(workspace)
    assert not signals_stale(workspace)
