"""Taking turns on a workspace file between processes: the app server, scripts, cron jobs.

Why: DuckDB lets one process at a time open a database file for writing, and refuses every other
one with a lock error. Faultline's processes therefore hold the file only for a unit of work (one
command, one page run of the app) and take turns through an advisory lock beside it:

- `<workspace>.lock` is held (flock, exclusive) by the process that has the file open. It also
  says who that is (pid, program, since when), so a waiting process can tell a person what it waits
  for.
- `<workspace>.queue` is held shared by every process waiting for a turn. The holder checks it
  between units of work and hands the file over instead of starting another one, so a busy app
  server cannot starve a script that waits.

The kernel drops a killed process's flocks, so a crash never leaves the workspace locked.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
from pathlib import Path
from typing import Callable

# How often a waiting process retries, in seconds: small, since a turn is often a few milliseconds.
POLL_SECONDS = 0.005
# For this long after letting the file go, a process lets every process already waiting go first,
# so that on a loaded machine a waiter slow to wake is not overtaken by the one that just left.
YIELD_SECONDS = 1.0

WaitReport = Callable[[float, str], None]


class LockTimeout(Exception):
    """No turn came within the time allowed; the message says who holds the workspace."""


def describe_holder(info: dict | None) -> str:
    """'process 123 (python -m mining ingest), for 4 s', or 'another program' when unknown."""
    if not info:
        return "another program"
    since = info.get("since")
    held = f", for {max(time.time() - since, 0):.0f} s" if isinstance(since, (int, float)) else ""
    return f"process {info.get('pid')} ({info.get('program') or 'unknown program'}){held}"


def this_program() -> str:
    """A short name for this process, e.g. 'faultline ingest' or 'streamlit run app.py'."""
    args = [os.path.basename(sys.argv[0])] + sys.argv[1:3] if sys.argv and sys.argv[0] else ["python"]
    return " ".join(args)[:80]


class FileTurns:
    """The two lock files of one workspace, as seen from this process."""

    def __init__(self, workspace: Path) -> None:
        self.lock_path = workspace.with_name(workspace.name + ".lock")
        self.queue_path = workspace.with_name(workspace.name + ".queue")
        self._lock_file: int | None = None
        self._queue_check: int | None = None

    @property
    def held(self) -> bool:
        return self._lock_file is not None

    def acquire(self, timeout: float, report: WaitReport | None = None,
                ready: Callable[[], str | None] | None = None, defer_until: float = 0.0) -> float:
        """Wait for the turn; the seconds waited. `ready()` may veto a turn (a program outside
        Faultline still holding the DuckDB file): it returns why, and the wait goes on. Until the
        monotonic time `defer_until`, a free turn is left to processes that were waiting already."""
        started = time.monotonic()
        waiting_before = self.others_waiting() if defer_until > started else False
        queue = os.open(self.queue_path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(queue, fcntl.LOCK_SH)  # "someone is waiting", until we have the turn
        lock = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        next_report, reason = started + 1.0, ""
        try:
            while True:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    reason = f"in use by {describe_holder(self._read_holder())}"
                else:
                    if waiting_before and time.monotonic() < defer_until and self._others_queued(queue):
                        fcntl.flock(lock, fcntl.LOCK_UN)  # theirs first: they asked before we did
                        time.sleep(POLL_SECONDS)
                        continue
                    veto = ready() if ready else None
                    if veto is None:
                        break
                    fcntl.flock(lock, fcntl.LOCK_UN)
                    reason = veto
                now = time.monotonic()
                if now - started >= timeout:
                    raise LockTimeout(f"waited {now - started:.0f} s for the workspace, {reason}")
                if report and now >= next_report:
                    report(now - started, reason)
                    next_report = now + 5.0
                time.sleep(POLL_SECONDS)
        except BaseException:
            os.close(lock)
            raise
        finally:
            os.close(queue)  # closing drops our shared hold on the queue
        self._lock_file = lock
        self._write_holder()
        return time.monotonic() - started

    def release(self) -> None:
        """Give the turn back (closing the file drops the flock)."""
        if self._lock_file is not None:
            os.close(self._lock_file)
            self._lock_file = None

    def _others_queued(self, own_queue: int) -> bool:
        """Whether a process other than this one holds the queue, while this one holds it too."""
        fcntl.flock(own_queue, fcntl.LOCK_UN)
        try:
            return self.others_waiting()
        finally:
            fcntl.flock(own_queue, fcntl.LOCK_SH)

    def others_waiting(self) -> bool:
        """Whether another process waits for a turn: it holds the queue file shared."""
        if self._queue_check is None:
            self._queue_check = os.open(self.queue_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._queue_check, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(self._queue_check, fcntl.LOCK_UN)
        return False

    def _write_holder(self) -> None:
        assert self._lock_file is not None
        text = json.dumps({"pid": os.getpid(), "program": this_program(), "since": time.time()}).encode()
        os.ftruncate(self._lock_file, 0)
        os.pwrite(self._lock_file, text, 0)

    def _read_holder(self) -> dict | None:
        try:
            info = json.loads(self.lock_path.read_text() or "null")
        except (OSError, ValueError):
            return None
        return info if isinstance(info, dict) else None
