"""The command line contract: commands, --workspace everywhere, JSON output, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from paths import ROOT


def cli(*args: str, env_workspace: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "FAULTLINE_WORKSPACE"}
    if env_workspace:
        env["FAULTLINE_WORKSPACE"] = str(env_workspace)
    return subprocess.run([sys.executable, "-m", "mining", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_ingest_then_info_json(tmp_path, fixtures):
    workspace = tmp_path / "w.duckdb"
    result = cli("ingest", str(fixtures / "openai_chat.jsonl"), str(fixtures / "broken_openai_chat.jsonl"),
                 "--workspace", str(workspace), "--quiet")
    assert result.returncode == 0, result.stderr
    # the broken sample's 4 bad lines, and its req_00004, a different call under an id the first file holds
    assert "36 added" in result.stdout and "5 quarantined" in result.stdout
    assert "quarantined line 2: not valid JSON" in result.stdout
    assert "quarantined line 9: id 'req_00004' already holds a different call" in result.stdout
    info = cli("--workspace", str(workspace), "info", "--json")
    assert info.returncode == 0
    summary = json.loads(info.stdout)
    assert (summary["records"], summary["quarantined"]) == (36, 5)
    assert summary["by_format"] == {"openai": 36}


def test_workspace_from_the_environment_and_json_reports(tmp_path, fixtures):
    workspace = tmp_path / "env.duckdb"
    result = cli("ingest", str(fixtures / "generic_support_log.csv"), "--map", "input=question",
                 "--map", "output=bot_answer", "--format", "generic", "--json", env_workspace=workspace)
    assert result.returncode == 0, result.stderr
    (report,) = json.loads(result.stdout)
    assert (report["format"], report["rows_added"]) == ("generic", 36)
    assert workspace.exists()


def test_show_accepts_the_source_id(tmp_path, fixtures):
    workspace = tmp_path / "w.duckdb"
    cli("ingest", str(fixtures / "openai_chat.jsonl"), "-w", str(workspace), "-q")
    shown = cli("show", "req_00011", "-w", str(workspace), "--json")
    assert shown.returncode == 0, shown.stderr
    record = json.loads(shown.stdout)
    assert record["source_id"] == "req_00011" and record["tool_calls"][0]["name"] == "cancel_subscription"
    text = cli("show", record["record_id"], "-w", str(workspace))
    assert "Cancel my subscription now." in text.stdout
    missing = cli("show", "nope", "-w", str(workspace))
    assert missing.returncode == 1 and missing.stderr.strip() == "error: no record with id 'nope'"


def test_failures_exit_non_zero_with_one_line(tmp_path):
    workspace = tmp_path / "w.duckdb"
    missing = cli("ingest", str(tmp_path / "nope.jsonl"), "-w", str(workspace), "-q")
    assert missing.returncode == 1
    assert missing.stderr.strip().count("\n") == 0 and "no such file" in missing.stderr
    not_log = tmp_path / "prose.csv"
    not_log.write_bytes(b"\x00\x01\x02")
    bad = cli("ingest", str(not_log), "-w", str(workspace), "-q")
    assert bad.returncode == 1 and bad.stderr.startswith("error: ")
    usage = cli("ingest", "x", "--map", "inptu=q", "-w", str(workspace))
    assert usage.returncode == 1 and "unknown field 'inptu'" in usage.stderr
    no_command = cli()
    assert no_command.returncode == 2
    folder = cli("info", "-w", str(tmp_path))
    assert folder.returncode == 3 and "folder" in folder.stderr


def test_every_command_has_help():
    for command in ("ingest", "demo", "info", "show"):
        result = cli(command, "--help")
        assert result.returncode == 0 and "--workspace" in result.stdout


def test_a_workspace_held_by_a_program_outside_faultline_is_waited_for_then_named(tmp_path, monkeypatch):
    """A DuckDB holder that does not take turns (the duckdb shell, an old Faultline): the command
    waits for it, saying so, and gives up after $FAULTLINE_WAIT_SECONDS naming the process."""
    workspace = tmp_path / "held.duckdb"
    monkeypatch.setenv("FAULTLINE_WAIT_SECONDS", "3")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); time.sleep(60)",
         str(workspace)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        result = cli("info", "-w", str(workspace))
        assert result.returncode == 3
        assert "waiting for the workspace" in result.stderr
        last = result.stderr.strip().splitlines()[-1]
        assert last.startswith("error: workspace") and "busy" in last
        assert f"held by a program outside Faultline (process {holder.pid})" in last
    finally:
        holder.kill()
        holder.wait()


def test_a_reader_that_stops_early_ends_the_command_quietly(tmp_path, fixtures):
    """`... | head`: the pipe closes before the command writes; no BrokenPipeError traceback."""
    workspace = tmp_path / "w.duckdb"
    cli("ingest", str(fixtures / "openai_chat.jsonl"), "-w", str(workspace), "-q")
    command = subprocess.Popen([sys.executable, "-m", "mining", "show", "req_00011", "--json", "-w", str(workspace)],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    command.stdout.close()  # before the command has even imported its modules
    errors = command.stderr.read().decode()
    assert command.wait(timeout=300) == 0, errors
    assert "Traceback" not in errors and "BrokenPipe" not in errors


def test_progress_bars_only_on_a_terminal(tmp_path, fixtures):
    """Written to a file or a pipe, stderr holds no redrawn bars, only the lines meant for it."""
    workspace = tmp_path / "w.duckdb"
    result = cli("ingest", str(fixtures / "openai_chat.jsonl"), "-w", str(workspace))
    assert result.returncode == 0, result.stderr
    assert "\r" not in result.stderr and "‰" not in result.stderr
    assert "rows read" in result.stdout


def test_counts_read_as_words_and_an_ingest_says_what_to_do_next(tmp_path, openai_line, write_log, capsys):
    from mining.__main__ import main

    log = write_log("one.jsonl", [openai_line("only-1", "Where is my parcel?", "I can't help.", thumbs="down")])
    assert main(["-w", str(tmp_path / "w.duckdb"), "ingest", str(log), "-q"]) == 0
    captured = capsys.readouterr()
    assert ": 1 row read, 1 added, 0 already present, 0 quarantined" in captured.out and "1 rows" not in captured.out
    assert captured.err.startswith("next: `faultline cluster`") and "faultline app" in captured.err
    assert main(["-w", str(tmp_path / "w.duckdb"), "ingest", str(log), "--json"]) == 0
    assert capsys.readouterr().err == ""  # nothing new, and --json: no advice mixed into a script's run


def test_a_path_to_write_in_a_folder_that_does_not_exist_is_refused_not_made(tmp_path):
    missing = tmp_path / "no" / "such"
    opened = cli("--workspace", str(missing / "w.duckdb"), "info")
    assert opened.returncode == 3 and "does not exist" in opened.stderr and str(missing) in opened.stderr
    demo = cli("--workspace", str(tmp_path / "w.duckdb"), "demo", "--write", str(missing / "demo.jsonl"))
    assert demo.returncode == 1 and demo.stderr.startswith("error: cannot write") and "does not exist" in demo.stderr
    candidates = cli("--workspace", str(tmp_path / "w.duckdb"), "demo", "--candidates", str(missing / "answers"))
    assert candidates.returncode == 1 and "does not exist" in candidates.stderr
    assert not (tmp_path / "no").exists()
