"""Which process started a piece of long work, and whether that process still runs.

Why: a clustering run is written as 'running' when it starts and an export is assembled in a
hidden folder; a process killed half way (kill -9, a closed laptop, an out-of-memory kill) never
gets to mark its run failed or remove its folder. Recording who started the work lets the next
process tell a run that is still going from one whose process is gone.
"""

from __future__ import annotations

import json
import os
import socket


def _start_ticks(pid: int) -> str | None:
    """When the process started (clock ticks since boot), which tells a reused pid apart."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return fields[19]
    except (OSError, IndexError):
        return None


def this_process() -> str:
    """This process, as recorded beside work it starts."""
    return json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "start": _start_ticks(os.getpid())})


def is_gone(owner: str | None) -> bool:
    """True when the recorded process certainly no longer runs: on this host, its pid is free or
    belongs to a process started later. Unknown owners (another host, nothing recorded) are not
    called gone; callers decide what to do with work nobody owns."""
    try:
        recorded = json.loads(owner or "")
        pid = int(recorded["pid"])
    except (ValueError, TypeError, KeyError):
        return False
    if recorded.get("host") != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass
    start = _start_ticks(pid)
    return start is not None and recorded.get("start") is not None and start != recorded["start"]
