"""Processes taking turns on one workspace file: the app, scripts and cron jobs side by side.

Each test starts real processes on a real DuckDB file, because the lock under test is between
processes: the kernel's flock, and DuckDB's own refusal of a second writer.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mining.__main__ import main
from mining.store import Workspace
from paths import ROOT


def python(code: str, *args: str, env: dict | None = None) -> subprocess.Popen:
    """A Python process running `code` in the repository, its stdout readable line by line."""
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})


def cli(*args: str, wait: float | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ}
    if wait is not None:
        env["FAULTLINE_WAIT_SECONDS"] = str(wait)
    return subprocess.run([sys.executable, "-m", "mining", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


HOLD = """
    import sys, time
    from mining.store import Workspace
    workspace = Workspace.open(sys.argv[1])
    with workspace.lease():
        workspace.cursor().execute("SELECT count(*) FROM records").fetchall()
        print("holding", flush=True)
        time.sleep(float(sys.argv[2]))
    print("released", flush=True)
    time.sleep(30)
"""


@pytest.fixture
def workspace_file(tmp_path) -> Path:
    path = tmp_path / "shared.duckdb"
    Workspace.open(path)
    Workspace.close_all()
    return path


def test_a_command_waits_for_another_process_then_runs(workspace_file):
    holder = python(HOLD, str(workspace_file), "3")
    try:
        assert holder.stdout.readline().strip() == "holding"
        started = time.monotonic()
        result = cli("info", "--json", "-w", str(workspace_file))
        waited = time.monotonic() - started
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["records"] == 0
        assert waited >= 1.5  # it did wait for the holder's turn to end
        assert "waiting for the workspace" in result.stderr
        assert f"in use by process {holder.pid}" in result.stderr
    finally:
        holder.kill()
        holder.wait()


def test_a_wait_past_the_limit_ends_with_who_holds_it(workspace_file):
    holder = python(HOLD, str(workspace_file), "20")
    try:
        assert holder.stdout.readline().strip() == "holding"
        result = cli("info", "-w", str(workspace_file), wait=1.5)
        assert result.returncode == 3
        last = result.stderr.strip().splitlines()[-1]
        assert last.startswith(f"error: workspace {workspace_file} is busy")
        assert f"in use by process {holder.pid}" in last and "FAULTLINE_WAIT_SECONDS" in last
        assert "Traceback" not in result.stderr
    finally:
        holder.kill()
        holder.wait()


def test_a_killed_holder_leaves_nothing_locked(workspace_file):
    holder = python(HOLD, str(workspace_file), "60")
    assert holder.stdout.readline().strip() == "holding"
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    started = time.monotonic()
    result = cli("info", "-w", str(workspace_file), wait=10)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 8


BUSY_APP = """
    import sys, threading, time
    from mining.store import Workspace
    workspace = Workspace.open(sys.argv[1])
    stop = time.monotonic() + float(sys.argv[2])
    turns = [0]

    def session():
        while time.monotonic() < stop:
            with workspace.lease():  # page runs overlap: the file is never idle for long
                workspace.cursor().execute("SELECT count(*) FROM records").fetchall()
                time.sleep(0.05)
            turns[0] += 1

    threads = [threading.Thread(target=session) for _ in range(4)]
    for thread in threads:
        thread.start()
    print("busy", flush=True)
    for thread in threads:
        thread.join()
    print(turns[0], flush=True)
"""


def test_a_busy_app_hands_the_file_to_a_waiting_script(workspace_file):
    app = python(BUSY_APP, str(workspace_file), "20")
    try:
        assert app.stdout.readline().strip() == "busy"
        started = time.monotonic()
        result = cli("info", "-w", str(workspace_file), wait=15)
        assert result.returncode == 0, result.stderr
        assert time.monotonic() - started < 10  # well before the app's 20 s of overlapping work ends
    finally:
        app.kill()
        app.wait()


def test_a_script_waits_while_the_app_holds_the_file_and_the_app_resumes_after(workspace_file, fixtures):
    """The app process keeps serving after a script took its turn: its next lease reopens the file."""
    app = python(BUSY_APP, str(workspace_file), "6")
    try:
        assert app.stdout.readline().strip() == "busy"
        result = cli("ingest", str(fixtures / "openai_chat.jsonl"), "-q", "-w", str(workspace_file), wait=15)
        assert result.returncode == 0, result.stderr
        out, err = app.communicate(timeout=60)
        assert app.returncode == 0, err
        assert int(out.strip()) > 10
    finally:
        app.kill()
        app.wait()


WRITER = """
    import sys
    from mining.__main__ import main
    workspace, reviewer, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    acknowledged = 0
    for number in range(count):
        code = main(["review", "req_00001", "-w", workspace, "-r", reviewer, "--note", f"{reviewer} {number}"])
        acknowledged += code == 0
    print(acknowledged, flush=True)
"""


def test_four_review_scripts_at_once_lose_and_refuse_nothing(workspace_file, fixtures):
    assert main(["ingest", str(fixtures / "openai_chat.jsonl"), "-q", "-w", str(workspace_file)]) == 0
    Workspace.close_all()
    writers = [python(WRITER, str(workspace_file), f"script-{n}", "25", env={"FAULTLINE_WAIT_SECONDS": "60"})
               for n in range(4)]
    acknowledged = 0
    for writer in writers:
        out, err = writer.communicate(timeout=240)
        assert writer.returncode == 0, err
        assert "is open in another program" not in err and "Traceback" not in err
        acknowledged += int(out.strip().splitlines()[-1])
    assert acknowledged == 100
    stored = Workspace.open(workspace_file).cursor().execute(
        "SELECT count(*) FROM review_events WHERE reviewer LIKE 'script-%'").fetchone()[0]
    assert stored == 100
    Workspace.close_all()


def test_threads_of_one_process_share_the_file_a_lease_at_a_time(workspace_file):
    """Leases nest and overlap within a process; the file is closed once the last ends."""
    workspace = Workspace.open(workspace_file)
    with workspace.lease():
        with workspace.lease():
            workspace.cursor().execute("SELECT 1").fetchall()
        with workspace.transaction() as cursor:
            cursor.execute("INSERT INTO quarantine VALUES ('i', 'f', 1, 'r', 'raw', now())")
    deadline = time.monotonic() + Workspace.linger_seconds + 3
    while workspace._connection is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert workspace._connection is None  # let go after the linger, though nobody asked
    assert workspace.cursor().execute("SELECT count(*) FROM quarantine").fetchone()[0] == 1
    Workspace.close_all()


def test_a_thread_holding_a_cursor_is_not_kept_waiting_by_its_own_hand_over(workspace_file):
    """While a script waits, this process hands over once its work ends; a thread whose own cursor
    still holds the file must not wait for itself (it would stall until the patience ran out)."""
    workspace = Workspace.open(workspace_file)
    cursor = workspace.cursor()  # holds the file while it lives
    cursor.execute("SELECT 1").fetchall()
    waiter = subprocess.Popen([sys.executable, "-m", "mining", "info", "-w", str(workspace_file)], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.5)  # the script is queued by now
        started = time.monotonic()
        with workspace.transaction() as inner:
            inner.execute("INSERT INTO quarantine VALUES ('i', 'f', 1, 'r', 'raw', now())")
        assert time.monotonic() - started < 3
        del cursor, inner
        out, err = waiter.communicate(timeout=60)  # and the script gets its turn once the cursor is gone
        assert waiter.returncode == 0, err
    finally:
        waiter.kill()
        waiter.wait()
        Workspace.close_all()
